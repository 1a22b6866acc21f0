// The service side of the preload, loaded on the first intercepted name (a connect, a lookup, a
// fetch of one): the resolver, the keep-alive pools and their adoption, the service connect
// with its failover, the synthetic addresses of dns.lookup. In dist it is one bundle
// (scripts/bundle-preload.mjs) with the resolver, its cache and the DNS client (its own wire
// codec, ../dns/wire.ts), and its own copies of the leaves the start-up path has too (names,
// errors): all of it is in its code cache (./code-cache.ts). It gets the settings validated.
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import type * as net from 'node:net';
import type { Config } from '../config.js';
import { type Resolver, resolverFor } from '../discovery/resolver.js';
import { parseSrvTemplates, type SrvTemplates, serviceKey } from '../dns/srv-name.js';
import { poolAdoption } from './adopt.js';
import type { ConnectContext } from './context.js';
import { Deadlines } from './deadlines.js';
import { EndpointHealth } from './health.js';
import type { Matcher } from './match.js';
import { Pools } from './pools.js';
import { connectToService } from './service-connect.js';
import type { ConnectFn, Normalized, Socket } from './socket.js';
import { SyntheticAddresses } from './synthetic.js';

/** dns.lookup's options, in any of its call forms (dns-lookup.ts). */
export type LookupOptions = (LookupOneOptions | LookupAllOptions) & { family?: number | string };

export interface ServiceSide {
  /** The connect patch's work for a service name: the connect of `socket` to an endpoint. */
  connect(socket: net.Socket, normalized: Normalized, name: string): net.Socket;
  /** The service name a synthetic address was handed out for, if it was. */
  nameOf(address: string): string | undefined;
  /** What Node's lookup would answer for a service name, once its SRV query has succeeded. */
  lookup(name: string, options: LookupOptions): Promise<LookupAddress | LookupAddress[]>;
  /** Adopts the keep-alive pools (http.Agent, undici's global Agent) the program has now. */
  adopt(): void;
  resolver(): Resolver;
  pools: Pools;
  /** Undoes the adoption and empties the cache. */
  restore(): void;
}

/** The service side of an installation: `connect` is Node's own net.Socket.prototype.connect. */
export function serviceSide(config: Config, matcher: Matcher, connect: ConnectFn): ServiceSide {
  let resolver: Resolver | undefined;
  const getResolver = () => {
    resolver ??= resolverFor(config, {
      onChange: (name, previous, next) => pools.changed(name, previous, next),
    });
    return resolver;
  };
  const health = new EndpointHealth();
  // The SRV name templates (checked with the settings) are parsed on the first service name.
  let templates: SrvTemplates | undefined;
  const pools = new Pools(getResolver, health, (name, port) => {
    templates ??= parseSrvTemplates(config.srvName) as SrvTemplates;
    return serviceKey(templates, name, port);
  });
  const adoption = poolAdoption(pools, matcher);
  const synthetic = new SyntheticAddresses();
  const context: ConnectContext = {
    matcher,
    synthetic,
    resolver: getResolver,
    health,
    pools,
    adoptPools: adoption.adopt,
    connectTimeoutMs: config.connectTimeoutMs,
    deadlines: new Deadlines(),
  };
  return {
    connect: (socket, normalized, name) =>
      connectToService(connect, context, socket as Socket, normalized, name),
    nameOf: (address) => synthetic.nameOf(address),
    async lookup(name, options) {
      // With `{port}` in the default SRV template, the query waits for the connect's port.
      const resolver = getResolver();
      if (!resolver.needsPort) await resolver.resolve(name);
      const { v4, v6 } = synthetic.addressesOf(name);
      const wantsV6 = options.family === 6 || options.family === 'IPv6';
      const address: LookupAddress = wantsV6
        ? { address: v6, family: 6 }
        : { address: v4, family: 4 };
      return options.all ? [address] : address;
    },
    adopt: adoption.adopt,
    resolver: getResolver,
    pools,
    restore() {
      adoption.undo();
      resolver?.clear();
    },
  };
}
