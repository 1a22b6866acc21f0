// The numbers of the DNS wire format svcdisc names: header flags, record types, classes and
// response codes, for the resolver's codec (wire.ts) and for what the update and the server
// use of dns-packet (packet.ts). Its own module: wire.ts must not load dns-packet.

/** Header flag bits (RFC 1035 4.1.1). */
export const FLAGS = {
  RESPONSE: 1 << 15,
  AUTHORITATIVE_ANSWER: 1 << 10,
  TRUNCATED_RESPONSE: 1 << 9,
  RECURSION_DESIRED: 1 << 8,
} as const;

/** Record types by name (RFC 1035 3.2.2, 3596, 2782, 6672, 6891, 4034, 5155, 8945). */
export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  DNAME: 39,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  NSEC3: 50,
  TSIG: 250,
  ANY: 255,
} as const;
export type TypeName = keyof typeof TYPE;

/** Classes (RFC 1035 3.2.4; NONE and ANY as RFC 2136 2.4 uses them). */
export const CLASS = { IN: 1, CS: 2, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

/** Names by number, of a table of numbers by name. */
function byNumber<N extends string>(table: Readonly<Record<N, number>>): ReadonlyMap<number, N> {
  return new Map(Object.entries(table).map(([name, code]) => [code as number, name as N]));
}
export const TYPE_NAMES = byNumber(TYPE);
export const CLASS_NAMES = byNumber(CLASS);

/** Response codes, by value (RFC 1035 4.1.1, RFC 2136 2.2). */
export const RCODE_NAMES = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
] as const;
export type RcodeName = (typeof RCODE_NAMES)[number];
