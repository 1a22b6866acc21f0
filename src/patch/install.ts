// install() / uninstall(): the patches of net.Socket.prototype.connect, dns.lookup and
// dns.promises.lookup, undoable, one installation at a time in the process, whichever copy of
// svcdisc made it. The resolver (its bundle, with dns-packet) is loaded on the first intercepted
// name, so programs that never use one pay only for this file at start-up.
import dns from 'node:dns';
import net from 'node:net';
import {
  type Config,
  normalizeOptions,
  parseSrvTemplates,
  type SrvTemplates,
  type SvcdiscOptions,
  serviceKey,
  unknownVariableWarnings,
} from '../config.js';
import { debug } from '../debug.js';
import type * as ResolverModule from '../discovery/resolver.js';
import { AlreadyInstalledError } from '../errors.js';
import type * as RegistrarModule from '../update/registrar.js';
import { poolAdoption } from './adopt.js';
import { createConnectPatch } from './connect.js';
import { createLookupPatch, createPromisesLookupPatch } from './dns-lookup.js';
import { patchPromisesLookup, syncESMExports } from './dns-promises.js';
import { EndpointHealth } from './health.js';
import { createMatcher } from './match.js';
import { type PoolStats, Pools } from './pools.js';
import type * as ResolverSide from './resolver.js';
import { SyntheticAddresses } from './synthetic.js';

interface Installation {
  restore(): void;
  resolver(): ResolverModule.Resolver;
  pools: Pools;
}

let current: Installation | undefined;

/** Set on net.Socket.prototype while svcdisc is installed, under a key every copy of svcdisc
 * shares: two copies in one process never patch twice. */
const INSTALLED = Symbol.for('svcdisc.installed');
const prototype = net.Socket.prototype as unknown as Record<symbol, unknown>;

let warned = false;
/** Misspelled SVCDISC_* variables: one line each on stderr, once per process. */
function warnOnce(): void {
  if (warned) return;
  warned = true;
  for (const line of unknownVariableWarnings()) process.stderr.write(`svcdisc: warning: ${line}\n`);
}

/** For the resolver-side bundle (./resolver.ts): the modules it shares with this one. */
export * as shared from './shared.js';

/**
 * Routes this process's connections to names under the configured domains through SRV.
 * Options override the SVCDISC_* environment; `disable: true` installs nothing.
 * @returns whether the patches were installed
 */
export function install(options: SvcdiscOptions = {}): boolean {
  if (prototype[INSTALLED]) throw new AlreadyInstalledError();
  const config = normalizeOptions(options);
  warnOnce();
  if (config.disable) return false;
  let resolver: ResolverModule.Resolver | undefined;
  const getResolver = () => {
    if (!resolver) {
      const { resolverFor } = require('./resolver.js') as typeof ResolverSide;
      resolver = resolverFor(config, {
        onChange: (name, previous, next) => pools.changed(name, previous, next),
      });
    }
    return resolver;
  };
  const matcher = createMatcher(config.domains);
  const health = new EndpointHealth();
  // The SRV name templates (checked with the settings) are parsed on the first service name.
  let templates: SrvTemplates | undefined;
  const pools = new Pools(getResolver, health, (name, port) => {
    templates ??= parseSrvTemplates(config.srvName) as SrvTemplates;
    return serviceKey(templates, name, port);
  });
  const adoption = poolAdoption(pools, matcher);
  const context = {
    matcher,
    synthetic: new SyntheticAddresses(),
    resolver: getResolver,
    health,
    pools,
    adoptPools: adoption.adopt,
    connectTimeoutMs: config.connectTimeoutMs,
  };
  const originals = {
    connect: net.Socket.prototype.connect,
    lookup: dns.lookup,
    listen: net.Server.prototype.listen,
  };
  if (config.announce.length > 0) {
    net.Server.prototype.listen = announceOnListen(originals.listen, config);
  }
  net.Socket.prototype.connect = createConnectPatch(originals.connect as never, context) as never;
  dns.lookup = createLookupPatch(originals.lookup, context) as typeof dns.lookup;
  const promisesLookup = patchPromisesLookup((original) =>
    createPromisesLookupPatch(original, context),
  );
  // ESM named imports (`import { lookup } from 'node:dns'`) are copies: refresh them.
  syncESMExports();
  // A program that loaded http before the preload ran (install() from code) is adopted now.
  adoption.adopt();
  prototype[INSTALLED] = true;
  current = {
    resolver: getResolver,
    pools,
    restore() {
      delete prototype[INSTALLED];
      adoption.undo();
      net.Socket.prototype.connect = originals.connect;
      net.Server.prototype.listen = originals.listen;
      dns.lookup = originals.lookup;
      promisesLookup.undo();
      syncESMExports();
      resolver?.clear();
    },
  };
  return true;
}

/** net.Server.prototype.listen that announces this program (SVCDISC_ANNOUNCE) once a TCP
 * server listens. The registration code loads then, not at start-up. */
function announceOnListen(
  listen: typeof net.Server.prototype.listen,
  config: Config,
): typeof net.Server.prototype.listen {
  let registrar: RegistrarModule.Registrar | undefined;
  return function listenAndAnnounce(this: net.Server, ...args: unknown[]) {
    this.once('listening', () => {
      const address = this.address();
      if (!address || typeof address !== 'object') return; // a unix socket or pipe
      try {
        if (!registrar) {
          const { Registrar } = require('../update/registrar.js') as typeof RegistrarModule;
          registrar = new Registrar(config);
        }
        registrar.onListening(this, address.port, address.address);
      } catch (error) {
        debug('announce failed: %s', (error as Error).message);
      }
    });
    return (listen as (...a: unknown[]) => net.Server).apply(this, args);
  } as typeof net.Server.prototype.listen;
}

/** Removes the patches; connections already made are left alone. Returns whether any were installed. */
export function uninstall(): boolean {
  if (!current) return false;
  current.restore();
  current = undefined;
  return true;
}

/** The resolver of the installed preload (created on first use), for its stats(). */
export function installedResolver(): ResolverModule.Resolver | undefined {
  return current?.resolver();
}

/** The pooled keep-alive sockets svcdisc connected, per service endpoint: open and not
 * retired. Empty when nothing is installed. */
export function pooledSockets(): PoolStats[] {
  return current?.pools.stats() ?? [];
}
