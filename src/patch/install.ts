// install() / uninstall(): the patches of net.Socket.prototype.connect, dns.lookup and
// dns.promises.lookup, undoable, one installation at a time in the process, whichever copy of
// svcdisc made it. This is the preload's start-up path: the settings, the matcher and the
// patches, which pass everything but a service name on to Node after a string check. The
// service side (./side.ts: the resolver, the pools, the service connect; in dist a bundle of
// its own) is loaded on the first service name, so programs that never use one pay only for
// this file at start-up.
// Not `import dns from`: the bundler would copy every export of the module when it loads.
import dns = require('node:dns');
import net = require('node:net');

import { join } from 'node:path';
import {
  type Config,
  normalizeOptions,
  type SvcdiscOptions,
  unknownVariableWarnings,
} from '../config.js';
import { debug } from '../debug.js';
import type * as ResolverModule from '../discovery/resolver.js';
import { AlreadyInstalledError, ConfigError } from '../errors.js';
import type * as RegistrarModule from '../update/registrar.js';
import { requireBundle } from './code-cache.js';
import { createConnectPatch } from './connect.js';
import { createLookupPatch, createPromisesLookupPatch } from './dns-lookup.js';
import { patchPromisesLookup, syncESMExports } from './dns-promises.js';
import { adoptBeforeFirstFetch, globalDispatcher } from './fetch.js';
import { createMatcher } from './match.js';
import type { PoolStats } from './pools.js';
import type * as SideModule from './side.js';
import type { ConnectFn } from './socket.js';

interface Installation {
  restore(): void;
  /** The service side, loaded by this call if it is not. */
  side(): SideModule.ServiceSide;
  /** The service side if it is loaded. */
  loaded(): SideModule.ServiceSide | undefined;
}

let current: Installation | undefined;

/** Set on the global object while svcdisc is installed, under a key every copy of svcdisc
 * shares: two copies in one process never patch twice. Not on net.Socket.prototype, where it
 * was until the twenty-first pass: a property added to and deleted from the prototype of every
 * socket at each install() and uninstall() left the sockets of the process slower after it
 * (bench/README.md). The global object keeps its properties in a dictionary anyway. */
const INSTALLED = Symbol.for('svcdisc.installed');
const marker = globalThis as unknown as Record<symbol, true | undefined>;

let warned = false;
/** Misspelled SVCDISC_* variables: one line each on stderr, once per process. */
function warnOnce(): void {
  if (warned) return;
  warned = true;
  for (const line of unknownVariableWarnings()) process.stderr.write(`svcdisc: warning: ${line}\n`);
}

/** Whether the program has keep-alive pools to adopt already: it loaded `http` or `https`, or
 * undici created its global Agent (a fetch, the undici package). */
function poolsExist(): boolean {
  // The dispatcher first: every process runs it, dist/warm.js's too (which has http), so it is
  // in the start-up bundle's code cache (a function that is not compiles at its first call).
  if (globalDispatcher() !== undefined) return true;
  const loaded = (process as unknown as { moduleLoadList?: string[] }).moduleLoadList ?? [];
  return loaded.includes('NativeModule http') || loaded.includes('NativeModule https');
}

/** For dist/warm.js: the settings' parsers, run once for the start-up bundle's cache. */
export { configFromEnv } from '../config.js';
/** For dist/warm.js: the code cache of the service-side bundle. */
export { produceCodeCache, writeCodeCache } from './code-cache.js';

/**
 * Routes this process's connections to names under the configured domains through SRV.
 * Options override the SVCDISC_* environment; `disable: true` installs nothing.
 * @returns whether the patches were installed
 */
