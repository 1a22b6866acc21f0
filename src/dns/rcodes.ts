// The names of DNS response codes, for the resolver's codec (wire.ts) and for what the update
// and the server use of dns-packet (packet.ts). Its own module: wire.ts must not load
// dns-packet.

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
