// What svcdisc uses of dns-packet, declared once: the message codec, the per-type RDATA codecs,
// the name encoder, and the header tables, for the update (RFC 2136, TSIG) and the server. The
// resolver's queries and replies go through wire.ts, which decodes into the same shapes and
// decodes every name. The
// record shapes are declared here rather than taken from @types/dns-packet, so that svcdisc's
// published declarations compile without them.
import * as dnsPacket from 'dns-packet';
import {
  CLASS,
  FLAGS,
  RCODE_NAMES,
  type RcodeName,
  TYPE,
  TYPE_NAMES,
  type TypeName,
} from './codes.js';

interface RecordBase {
  name: string;
  ttl?: number;
  class?: string;
}
export interface SrvAnswer extends RecordBase {
  type: 'SRV';
  data: { port: number; target: string; priority?: number; weight?: number };
}
export interface SoaAnswer extends RecordBase {
  type: 'SOA';
  data: {
    mname: string;
    rname: string;
    serial?: number;
    refresh?: number;
    retry?: number;
    expire?: number;
    minimum?: number;
  };
}
export interface StringAnswer extends RecordBase {
  type: 'A' | 'AAAA' | 'CNAME' | 'DNAME' | 'NS' | 'PTR';
  data: string;
}
export interface TxtAnswer extends RecordBase {
  type: 'TXT';
  data: Buffer | string | (Buffer | string)[];
}
/** The EDNS0 pseudo-record (RFC 6891). */
export interface OptAnswer {
  type: 'OPT';
  name: '.';
  udpPayloadSize?: number;
  flags?: number;
  options?: unknown[];
}
/** Records of types svcdisc does not read (RRSIG, NSEC…): kept, never looked into. */
export interface OtherAnswer extends RecordBase {
  type: 'RRSIG' | 'NSEC' | 'DS' | 'DNSKEY' | 'CAA' | 'HINFO' | 'MX' | 'NAPTR';
  data?: unknown;
}
export type Answer = SrvAnswer | SoaAnswer | StringAnswer | TxtAnswer | OptAnswer | OtherAnswer;

export interface QuestionRecord {
  name: string;
  type: string;
  class?: string;
}

/** A DNS message: the header fields and sections svcdisc reads and writes. */
export interface Message {
  id?: number;
  type?: 'query' | 'response';
  flags?: number;
  /** TC: the message was truncated (RFC 1035 4.1.1). */
  flag_tc?: boolean;
  opcode?: string;
  rcode?: string;
  questions?: QuestionRecord[];
  answers?: Answer[];
  authorities?: Answer[];
  additionals?: Answer[];
}

/** A decoded reply: opcode and rcode are always there. */
export interface Reply extends Message {
  opcode: string;
  rcode: string;
}

export { CLASS, FLAGS, type RcodeName, TYPE, type TypeName };

/** An rcode's value. */
export function rcodeValue(name: RcodeName): number {
  return RCODE_NAMES.indexOf(name);
}

/** An rcode's name, or its number for one svcdisc does not name. */
export function rcodeName(value: number): string {
  return RCODE_NAMES[value] ?? String(value);
}

/** A type's name, for the types of TYPE. */
export function typeName(value: number): TypeName | undefined {
  return TYPE_NAMES.get(value);
}

/** TSIG error codes that may come in a TSIG record (RFC 8945 3). */
export const TSIG_ERRORS: Readonly<Record<number, string>> = {
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
};

/** A 16-bit field in network order, as the wire writes counts, types, classes and lengths. */
export function u16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value);
  return bytes;
}

/** The EDNS0 record of a message offering `udpPayloadSize` bytes over UDP (RFC 6891 6.1.2). */
export function optRecord(udpPayloadSize: number): OptAnswer {
  return { type: 'OPT', name: '.', udpPayloadSize, flags: 0, options: [] };
}

/** Encodes a message. */
export function encode(message: Message): Buffer {
  // dns-packet's declared types lack the EDNS fields its encoder reads.
  return dnsPacket.encode(message as dnsPacket.Packet);
}

/** Decodes a message; throws (`Cannot decode …`) on anything malformed. */
export function decode(bytes: Buffer): Message {
  return dnsPacket.decode(bytes) as Message;
}

interface RdataCodec {
  encode(data: unknown): Buffer;
  decode(bytes: Buffer, offset: number): unknown;
}

/** The parts of dns-packet that @types/dns-packet does not declare. */
const undeclared = dnsPacket as unknown as {
  record(type: string): RdataCodec;
  name: { encode(name: string): Buffer };
};

/** The record types whose RDATA svcdisc encodes or decodes itself. */
export type RdataType = 'SRV' | 'A' | 'AAAA' | 'TXT' | 'CNAME' | 'NS';

function codec(type: RdataType): RdataCodec {
  return undeclared.record(type);
}

/** The RDATA of a record, preceded by its 2-byte length, as dns-packet encodes it. */
export function encodeRdata(type: 'SRV' | 'A' | 'AAAA' | 'TXT', data: unknown): Buffer {
  return Buffer.from(codec(type).encode(data));
}

/** Decodes the RDATA (with its length) at `offset`. */
export function decodeRdata(type: RdataType, bytes: Buffer, offset: number): unknown {
  return codec(type).decode(bytes, offset);
}

/** A domain name in canonical wire form (RFC 4034 6.2): lower case, uncompressed. */
export function encodeName(name: string): Buffer {
  return undeclared.name.encode(name.toLowerCase());
}
