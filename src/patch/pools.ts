// Keep-alive pools: the endpoint chosen per request for clients that pool connections
// (every http.Agent, undici's global Agent: see agent.ts and dispatcher.ts), the pooled sockets
// svcdisc connected, and their drain when an endpoint leaves the SRV set: idle ones closed at
// once, busy ones not reused after their response. Sockets of other clients (http2 sessions,
// gRPC channels, WebSocket, database drivers) are never touched here.

import { monotonicMs } from '../clock.js';
import type { Resolver } from '../discovery/resolver.js';
import type { Endpoint, Resolution } from '../discovery/service.js';
import { drained } from '../events.js';
import type { EndpointHealth } from './health.js';
import type { Socket } from './socket.js';

/** What an http.Agent is to the drain: its idle sockets, by pool key. */
export interface IdlePools {
  freeSockets: Readonly<Record<string, readonly unknown[] | undefined>>;
}

/** What svcdisc knows of a socket it connected to a service endpoint. */
export interface Served {
  name: string;
  target: string;
  port: number;
  address: string;
  /** Connected for a pool of one endpoint (or kept alive by an agent): drained with it. */
  pooled: boolean;
  /** The http.Agent that keeps it alive, once it did. */
  agent: IdlePools | undefined;
  /** Never to be reused: its endpoint left the set, or it reached another endpoint than the
   * one its pool is for (failover). */
  retired: boolean;
  /** Connected for an agent's request that had no endpoint's pool: the name's answer was not
   * cached yet (or http.Agent not patched yet), so the agent pools it under its own key. */
  cold: boolean;
}

/** On connect options: the choice of the pool the connection is made for. */
export const CHOICE = Symbol('svcdisc.choice');

/** The endpoint a pool is for; for an http.Agent's request, also the pool key naming it (the
 * agent asks for the key again when the socket is freed or removed). */
export interface Choice {
  readonly endpoint: Endpoint | undefined;
  readonly key?: string;
}

/** One endpoint's pooled sockets, for `pooledSockets()`. */
export interface PoolStats {
  name: string;
  target: string;
  port: number;
  sockets: number;
}

/** Something else that pools connections per endpoint (undici agents): told of each change. */
export type DrainListener = (name: string, next: Resolution | undefined) => void;

export const endpointKey = (endpoint: { target: string; port: number }) =>
  `${endpoint.target}:${endpoint.port}`;

/** Whether `next` still has the endpoint `target:port` with `address` among its addresses. */
export function stillServes(
  next: Resolution | null | undefined,
  target: string,
  port: number,
  address: string,
): boolean {
  if (next === undefined) return true; // nothing known: leave it be
  if (next === null) return false;
  // Asked at every keep-alive response: indexed loops, no closure per call and no iterator over
  // the resolver's frozen lists (docs/node-internals.md).
  const { endpoints } = next;
  for (let i = 0; i < endpoints.length; i++) {
    const endpoint = endpoints[i] as Endpoint;
    if (endpoint.target !== target || endpoint.port !== port) continue;
    const { addresses } = endpoint;
    for (let j = 0; j < addresses.length; j++) if (addresses[j]?.address === address) return true;
  }
  return false;
}

/** A cold name is looked up in the background at most this often, ms: TTL 0 answers are
 * never warm, and a query per request would gain nothing. */
const PREFETCH_INTERVAL_MS = 1000;
/** Below this, a name's socket set is not swept for closed sockets. */
const SWEEP_MIN = 64;

export class Pools {
  /** Pooled sockets by service name; closed ones are swept when a set doubles. */
  readonly #sockets = new Map<string, { set: Set<Socket>; sweepAt: number }>();
  /** Kept beside the socket, not on it: a property added to a socket gives it a shape of its
   * own, which costs every stream and socket function of the process some speed. */
  readonly #served = new WeakMap<Socket, Served>();
  readonly #listeners: DrainListener[] = [];
  readonly #prefetched = new Map<string, number>();
  readonly #skipEjected = (endpoint: Endpoint) => this.health.isEjected(endpointKey(endpoint));

  constructor(
    readonly resolver: () => Resolver,
    readonly health: EndpointHealth,
    /** The resolver's key of a name at a port (SVCDISC_SRV_NAME per port), without loading
     * the resolver: the name itself unless the SRV query depends on the port. */
    readonly key: (name: string, port: number | undefined) => string = (name) => name,
  ) {}

