// fetch and undici: Node's fetch (its bundled undici) and the undici package's request/fetch
// use the Agent at globalThis[Symbol.for('undici.globalDispatcher.2')] (undici 7.27 and later:
// Node 24.22, 26) or [Symbol.for('undici.globalDispatcher.1')] (undici 6: Node 20, 22), created
// by undici when it loads (fetch.ts, docs/node-internals.md). Once it is there, a request to a
// service name goes to an Agent of its own for the endpoint chosen for that request (same
// class, connecting through the connect patch to that endpoint), so connections are pooled per
// endpoint; the origin, the Host header and the TLS name stay the service's. An endpoint that
// leaves the SRV set has its Agent closed: requests in flight finish, no new one goes there.
// Only an Agent configured as undici's default is adopted; a dispatcher the program set up
// itself is left alone (its connections are still redirected, chosen per connection).

import { debug } from '../debug.js';
import type { Endpoint, Resolution } from '../discovery/service.js';
import { globalDispatcher } from './fetch.js';
import { hostnameOf, type Matcher } from './match.js';
import { CHOICE, type Choice, endpointKey, type Pools } from './pools.js';

interface Dispatcher {
  dispatch(options: { origin?: unknown }, handler: unknown): boolean;
  close(...args: unknown[]): unknown;
  destroy(...args: unknown[]): unknown;
}
type AgentClass = new (options: object) => Dispatcher;

/** Whether `value` is an undici Agent with undici's default options. */
function isDefaultAgent(value: unknown): value is Dispatcher {
  const agent = value as (Dispatcher & { constructor?: { name?: string } }) | undefined;
  if (typeof agent?.dispatch !== 'function' || agent.constructor?.name !== 'Agent') return false;
  if (Object.hasOwn(agent, 'dispatch')) return false; // patched already, by us or another
  const symbols = Object.getOwnPropertySymbols(agent);
  const read = (description: string) =>
    (agent as unknown as Record<symbol, unknown>)[
      symbols.find((s) => s.description === description) ?? Symbol()
    ];
  const options = read('options');
  const factory = read('factory') as { name?: string } | undefined;
  if (typeof options !== 'object' || options === null || factory?.name !== 'defaultFactory')
    return false;
  // undici 7 fills in maxOrigins; every other option unset.
  return Object.entries(options).every(
    ([key, value]) => value === undefined || (key === 'maxOrigins' && value === Infinity),
  );
}

/** The port of a dispatch origin, the scheme's default when it has none. */
function portOf(origin: unknown): number | undefined {
  let url = origin;
  try {
    if (typeof origin === 'string') url = new URL(origin); // URL.parse is Node ≥ 20.18
  } catch {
    return undefined;
  }
  if (!(url instanceof URL)) return undefined;
  return Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
}

const sameAddresses = (a: Endpoint, b: Endpoint) =>
  a.addresses.length === b.addresses.length &&
  a.addresses.every((address, i) => address.address === b.addresses[i]?.address);

/** Whether `next` still has `endpoint`, at the same addresses. */
const stillHas = (next: Resolution | undefined, endpoint: Endpoint) =>
  next?.endpoints.some(
    (e) => e.target === endpoint.target && e.port === endpoint.port && sameAddresses(e, endpoint),
  ) ?? false;

const closeQuietly = (agent: Dispatcher) =>
  Promise.resolve(agent.close()).catch((error: Error) =>
    debug('closing an endpoint agent failed: %s', error.message),
  );

/**
 * Adopts the global dispatcher if it is undici's default Agent: returns the undo, or
 * undefined when it is not adopted.
 */
