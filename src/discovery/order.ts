// RFC 2782 server selection as a pure function: the whole order, used for failover.

/** What the order needs of an endpoint. */
export interface Weighted {
  priority: number;
  weight: number;
}

/** Random number in [0, 1), injectable for tests. */
export type Random = () => number;

/**
 * Every endpoint in RFC 2782 order: lowest priority first; within a priority, weighted random
 * without replacement. The pick is r in [0, sum), then the first endpoint whose running sum is
 * greater than r: the RFC's literal "greater than or equal" with r in [0, sum] is biased
 * (errata 5284). Weight 0 endpoints come after the weighted ones; an all-zero group is shuffled
 * uniformly. Neither argument is modified.
 */
export function orderEndpoints<T extends Weighted>(
  endpoints: readonly T[],
  random: Random = Math.random,
): T[] {
  // One endpoint has one order: no sort, no draw, a copy the caller may change (a warm connect
  // does not ask: it uses the resolver's frozen list, service-connect.ts). Not a spread: over
  // those lists it runs the iterator protocol (docs/node-internals.md).
  if (endpoints.length < 2) return endpoints.length === 0 ? [] : [endpoints[0] as T];
  const sorted = [...endpoints].sort((a, b) => a.priority - b.priority);
  const ordered: T[] = [];
  let start = 0;
  while (start < sorted.length) {
    let end = start;
    while (end < sorted.length && sorted[end]?.priority === sorted[start]?.priority) end++;
    pickByWeight(sorted.slice(start, end), random, ordered);
    start = end;
  }
  return ordered;
}

/** Moves the endpoints of one priority group to `out` in weighted random order. */
function pickByWeight<T extends Weighted>(group: T[], random: Random, out: T[]): void {
  let sum = group.reduce((total, endpoint) => total + endpoint.weight, 0);
  while (group.length > 0) {
    let index: number;
    if (sum === 0) {
      index = Math.min(Math.floor(random() * group.length), group.length - 1);
    } else {
      const r = random() * sum;
      let running = 0;
      index = group.findIndex((endpoint) => {
        running += endpoint.weight;
        return running > r;
      });
      // Rounding can leave r at the very top: take the last weighted endpoint.
      if (index === -1) index = group.findLastIndex((endpoint) => endpoint.weight > 0);
    }
    const [chosen] = group.splice(index, 1) as [T];
    sum -= chosen.weight;
    out.push(chosen);
  }
}

/**
 * The first endpoint of `orderEndpoints(endpoints, random)`, without ordering the rest: the
 * per-request choice of keep-alive pools. Endpoints for which `skip` is true (ejected ones)
 * are passed over while any other remains. Undefined for an empty list.
 */
export function pickEndpoint<T extends Weighted>(
  endpoints: readonly T[],
  random: Random = Math.random,
  skip?: (endpoint: T) => boolean,
): T | undefined {
  // Indexed loops: V8 allocates an iterator for a for-of over the resolver's frozen lists
  // (docs/node-internals.md), and this runs for every keep-alive request.
  // The lowest priority among the candidates, and the sum of its weights.
  let priority = Number.POSITIVE_INFINITY;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < endpoints.length; i++) {
    const endpoint = endpoints[i] as T;
    if (skip?.(endpoint)) continue;
    if (endpoint.priority < priority) {
      priority = endpoint.priority;
      sum = 0;
      count = 0;
    }
    if (endpoint.priority === priority) {
      sum += endpoint.weight;
      count++;
    }
  }
  if (count === 0)
    return skip && endpoints.length > 0 ? pickEndpoint(endpoints, random) : undefined;
  // All weights 0: uniform; else r in [0, sum) and the first running sum greater than r.
  const r = sum === 0 ? Math.min(Math.floor(random() * count), count - 1) : random() * sum;
  let running = 0;
  let index = 0;
  let last: T | undefined;
  for (let i = 0; i < endpoints.length; i++) {
    const endpoint = endpoints[i] as T;
    if (endpoint.priority !== priority || skip?.(endpoint)) continue;
    if (sum === 0) {
      if (index++ === r) return endpoint;
      last = endpoint;
      continue;
    }
    if (endpoint.weight > 0) last = endpoint;
    running += endpoint.weight;
    if (running > r) return endpoint;
  }
  // Rounding can leave r at the very top: the last weighted (or last) endpoint.
  return last;
}
