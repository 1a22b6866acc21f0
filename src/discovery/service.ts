// From a service name to endpoints: the SRV query, CNAMEs, glue, and A/AAAA queries for the
// targets that came without glue. Knows nothing of caching.
import type { DnsClient } from '../dns/client.js';
import type { QueryType } from '../dns/message.js';
import { canonicalName, ipFamily } from '../dns/names.js';
import type { Answer, Reply, SoaAnswer, SrvAnswer, StringAnswer } from '../dns/packet.js';
import { DnsError, type NegativeReason } from '../errors.js';

export interface Address {
  address: string;
  family: 4 | 6;
}

export interface Endpoint {
  /** The SRV target, lower case, without a trailing dot. */
  target: string;
  /** 0 for the RFC 2782 fallback: the port the program connects to. */
  port: number;
  priority: number;
  weight: number;
  addresses: Address[];
}

export interface Resolution {
  /** The name asked for, normalised. */
  name: string;
  /** The SRV name queried. */
  query: string;
  /** Seconds the answer may be used: the smallest TTL of the records used, clamped. */
  ttl: number;
  endpoints: Endpoint[];
  /** The name has no SRV records: its own A/AAAA, at the program's port (RFC 2782). */
  fallback?: boolean;
}

/** Longest CNAME chain followed, across queries (RFC 1034 3.6.2 chains; loops end here). */
export const MAX_CNAME_HOPS = 8;

/** A name with no answer, and for how long that may be remembered (RFC 2308). */
export class NegativeAnswer {
  constructor(
    readonly reason: NegativeReason,
    /** Seconds, from the SOA of the authority section; undefined without one. */
    readonly ttl: number | undefined,
    /** The CNAME chain was too long (a loop): asking for other types would end the same. */
    readonly loop = false,
  ) {}
}

interface Chain<T> {
  records: T[];
  /** The reply the records came in (its additional section holds the glue). */
  reply: Reply;
  /** Smallest TTL of the CNAMEs followed. */
  ttl: number;
  /** The name the chain ended at. */
  name: string;
}

/** A record's TTL; one with the top bit set counts as 0 (RFC 2181 8). */
const ttlOf = (record: { ttl?: number | undefined }): number => {
  const ttl = record.ttl ?? 0;
  return ttl > 0x7fffffff ? 0 : ttl;
};

/** The records of `type` at the end of the CNAME chain that starts at `name`, in one reply. */
function followChain<T extends Answer>(
  reply: Reply,
  name: string,
  type: QueryType,
  hops: { left: number },
): Chain<T> {
  const answers = reply.answers ?? [];
  let current = canonicalName(name);
  let ttl = Number.POSITIVE_INFINITY;
  for (;;) {
    const records = answers.filter(
      (record) => record.type === type && canonicalName(record.name) === current,
    );
    if (records.length > 0) return { records: records as T[], reply, ttl, name: current };
    const cname = answers.find(
      (record) => record.type === 'CNAME' && canonicalName(record.name) === current,
    ) as StringAnswer | undefined;
    if (!cname || hops.left <= 0) return { records: [], reply, ttl, name: current };
    hops.left--;
    ttl = Math.min(ttl, ttlOf(cname));
    current = canonicalName(cname.data);
  }
}

/** Negative caching time (RFC 2308 5): the smaller of the SOA's TTL and its MINIMUM field. */
function negativeTtl(reply: Reply): number | undefined {
  const soa = (reply.authorities ?? []).find((record) => record.type === 'SOA') as
    | SoaAnswer
    | undefined;
  return soa ? Math.min(ttlOf(soa), ttlOf({ ttl: soa.data.minimum })) : undefined;
}

/** Queries `name`/`type` and follows CNAMEs, re-asking when the server stopped at one. */
async function queryChain<T extends Answer>(
  client: DnsClient,
  hostname: string,
  name: string,
  type: QueryType,
): Promise<Chain<T> | NegativeAnswer> {
  const hops = { left: MAX_CNAME_HOPS };
  let ttl = Number.POSITIVE_INFINITY;
  let current = name;
  for (;;) {
    const reply = await client.query({ name: current, type }, hostname);
    const chain = followChain<T>(reply, current, type, hops);
    ttl = Math.min(ttl, chain.ttl);
    if (chain.records.length > 0) return { ...chain, ttl };
    // NXDOMAIN or NODATA for the last name of the chain (RFC 2308 2.1, 2.2).
    if (reply.rcode === 'NXDOMAIN' || chain.name === canonicalName(current) || hops.left <= 0) {
      return new NegativeAnswer(
        reply.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : 'NODATA',
        negativeTtl(reply),
        hops.left <= 0,
      );
    }
    current = chain.name;
  }
}

const FAMILY = { A: 4, AAAA: 6 } as const;

/** Addresses of `target` found in a reply's answer and additional sections (glue). Records
 * for other names are not looked at: the server was not asked about them. */
