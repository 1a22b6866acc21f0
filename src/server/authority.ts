// Answers a query from loaded zones as an authoritative server does: AA set; CNAME chains
// inside the zones; the targets' A/AAAA in the additional section of SRV answers; NXDOMAIN
// and NODATA with the SOA in the authority section (RFC 2308); REFUSED outside the zones;
// EDNS0; replies too big for the client's UDP size truncated (TC, empty, as BIND and Knot do).
import { canonicalName } from '../dns/names.js';
import {
  type Answer,
  decode,
  encode,
  FLAGS,
  type Message,
  type OptAnswer,
  optRecord,
  type RcodeName,
  rcodeValue,
  type StringAnswer,
} from '../dns/packet.js';
import type { Zone } from './zone.js';

/** Largest UDP reply offered with EDNS0 (RFC 6891; the DNS Flag Day 2020 value). */
export const MAX_UDP_PAYLOAD = 1232;
/** UDP limit without EDNS0 (RFC 1035 4.2.1). */
const CLASSIC_UDP_PAYLOAD = 512;
const MAX_CNAME_CHAIN = 8;

interface Found {
  rcode: RcodeName;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

/** The zone a name belongs to: the longest origin it is, or is under. */
function zoneOf(zones: readonly Zone[], name: string): Zone | undefined {
  let best: Zone | undefined;
  for (const zone of zones) {
    const inside = name === zone.origin || zone.origin === '' || name.endsWith(`.${zone.origin}`);
    if (inside && (!best || zone.origin.length > best.origin.length)) best = zone;
  }
  return best;
}

/** The SOA for a negative answer: its TTL is the negative caching time (RFC 2308 3). */
function negativeSoa(zone: Zone): Answer {
  const ttl = Math.min(zone.soa.ttl ?? 0, zone.soa.data.minimum ?? 0);
  return { ...zone.soa, ttl };
}

function lookup(zones: readonly Zone[], qname: string, qtype: string): Found | undefined {
  const answers: Answer[] = [];
  let name = qname;
  let zone = zoneOf(zones, name);
  if (!zone) return undefined;
  for (let hops = 0; hops <= MAX_CNAME_CHAIN; hops++) {
    const owned = zone.records.filter((r) => r.name === name);
    const matching = owned.filter((r) => r.type === qtype);
    if (matching.length > 0) {
      answers.push(...matching);
      return { rcode: 'NOERROR', answers, authorities: [], additionals: glue(zones, matching) };
    }
    const cname = owned.find((r) => r.type === 'CNAME') as StringAnswer | undefined;
    if (cname && qtype !== 'CNAME') {
      answers.push(cname);
      name = cname.data;
      const next = zoneOf(zones, name);
      // A CNAME out of the zones served: the client follows it.
      if (!next) return { rcode: 'NOERROR', answers, authorities: [], additionals: [] };
      zone = next;
      continue;
    }
    // An empty non-terminal (names exist below it) is NODATA, not NXDOMAIN (RFC 8020).
    const exists = owned.length > 0 || zone.records.some((r) => r.name.endsWith(`.${name}`));
    return {
      rcode: exists ? 'NOERROR' : 'NXDOMAIN',
      answers,
      authorities: [negativeSoa(zone)],
      additionals: [],
    };
  }
  return { rcode: 'NOERROR', answers, authorities: [], additionals: [] };
}

/** A and AAAA of the SRV targets and NS names, from any zone served. */
function glue(zones: readonly Zone[], answers: Answer[]): Answer[] {
  const names = new Set<string>();
  for (const r of answers) {
    if (r.type === 'SRV') names.add(r.data.target);
    else if (r.type === 'NS') names.add(r.data);
  }
  const out: Answer[] = [];
  for (const target of names) {
    const zone = zoneOf(zones, target);
    if (zone)
      out.push(
        ...zone.records.filter((r) => r.name === target && (r.type === 'A' || r.type === 'AAAA')),
      );
  }
  return out;
}

/** A reply as the server sends it. */
export interface ServerReply {
  bytes: Buffer;
  /** For logs: the rcode name and whether the reply was truncated. */
  rcode: string;
  truncated: boolean;
}

/** The reply to a query received over `transport`; undefined for what deserves no reply
 * (responses, garbage without a header). */
export function answer(
  zones: readonly Zone[],
  query: Buffer,
  transport: 'udp' | 'tcp',
): ServerReply | undefined {
  let decoded: Message;
  try {
    decoded = decode(query);
  } catch {
    if (query.length < 12 || (query[2] ?? 0) & 0x80) return undefined;
    // A header we can read: say FORMERR, with the ID (RFC 1035 4.1.1).
    const bytes = Buffer.from(query.subarray(0, 12));
    bytes.writeUInt16BE(0x8000 | rcodeValue('FORMERR'), 2);
    bytes.fill(0, 4, 12);
    return { bytes, rcode: 'FORMERR', truncated: false };
  }
  if (decoded.type === 'response') return undefined;
  const question = decoded.questions?.[0];
  const opt = decoded.additionals?.find((r): r is OptAnswer => r.type === 'OPT');
  const base = {
    type: 'response' as const,
    id: decoded.id ?? 0,
    questions: question ? [question] : [],
    additionals: opt ? [optRecord(MAX_UDP_PAYLOAD)] : [],
  };
  const rd = (decoded.flags ?? 0) & FLAGS.RECURSION_DESIRED;
  const reply = (rcode: RcodeName, found?: Found): ServerReply => {
    const flags = (rcode === 'REFUSED' ? 0 : FLAGS.AUTHORITATIVE_ANSWER) | rd | rcodeValue(rcode);
    const full: Message = {
      ...base,
      flags,
      answers: found?.answers ?? [],
      authorities: found?.authorities ?? [],
      additionals: [...(found?.additionals ?? []), ...base.additionals],
    };
    let bytes = encode(full);
    let truncated = false;
    const limit = opt
      ? Math.max(CLASSIC_UDP_PAYLOAD, Math.min(opt.udpPayloadSize ?? 0, MAX_UDP_PAYLOAD))
      : CLASSIC_UDP_PAYLOAD;
    if (transport === 'udp' && bytes.length > limit) {
      bytes = encode({
        ...base,
        flags: flags | FLAGS.TRUNCATED_RESPONSE,
        answers: [],
        authorities: [],
      });
      truncated = true;
    }
    return { bytes, rcode, truncated };
  };
  if (decoded.opcode !== undefined && decoded.opcode !== 'QUERY') return reply('NOTIMP');
  if (!question || decoded.questions?.length !== 1) return reply('FORMERR');
  if (question.class !== 'IN' && question.class !== 'ANY') return reply('REFUSED');
  const found = lookup(zones, canonicalName(question.name), question.type);
  return found ? reply(found.rcode, found) : reply('REFUSED');
}
