// The wire format of the resolver's queries and their replies (RFC 1035 4.1, RFC 3596, RFC 2782,
// RFC 6891): a query with EDNS0 encoded, a reply decoded into the message shapes of packet.ts,
// the same as dns-packet gives. Its own code because the first query of a process compiles it:
// dns-packet, which the update and server code keep using, costs about 1.5 ms to compile and
// more to run for the first time, most of it for record types a query never reads. Records
// of types the resolver does not read keep their RDATA as bytes. Throws `Cannot decode …` on
// anything malformed, as dns-packet does.

import { CLASS, CLASS_NAMES, FLAGS, RCODE_NAMES, TYPE, TYPE_NAMES } from './codes.js';
import type { Answer, Message, QuestionRecord } from './packet.js';

/** The cache-flush bit of mDNS, which dns-packet strips from a record's class. */
const CLASS_MASK = 0x7fff;
const typeName = (code: number) => TYPE_NAMES.get(code) ?? `UNKNOWN_${code}`;
const className = (code: number) => CLASS_NAMES.get(code) ?? `UNKNOWN_${code}`;

const OPCODES: Readonly<Record<number, string>> = {
  0: 'QUERY',
  1: 'IQUERY',
  2: 'STATUS',
  4: 'NOTIFY',
  5: 'UPDATE',
};

/** A query for `name` (absolute or not) and `type`, recursion desired, with an EDNS0 record
 * offering `udpPayloadSize` bytes. */
export function encodeQuery(id: number, name: string, type: string, udpPayloadSize: number) {
  const code = Object.hasOwn(TYPE, type) ? TYPE[type as keyof typeof TYPE] : undefined;
  if (code === undefined) throw new TypeError(`Cannot encode a query of type ${type}`);
  // Without a leading or a trailing dot (a pattern would be compiled at the first query).
  const start = name.startsWith('.') ? 1 : 0;
  const labels = name.slice(start, name.length > start && name.endsWith('.') ? -1 : undefined);
  const nameLength = labels === '' ? 1 : byteLength(labels) + 2;
  const bytes = Buffer.alloc(12 + nameLength + 4 + 11);
  bytes.writeUInt16BE(id, 0);
  bytes.writeUInt16BE(FLAGS.RECURSION_DESIRED, 2);
  bytes.writeUInt16BE(1, 4); // one question
  bytes.writeUInt16BE(1, 10); // one additional: the OPT record
  let offset = 12;
  if (labels !== '') {
    for (const label of labels.split('.')) {
      const length = bytes.write(label, offset + 1);
      if (length === 0 || length > 63)
        throw new TypeError(`Cannot encode ${name}: a label is empty or over 63 bytes`);
      bytes[offset] = length;
      offset += length + 1;
    }
  }
  offset++; // the root label
  offset = bytes.writeUInt16BE(code, offset);
  offset = bytes.writeUInt16BE(CLASS.IN, offset);
  // OPT (RFC 6891 6.1.2): root name, type, payload size as class, TTL 0, no options.
  offset++;
  offset = bytes.writeUInt16BE(TYPE.OPT, offset);
  bytes.writeUInt16BE(udpPayloadSize, offset);
  return bytes;
}

/** The UTF-8 length of `text`: its length where it is ASCII, as names nearly always are. Not
 * Buffer.byteLength: Buffer's methods are compiled at their first call, which Node 20 pays at a
 * first connect (byteLength, readUInt32BE and toString's lookup of the encoding: 0.77 M
 * instructions, about 0.2 ms; the least SRV client calls none of them: bench/README.md, the
 * thirtieth pass). */
function byteLength(text: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return Buffer.byteLength(text);
  }
  return text.length;
}

/** Buffer's own UTF-8 decoder, which `toString('utf-8', …)` calls after looking the encoding up
 * (not documented; Node 20 to 26 have it, and Node's own code calls it). */
interface Utf8Slice {
  utf8Slice(start: number, end: number): string;
}

function fail(what: string): never {
  throw new Error(`Cannot decode ${what}`);
}

/** A reader of one message: each read checks that the bytes are there. */
class Reader {
  offset = 0;
  constructor(readonly bytes: Buffer) {}

  need(length: number, what: string): void {
    if (this.offset + length > this.bytes.length) fail(`${what} (buffer overflow)`);
  }