function glueFor(target: string, records: Answer[]): { addresses: Address[]; ttl: number } {
  const addresses: Address[] = [];
  let ttl = Number.POSITIVE_INFINITY;
  for (const record of records) {
    if ((record.type === 'A' || record.type === 'AAAA') && canonicalName(record.name) === target) {
      // Whatever decoded it, an address of the record's family or nothing.
      if (ipFamily(record.data) !== FAMILY[record.type]) continue;
      addresses.push({ address: record.data, family: FAMILY[record.type] });
      ttl = Math.min(ttl, ttlOf(record));
    }
  }
  return { addresses, ttl };
}

/** A and AAAA of a target without glue, at the same nameservers, in parallel: one family
 * failing does not fail the other. */
async function queryAddresses(
  client: DnsClient,
  hostname: string,
  target: string,
): Promise<{ addresses: Address[]; ttl: number; error?: unknown }> {
  const results = await Promise.allSettled(
    (['A', 'AAAA'] as const).map((type) =>
      queryChain<StringAnswer>(client, hostname, target, type),
    ),
  );
  const addresses: Address[] = [];
  let ttl = Number.POSITIVE_INFINITY;
  let error: unknown;
  for (const result of results) {
    if (result.status === 'rejected') error = result.reason;
    else if (!(result.value instanceof NegativeAnswer)) {
      const glue = glueFor(result.value.name, result.value.records);
      addresses.push(...glue.addresses);
      ttl = Math.min(ttl, glue.ttl, result.value.ttl);
    }
  }
  return { addresses, ttl, error };
}

/** Resolves one service name through SRV. A name without endpoints is a `NegativeAnswer`
 * (returned: the cache keeps it for its own time, RFC 2308); a failure is a thrown DnsError.
 * The TTL returned is not clamped yet. */
export async function lookupService(
  client: DnsClient,
  name: string,
  query: string,
  fallback = false,
): Promise<Resolution | NegativeAnswer> {
  const chain = await queryChain<SrvAnswer>(client, name, query, 'SRV');
  if (chain instanceof NegativeAnswer) {
    // RFC 2782: "If no SRV RRs are found, do a lookup for address records for the original
    // name." Not when the name itself does not exist (NXDOMAIN for the name queried as is).
    if (!fallback || chain.loop || (chain.reason === 'NXDOMAIN' && query === name)) return chain;
    return addressFallback(client, name, query, chain);
  }
  // A lone target "." means the service is decidedly not available (RFC 2782).
  const records = chain.records.filter((record) => record.data.target !== '.');
  if (records.length === 0)
    return new NegativeAnswer('NO_SERVICE', chain.records[0] && ttlOf(chain.records[0]));

  const sections = [...(chain.reply.answers ?? []), ...(chain.reply.additionals ?? [])];
  const byTarget = new Map<string, { addresses: Address[]; ttl: number; error?: unknown }>();
  for (const target of new Set(records.map((record) => canonicalName(record.data.target)))) {
    const family = ipFamily(target);
    byTarget.set(
      target,
      family
        ? {
            addresses: [{ address: target, family: family as 4 | 6 }],
            ttl: Number.POSITIVE_INFINITY,
          }
        : glueFor(target, sections),
    );
  }
  // Targets without glue (BIND sends none for sets of more than 13 records; minimal-responses
  // servers never do): ask the same nameservers, never the system resolver.
  await Promise.all(
    [...byTarget]
      .filter(([, found]) => found.addresses.length === 0)
      .map(async ([target]) => {
        byTarget.set(target, await queryAddresses(client, name, target));
      }),
  );

  let ttl = chain.ttl;
  const endpoints: Endpoint[] = [];
  for (const record of records) {
    const target = canonicalName(record.data.target);
    const found = byTarget.get(target);
    if (!found || found.addresses.length === 0) continue;
    ttl = Math.min(ttl, ttlOf(record), found.ttl);
    const { port, priority = 0, weight = 0 } = record.data;
    endpoints.push({ target, port, priority, weight, addresses: found.addresses });
  }
  if (endpoints.length === 0) {
    const failure = [...byTarget.values()].find((found) => found.error)?.error;
    if (failure instanceof DnsError) throw failure;
    return new NegativeAnswer('NO_ADDRESS', undefined);
  }
  return { name, query, ttl, endpoints };
}

/** The name's own A/AAAA as one endpoint at the program's port (port 0); the SRV answer's
 * negative when it has none, a DnsError when those queries failed. */
async function addressFallback(
  client: DnsClient,
  name: string,
  query: string,
  negative: NegativeAnswer,
): Promise<Resolution | NegativeAnswer> {
  const found = await queryAddresses(client, name, name);
  if (found.addresses.length === 0) {
    if (found.error instanceof DnsError) throw found.error;
    return negative;
  }
  // Asked again when either answer may have changed: SRV records may appear.
  const ttl = Math.min(found.ttl, negative.ttl ?? found.ttl);
  const endpoint = { target: name, port: 0, priority: 0, weight: 0, addresses: found.addresses };
  return { name, query, ttl, endpoints: [endpoint], fallback: true };
}
