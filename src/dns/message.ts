// Building queries and deciding what a reply is worth. dns-packet does the wire format; this
// file decides which bytes to trust.
import * as packet from 'dns-packet';

export type QueryType = 'SRV' | 'A' | 'AAAA' | 'CNAME' | 'SOA' | 'TXT';

export interface Question {
  name: string;
  type: QueryType;
}

/** EDNS0 UDP payload size (RFC 6891), the DNS Flag Day 2020 value that avoids fragmentation. */
export const EDNS_UDP_PAYLOAD = 1232;

/** A recursive query for one name and type, advertising EDNS0. */
export function buildQuery(id: number, question: Question): Buffer {
  return packet.encode({
    type: 'query',
    id,
    flags: packet.RECURSION_DESIRED,
    questions: [{ name: question.name, type: question.type, class: 'IN' }],
    additionals: [
      // dns-packet's OPT typing lacks the EDNS fields it encodes.
      { type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_PAYLOAD, flags: 0, options: [] } as never,
    ],
  });
}

// What svcdisc reads of a decoded reply, in dns-packet's shapes. Declared here, not taken
// from @types/dns-packet, so that the published declarations compile without those types.
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
  data: { mname: string; rname: string; serial?: number; minimum?: number };
}
export interface StringAnswer extends RecordBase {
  type: 'A' | 'AAAA' | 'CNAME' | 'DNAME' | 'NS' | 'PTR';
  data: string;
}
export interface TxtAnswer extends RecordBase {
  type: 'TXT';
  data: Buffer | string | (Buffer | string)[];
}
/** Records of types svcdisc does not read (OPT, RRSIG…): kept, never looked into. */
export interface OtherAnswer extends RecordBase {
  type: 'OPT' | 'RRSIG' | 'NSEC' | 'DS' | 'DNSKEY' | 'CAA' | 'HINFO' | 'MX' | 'NAPTR';
  data?: unknown;
}
export type Answer = SrvAnswer | SoaAnswer | StringAnswer | TxtAnswer | OtherAnswer;

/** A decoded reply: the header fields and sections svcdisc reads. */
export interface Reply {
  id?: number;
  type?: 'query' | 'response';
  flags?: number;
  /** TC: the reply was truncated (RFC 1035 4.1.1). */
  flag_tc?: boolean;
  opcode: string;
  rcode: string;
  questions?: { name: string; type: string; class?: string }[];
  answers?: Answer[];
  authorities?: Answer[];
  additionals?: Answer[];
}

export type ReplyCheck =
  /** Not a reply to this query (wrong ID, question or direction): drop it and keep waiting. */
  | { kind: 'ignored'; why: string }
  /** Carries this query's ID but cannot be decoded: the attempt has failed. */
  | { kind: 'malformed'; why: string }
  | { kind: 'reply'; message: Reply };

function sameName(a: string | undefined, b: string): boolean {
  return (
    a !== undefined && a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '')
  );
}

/** Checks a reply against the query it should answer. Never throws. */
export function checkReply(bytes: Buffer, id: number, question: Question): ReplyCheck {
  // Replies that don't match are skipped, not errors: they may be forgery attempts and the
  // real answer may still come (as Go's net package does).
  if (bytes.length < 12) return { kind: 'ignored', why: 'shorter than a DNS header' };
  if (bytes.readUInt16BE(0) !== id) return { kind: 'ignored', why: 'wrong ID' };
  let message: Reply;
  try {
    message = packet.decode(bytes) as unknown as Reply;
  } catch (error) {
    return { kind: 'malformed', why: (error as Error).message };
  }
  if (message.type !== 'response' || message.opcode !== 'QUERY') {
    return { kind: 'ignored', why: 'not a response to a query' };
  }
  const asked = message.questions ?? [];
  const first = asked[0];
  if (
    asked.length !== 1 ||
    !sameName(first?.name, question.name) ||
    first?.type !== question.type ||
    first.class !== 'IN'
  ) {
    return { kind: 'ignored', why: 'wrong question' };
  }
  return { kind: 'reply', message };
}