  u16(what: string): number {
    this.need(2, what);
    const value = this.bytes.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  u32(what: string): number {
    this.need(4, what);
    const { bytes, offset } = this;
    this.offset += 4;
    // Not readUInt32BE (see byteLength()); unsigned: the top byte is multiplied, not shifted.
    return (
      (bytes[offset] as number) * 0x1000000 +
      (((bytes[offset + 1] as number) << 16) |
        ((bytes[offset + 2] as number) << 8) |
        (bytes[offset + 3] as number))
    );
  }

  /** A name at the offset (compression pointers followed, backwards only, RFC 1035 4.1.4);
   * `mail`: a dot inside a label is escaped (an SOA RNAME). */
  name(mail = false): string {
    const { bytes } = this;
    const labels: string[] = [];
    let offset = this.offset;
    let end: number | undefined;
    let lowest = offset;
    let length = 0;
    for (;;) {
      if (offset >= bytes.length) fail('name (buffer overflow)');
      const size = bytes[offset++] as number;
      if (size === 0) break;
      if ((size & 0xc0) === 0) {
        if (offset + size > bytes.length) fail('name (buffer overflow)');
        length += size + 1;
        if (length > 254) fail('name (name too long)');
        const label = (bytes as Buffer & Utf8Slice).utf8Slice(offset, offset + size);
        labels.push(mail ? label.replace(/\./g, '\\.') : label);
        offset += size;
      } else if ((size & 0xc0) === 0xc0) {
        if (offset >= bytes.length) fail('name (buffer overflow)');
        const target = ((size & 0x3f) << 8) | (bytes[offset] as number);
        if (target >= lowest) fail('name (bad pointer)');
        end ??= offset + 1;
        offset = target;
        lowest = target;
      } else {
        fail('name (bad label)');
      }
    }
    this.offset = end ?? offset;
    return labels.length === 0 ? '.' : labels.join('.');
  }
}

/** The name at `offset` (compression pointers followed, backwards only) and the offset after
 * it; throws `Cannot decode name …` when it does not fit the message. */
export function decodeName(bytes: Buffer, offset: number): [name: string, end: number] {
  const reader = new Reader(bytes);
  reader.offset = offset;
  return [reader.name(), reader.offset];
}

function ipv4(bytes: Buffer, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/** The text dns-packet (ip-codec) writes for an IPv6 address: the first run of zero groups
 * compressed (RFC 5952 would take the longest). */
function ipv6(bytes: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(at + i).toString(16));
  return groups
    .join(':')
    .replace(/(^|:)0(:0)*:0(:|$)/, '$1::$3')
    .replace(/:{3,4}/, '::');
}

/** The RDATA of a record of `type`, `length` bytes at the reader's offset. */
function rdata(reader: Reader, type: string, length: number): unknown {
  const { bytes } = reader;
  const start = reader.offset;
  const end = start + length;
  reader.need(length, `${type} data`);
  switch (type) {
    case 'A':
      if (length !== 4) fail('A data (not 4 bytes)');
      return ipv4(bytes, start);
    case 'AAAA':
      if (length !== 16) fail('AAAA data (not 16 bytes)');
      return ipv6(bytes, start);
    case 'CNAME':
    case 'DNAME':
    case 'NS':
    case 'PTR':
      return reader.name();
    case 'SRV': {
      if (length < 7) fail('SRV data (shorter than 7 bytes)');
      const priority = reader.u16('SRV data');
      const weight = reader.u16('SRV data');
      const port = reader.u16('SRV data');
      return { priority, weight, port, target: reader.name() };
    }
    case 'SOA': {
      if (length < 22) fail('SOA data (shorter than 22 bytes)');
      const mname = reader.name();
      const rname = reader.name(true);
      const [serial, refresh, retry, expire, minimum] = [0, 0, 0, 0, 0].map(() =>
        reader.u32('SOA data'),
      );
      return { mname, rname, serial, refresh, retry, expire, minimum };
    }
    case 'TXT': {
      const strings: Buffer[] = [];
      let offset = start;
      while (offset < end) {
        const size = bytes[offset++] as number;
        if (offset + size > end) fail('TXT data (buffer overflow)');
        strings.push(bytes.subarray(offset, offset + size));
        offset += size;
      }
      return strings;
    }
    default:
      return bytes.subarray(start, end);
  }
}

function question(reader: Reader): QuestionRecord {
  const name = reader.name();
  const type = reader.u16('question');
  const klass = reader.u16('question');
  return {
    name,
    type: typeName(type),
    class: className(klass),
  };
}

function record(reader: Reader): Answer {
  const name = reader.name();
  const code = reader.u16('record');
  const type = typeName(code);
  if (code === TYPE.OPT) {
    const udpPayloadSize = reader.u16('OPT record');
    reader.u16('OPT record'); // extended rcode and version
    const flags = reader.u16('OPT record');
    const length = reader.u16('OPT record');
    reader.need(length, 'OPT data');
    reader.offset += length;
    return { type: 'OPT', name: '.', udpPayloadSize, flags, options: [] };
  }
  const klass = reader.u16('record') & CLASS_MASK;
  const ttl = reader.u32('record');
  const length = reader.u16('record');
  const end = reader.offset + length;
  const data = rdata(reader, type, length);
  // The RDATA's length decides where the next record starts, whatever the names took.
  reader.offset = end;
  return {
    name,
    type,
    ttl,
    class: className(klass),
    data,
  } as Answer;
}

/** Decodes a message: its header and its four sections. */
export function decodeMessage(bytes: Buffer): Message {
  if (bytes.length < 12) fail('header (shorter than 12 bytes)');
  const reader = new Reader(bytes);
  const id = reader.u16('header');
  const flags = reader.u16('header');
  const counts = [0, 0, 0, 0].map(() => reader.u16('header'));
  const opcode = (flags >> 11) & 0xf;
  const rcode = flags & 0xf;
  const read = <T>(count: number, item: (reader: Reader) => T): T[] => {
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(item(reader));
    return items;
  };
  return {
    id,
    type: flags & FLAGS.RESPONSE ? 'response' : 'query',
    flags: flags & 0x7fff,
    flag_tc: (flags & FLAGS.TRUNCATED_RESPONSE) !== 0,
    opcode: OPCODES[opcode] ?? `OPCODE_${opcode}`,
    rcode: RCODE_NAMES[rcode] ?? `RCODE_${rcode}`,
    questions: read(counts[0] as number, question),
    answers: read(counts[1] as number, record),
    authorities: read(counts[2] as number, record),
    additionals: read(counts[3] as number, record),
  };
}