  /** The endpoint for one request to `name`, from a fresh cached answer; undefined while the
   * cache is cold (the request then goes to a connection chosen per connection), and the
   * name is looked up in the background so that the next request can choose. */
  choose(name: string): Endpoint | undefined {
    const resolver = this.resolver();
    const resolution = resolver.cached(name);
    if (resolution) return this.chooseFrom(resolution);
    const now = monotonicMs();
    if ((this.#prefetched.get(name) ?? -Infinity) + PREFETCH_INTERVAL_MS <= now) {
      if (this.#prefetched.size >= 1000) this.#prefetched.clear();
      this.#prefetched.set(name, now);
      resolver.resolve(name).catch(() => {}); // a failure shows on the request's own connect
    }
    return undefined;
  }

  /** RFC 2782's choice for one request: lowest priority, weighted, ejected endpoints last. */
  chooseFrom(resolution: Resolution): Endpoint | undefined {
    return this.resolver().pick(
      resolution.endpoints,
      this.health.size > 0 ? this.#skipEjected : undefined,
    );
  }

  /** Records where a socket is connecting (the attempt of a failover replaces the record);
   * one connected for a pool (`preferred`: the endpoint its pool is for) is drained with that
   * endpoint; `cold`: see Served. */
  connecting(
    socket: Socket,
    name: string,
    endpoint: Endpoint,
    address: string,
    preferred: Endpoint | undefined,
    cold: boolean,
  ): void {
    const served: Served = {
      name,
      target: endpoint.target,
      port: endpoint.port,
      address,
      pooled: preferred !== undefined,
      agent: undefined,
      retired: preferred !== undefined && endpointKey(preferred) !== endpointKey(endpoint),
      cold,
    };
    this.#served.set(socket, served);
    if (served.pooled) this.#add(socket, name);
  }

  /** http.Agent's keepSocketAlive: false for a socket svcdisc connected that must not be
   * reused (its endpoint left, or it is in the pool of another endpoint), or that no request
   * would reuse (a cold one, below). */
  keep(socket: Socket, agent: IdlePools): boolean {
    const served = this.#served.get(socket);
    if (served === undefined) return true;
    if (served.retired) return false;
    const resolver = this.resolver();
    if (!stillServes(resolver.latest(served.name), served.target, served.port, served.address)) {
      served.retired = true;
      return false;
    }
    if (served.agent === undefined) {
      // A cold socket sits under Node's pool key, which the name's requests leave once its
      // answer is cached (they choose endpoints): kept there it would idle until a timeout. An
      // answer never cached (TTL 0) keeps them under Node's key, and the socket is reused.
      if (served.cold && resolver.cached(served.name) !== undefined) {
        served.retired = true;
        return false;
      }
      served.agent = agent;
      served.pooled = true;
      this.#add(socket, served.name);
    }
    return true;
  }

  /** Another pool of connections per endpoint, to be told when a name's endpoints change. */
  onDrain(listener: DrainListener): void {
    this.#listeners.push(listener);
  }

  /** The resolver's news: pooled sockets to endpoints that left are retired, idle ones closed. */
  changed(name: string, previous: Resolution, next: Resolution | undefined): void {
    const retired = new Map<string, number>();
    const entry = this.#sockets.get(name);
    for (const socket of entry?.set ?? []) {
      const served = this.#served.get(socket) as Served;
      if (socket.destroyed) entry?.set.delete(socket);
      else if (!stillServes(next ?? null, served.target, served.port, served.address)) {
        entry?.set.delete(socket);
        served.retired = true;
        // An idle socket in an agent's pool is closed now (the agent forgets it on 'close');
        // a busy one when its response is done (keepSocketAlive says no).
        if (served.agent && isIdle(served.agent, socket)) socket.destroy();
        const key = endpointKey(served);
        retired.set(key, (retired.get(key) ?? 0) + 1);
      }
    }
    for (const listener of this.#listeners) listener(name, next);
    for (const endpoint of previous.endpoints) {
      const key = endpointKey(endpoint);
      const left = !next?.endpoints.some((e) => endpointKey(e) === key);
      if (left || retired.has(key)) {
        const sockets = retired.get(key) ?? 0;
        drained(() => ({ name, target: endpoint.target, port: endpoint.port, sockets }));
      }
    }
  }

  /** The pooled sockets of each endpoint, open and not retired. */
  stats(): PoolStats[] {
    const counts = new Map<string, PoolStats>();
    for (const [name, { set }] of this.#sockets) {
      for (const socket of set) {
        const served = this.#served.get(socket) as Served;
        if (socket.destroyed || served.retired) continue;
        const key = `${name} ${endpointKey(served)}`;
        const stats = counts.get(key) ?? {
          name,
          target: served.target,
          port: served.port,
          sockets: 0,
        };
        stats.sockets++;
        counts.set(key, stats);
      }
    }
    return [...counts.values()];
  }

  #add(socket: Socket, name: string): void {
    let entry = this.#sockets.get(name);
    if (!entry) {
      entry = { set: new Set(), sweepAt: SWEEP_MIN };
      this.#sockets.set(name, entry);
    }
    entry.set.add(socket);
    if (entry.set.size >= entry.sweepAt) {
      for (const old of entry.set) if (old.destroyed) entry.set.delete(old);
      entry.sweepAt = Math.max(SWEEP_MIN, entry.set.size * 2);
    }
  }
}

function isIdle(agent: IdlePools, socket: Socket): boolean {
  for (const key in agent.freeSockets) if (agent.freeSockets[key]?.includes(socket)) return true;
  return false;
}