export function adoptGlobalDispatcher(pools: Pools, matcher: Matcher): (() => void) | undefined {
  const agent = globalDispatcher();
  if (!isDefaultAgent(agent)) return undefined;
  const Agent = agent.constructor as AgentClass;
  const { dispatch, close, destroy } = agent;
  interface Entry {
    endpoint: Endpoint;
    agent: Dispatcher;
    open: boolean;
  }
  /** Agents per service name, per endpoint; and by the endpoint object of the answer in use,
   * so that a request finds its agent without building a key. */
  const agents = new Map<string, Map<string, Entry>>();
  const byObject = new WeakMap<Endpoint, Entry>();
  const retire = (entry: Entry) => {
    entry.open = false;
    closeQuietly(entry.agent); // requests in flight finish first
  };

  const agentFor = (name: string, endpoint: Endpoint): Dispatcher => {
    const known = byObject.get(endpoint);
    if (known?.open) return known.agent;
    let byEndpoint = agents.get(name);
    if (!byEndpoint) {
      byEndpoint = new Map();
      agents.set(name, byEndpoint);
    }
    const key = endpointKey(endpoint);
    let entry = byEndpoint.get(key);
    if (entry && entry.endpoint !== endpoint) {
      // The same endpoint from a newer answer: its addresses may have changed.
      if (sameAddresses(entry.endpoint, endpoint)) entry.endpoint = endpoint;
      else {
        retire(entry);
        entry = undefined;
      }
    }
    if (!entry) {
      // The connect options carry the choice of endpoint to the connect patch (see connect.ts).
      const choice: Choice = { endpoint };
      entry = { endpoint, agent: new Agent({ connect: { [CHOICE]: choice } }), open: true };
      byEndpoint.set(key, entry);
    }
    byObject.set(endpoint, entry);
    return entry.agent;
  };

  pools.onDrain((name, next) => {
    const byEndpoint = agents.get(name);
    if (!byEndpoint) return;
    for (const [key, entry] of byEndpoint) {
      if (stillHas(next, entry.endpoint)) continue;
      byEndpoint.delete(key);
      retire(entry);
    }
    if (byEndpoint.size === 0) agents.delete(name);
  });

  /** The service of an origin (its resolver key: the name, or name:port where the SRV name
   * depends on the port), null for any other; origins seen are remembered. undici makes the
   * origin string anew for each request, and a Map lookup of a new string hashes it (110–200
   * ns, Node 20–24): the last origin is compared first (bench/README.md, the fifteenth pass). */
  const names = new Map<string, string | null>();
  let lastOrigin: string | undefined;
  let lastName: string | null = null;
  const serviceOf = (origin: unknown): string | null => {
    if (origin === lastOrigin) return lastName;
    if (typeof origin !== 'string') return nameOf(origin);
    let name = names.get(origin);
    if (name === undefined) {
      name = nameOf(origin);
      if (names.size >= 1000) names.clear();
      names.set(origin, name);
    }
    lastOrigin = origin;
    lastName = name;
    return name;
  };
  const nameOf = (origin: unknown): string | null => {
    const host = hostnameOf(origin);
    const service = host === undefined ? undefined : matcher(host);
    return service === undefined ? null : pools.key(service, portOf(origin));
  };

  const each = (work: (endpointAgent: Dispatcher) => unknown) => {
    for (const byEndpoint of agents.values())
      for (const entry of byEndpoint.values()) {
        entry.open = false;
        Promise.resolve(work(entry.agent)).catch(() => {});
      }
    agents.clear();
  };

  Object.assign(agent, {
    dispatch(this: Dispatcher, options: { origin?: unknown }, handler: unknown): boolean {
      const name = serviceOf(options?.origin);
      if (name === null) return dispatch.call(this, options, handler);
      let resolver: ReturnType<Pools['resolver']>;
      try {
        resolver = pools.resolver();
        const cached = resolver.cached(name);
        if (cached) {
          const endpoint = pools.chooseFrom(cached);
          if (endpoint) return agentFor(name, endpoint).dispatch(options, handler);
          return dispatch.call(this, options, handler);
        }
      } catch (error) {
        // Never out of the program's fetch: the request goes as it would without pools.
        debug('fetch of %s: %s', name, (error as Error).message);
        return dispatch.call(this, options, handler);
      }
      // A cold name: the request waits for the answer, as its connection would. On failure
      // the request goes the way it would without pools, and fails as it would: with the
      // DNS error, from the connect.
      const fallBack = () => dispatch.call(agent, options, handler);
      resolver
        .resolve(name)
        .then((resolution) => {
          let endpointAgent: Dispatcher | undefined;
          try {
            const endpoint = pools.chooseFrom(resolution);
            if (endpoint) endpointAgent = agentFor(name, endpoint);
          } catch (error) {
            debug('fetch of %s: %s', name, (error as Error).message);
          }
          return endpointAgent ? endpointAgent.dispatch(options, handler) : fallBack();
        }, fallBack)
        .catch((error: Error) => debug('fetch of %s: %s', name, error.message));
      return true;
    },
    close(this: Dispatcher, ...args: unknown[]) {
      each((endpointAgent) => endpointAgent.close());
      return close.apply(this, args);
    },
    destroy(this: Dispatcher, ...args: unknown[]) {
      const error = typeof args[0] === 'function' ? null : args[0];
      each((endpointAgent) => endpointAgent.destroy(error));
      return destroy.apply(this, args);
    },
  });
  return () => {
    // The endpoints' Agents are svcdisc's: nothing reaches them once the wrapper goes, and
    // their idle connections would stay open until the server's keep-alive timeout. Closed as
    // close() does: requests in flight finish first.
    each((endpointAgent) => endpointAgent.close());
    // Newest first: V8 then undoes the additions to the object's shape instead of turning it
    // into a slow dictionary object.
    for (const key of ['destroy', 'close', 'dispatch']) delete (agent as never)[key];
  };
}