export function install(options: SvcdiscOptions = {}): boolean {
  if (marker[INSTALLED]) throw new AlreadyInstalledError();
  const config = normalizeOptions(options);
  warnOnce();
  if (config.disable) return false;
  const matcher = createMatcher(config.domains);
  const originals = {
    connect: net.Socket.prototype.connect,
    lookup: dns.lookup,
    listen: net.Server.prototype.listen,
  };
  let side: SideModule.ServiceSide | undefined;
  const loaded = () => side;
  const load = (): SideModule.ServiceSide => {
    if (side) return side;
    try {
      side = (
        requireBundle(join(__dirname, 'side.js'), () => require('./side.js')) as typeof SideModule
      ).serviceSide(config, matcher, originals.connect as unknown as ConnectFn);
      return side;
    } catch (error) {
      return unloadedSide(error as Error);
    }
  };
  if (config.announce.length > 0) {
    net.Server.prototype.listen = announceOnListen(originals.listen, config);
  }
  net.Socket.prototype.connect = createConnectPatch(
    originals.connect as unknown as ConnectFn,
    matcher,
    loaded,
    load,
  ) as never;
  dns.lookup = createLookupPatch(originals.lookup, matcher, load) as typeof dns.lookup;
  const promisesLookup = patchPromisesLookup((original) =>
    createPromisesLookupPatch(original, matcher, load),
  );
  const undoFetch = adoptBeforeFirstFetch(matcher, () => load().adopt());
  // ESM named imports (`import { lookup } from 'node:dns'`) are copies: refresh them.
  syncESMExports();
  // A program that has its pools before svcdisc is installed (install() from code, after it
  // loaded http or made a fetch) has them adopted now, before its first request.
  if (poolsExist()) load().adopt();
  marker[INSTALLED] = true;
  current = {
    side: load,
    loaded,
    restore() {
      delete marker[INSTALLED];
      undoFetch();
      net.Socket.prototype.connect = originals.connect;
      net.Server.prototype.listen = originals.listen;
      dns.lookup = originals.lookup;
      promisesLookup.undo();
      syncESMExports();
      side?.restore();
    },
  };
  return true;
}

/**
 * The preload's installation (../../register.cjs), from the environment. A bad setting stops
 * the program at start with a line naming it; another copy of svcdisc installed first (two
 * preloads, as NODE_OPTIONS in a base image and -r in the command) leaves the program to that
 * installation, as with one preload. Here, not in register.cjs: this bundle is read from its
 * code cache, and every line of register.cjs is compiled at each start (bench/README.md, the
 * twenty-ninth pass). `options`: dist/warm.js's, whose warm-up installs through here so that
 * this function is in that cache too.
 */
export function preload(options: SvcdiscOptions = {}): void {
  try {
    install(options);
  } catch (error) {
    if (error instanceof AlreadyInstalledError) {
      debug(
        '%s: another copy of svcdisc is installed already: this one installs nothing',
        join(__dirname, '..', '..'),
      );
    } else if (error instanceof ConfigError) {
      process.stderr.write(`svcdisc: ${error.message}\n`);
      process.exit(1);
    } else {
      throw error;
    }
  }
}

/**
 * What stands for a service side that could not load (a file of the install missing or broken,
 * too many open files): each use fails with its error as Node's own failures come, never thrown
 * from the program's call — a connect with the socket's 'error' a tick later (connecting until
 * then, as Node's socket is while its lookup runs: writes wait for 'connect'), a lookup with a
 * rejection (the callback's error, dns-lookup.ts). It is not kept: the next use loads again.
 */
function unloadedSide(error: Error): SideModule.ServiceSide {
  return {
    connect(socket) {
      (socket as { connecting: boolean }).connecting = true;
      process.nextTick(destroyWith, socket, error);
      return socket;
    },
    nameOf: () => undefined,
    lookup: () => Promise.reject(error),
    adopt: () => debug('pools not adopted: %s', error.message),
    resolver() {
      throw error;
    },
    get pools(): never {
      throw error;
    },
    restore() {},
  };
}

function destroyWith(socket: net.Socket, error: Error): void {
  socket.destroy(error);
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
  return current?.side().resolver();
}

/** The pooled keep-alive sockets svcdisc connected, per service endpoint: open and not
 * retired. Empty when nothing is installed. */
export function pooledSockets(): PoolStats[] {
  return current?.loaded()?.pools.stats() ?? [];
}
