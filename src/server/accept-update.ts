// RFC 2136 dynamic updates for `svcdisc serve`: add and delete records of the zone in memory,
// accepted when signed with the configured TSIG key (or, for development, unsigned when
// allowed). Prerequisites are not supported (NOTIMP). Changes live until the file reloads.
import {
  type Answer,
  CLASS,
  decodeRdata,
  type RcodeName,
  type RdataType,
  rcodeValue,
  typeName,
} from '../dns/packet.js';
import { sign, verify } from '../dns/tsig.js';
import type { TsigKey } from '../dns/tsig-key.js';
import { decodeName } from '../dns/wire.js';
import type { Zone } from './zone.js';

export interface UpdatePolicy {
  /** Updates signed with this key are accepted. */
  key?: TsigKey;
  /** Unsigned updates are accepted (development only). */
  allowUnsigned?: boolean;
}

/** The record types an update may add or delete. */
const UPDATABLE: ReadonlySet<string> = new Set<RdataType | 'ANY'>([
  'A',
  'AAAA',
  'SRV',
  'TXT',
  'CNAME',
  'NS',
  'ANY',
]);

interface UpdateRecord {
  name: string;
  type: string;
  class: number;
  ttl: number;
  /** Decoded rdata, or undefined for an empty one. */
  data: unknown;
}

/** A name as the zone keeps it: lower case. */
function readName(bytes: Buffer, offset: number): [string, number] {
  const [name, end] = decodeName(bytes, offset);
  return [name === '.' ? '' : name.toLowerCase(), end];
}

/** The update section of an UPDATE message (RFC 2136 2.5). */
function parse(bytes: Buffer): { zone: string; prerequisites: number; updates: UpdateRecord[] } {
  const [zone, afterZone] = readName(bytes, 12);
  let at = afterZone + 4;
  const prerequisites = bytes.readUInt16BE(6);
  const total = prerequisites + bytes.readUInt16BE(8);
  const updates: UpdateRecord[] = [];
  for (let i = 0; i < total; i++) {
    const [name, end] = readName(bytes, at);
    const typeCode = bytes.readUInt16BE(end);
    const klass = bytes.readUInt16BE(end + 2);
    const ttl = bytes.readUInt32BE(end + 4);
    const length = bytes.readUInt16BE(end + 8);
    if (end + 10 + length > bytes.length) throw new Error('rdata beyond the message');
    const type = typeName(typeCode);
    if (!type || !UPDATABLE.has(type)) throw new Error(`type ${typeCode} is not supported`);
    const data =
      length > 0 && type !== 'ANY' ? decodeRdata(type as RdataType, bytes, end + 8) : undefined;
    if (i >= prerequisites) updates.push({ name, type, class: klass, ttl, data });
    at = end + 10 + length;
  }
  return { zone, prerequisites, updates };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The zone after the updates (RFC 2136 3.4.2), its SOA serial one higher. */
function apply(zone: Zone, updates: UpdateRecord[]): Zone {
  let records = [...zone.records];
  for (const u of updates) {
    const normalized =
      u.type === 'SRV'
        ? {
            ...(u.data as object),
            target: String((u.data as { target: string }).target).toLowerCase(),
          }
        : u.data;
    if (u.class === CLASS.IN) {
      const exists = records.some(
        (r) =>
          r.name === u.name && r.type === u.type && same((r as { data: unknown }).data, normalized),
      );
      if (!exists)
        records.push({ type: u.type, name: u.name, ttl: u.ttl, data: normalized } as Answer);
    } else if (u.class === CLASS.ANY) {
      records = records.filter(
        (r) => !(r.name === u.name && (u.type === 'ANY' || r.type === u.type) && r.type !== 'SOA'),
      );
    } else if (u.class === CLASS.NONE) {
      records = records.filter(
        (r) =>
          !(
            r.name === u.name &&
            r.type === u.type &&
            same((r as { data: unknown }).data, normalized)
          ),
      );
    }
  }
  const soa = {
    ...zone.soa,
    data: { ...zone.soa.data, serial: ((zone.soa.data.serial ?? 0) + 1) >>> 0 },
  };
  return { ...zone, soa, records: records.map((r) => (r.type === 'SOA' ? soa : r)) };
}

/** Answers an UPDATE: the reply, and the new zone when it was applied. */
export function applyUpdate(
  zone: Zone,
  query: Buffer,
  policy: UpdatePolicy,
): { reply: Buffer; zone?: Zone; rcode: string } {
  let requestMac: Buffer | undefined;
  /** The reply with this rcode (signed when the request was, RFC 8945 5.3); `detail` is for
   * the log line only. */
  const reply = (rcode: RcodeName, detail = '') => {
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    header.writeUInt16BE(0x8000 | (5 << 11) | rcodeValue(rcode), 2);
    const bytes =
      policy.key && requestMac ? sign(header, policy.key, Date.now(), requestMac).signed : header;
    return { reply: bytes, rcode: detail ? `${rcode} (${detail})` : rcode };
  };
  if (policy.key) {
    const verdict = verify(query, policy.key, undefined);
    if (verdict.ok) requestMac = verdict.mac;
    else if (!policy.allowUnsigned || !/not signed/.test(verdict.why))
      return reply('NOTAUTH', verdict.why);
  } else if (!policy.allowUnsigned) {
    return reply('REFUSED', 'updates not enabled');
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(query);
  } catch (error) {
    return reply('FORMERR', (error as Error).message);
  }
  if (parsed.zone !== zone.origin) return reply('NOTAUTH', `not the zone ${zone.origin}`);
  if (parsed.prerequisites > 0) return reply('NOTIMP', 'prerequisites are not supported');
  if (parsed.updates.some((u) => u.name !== zone.origin && !u.name.endsWith(`.${zone.origin}`)))
    return reply('NOTZONE');
  return { ...reply('NOERROR'), zone: apply(zone, parsed.updates) };
}
