// One connection to a service: resolve (from the cache when warm, without waiting on a promise),
// order the endpoints (RFC 2782, ejected ones last), then hand each attempt to Node's own
// connect with the endpoint's address and port. Node's 'lookup' event is emitted as Node would,
// and `_host` stays the service name (TLS checks the certificate against it). A failed attempt
// is caught before the program sees it and the next address, then the next endpoint, is tried
// on the same socket.
// Not `import * as net`: the bundler would copy every export of the module when it loads.
import net = require('node:net');

import type { Resolver } from '../discovery/resolver.js';
import type { Address, Endpoint, Resolution } from '../discovery/service.js';
import { hostPort } from '../dns/names.js';
import { ConnectTimeoutError, ServiceConnectError } from '../errors.js';
import { type ConnectMessage, connecting, ejected, failedOver } from '../events.js';
import type { ConnectContext } from './context.js';
import { Expiring } from './deadlines.js';
import { CHOICE, type Choice, endpointKey } from './pools.js';
import {
  addressOptions,
  type ConnectFn,
  freshHandle,
  type Normalized,
  type Socket,
  tagNormalized,
  tlsConnectOptions,
} from './socket.js';

/** Any valid port: the one of the URL does not matter, the SRV record's will be used. */
const PLACEHOLDER_PORT = 1;
const neverAnswers = () => {};
/** A port Node's connect() refuses after it has prepared the socket and before its lookup. */
const REFUSED_PORT = -1;

/**
 * Prepares `socket` as Node's connect() does before its lookup — the program's callback on
 * 'connect', a handle, `connecting`, the timeout refreshed — so writes and end() wait for
 * 'connect' while the SRV query runs; `_host` is the service name.
 *
 * Node's connect is stopped at its check of the port, which it makes after preparing the
 * socket and before it looks at the name: a lookup that never answers would stop it too, but
 * before any lookup Node runs `isIP()` on the name, whose IPv6 pattern costs 5–7 ms to compile
 * at its first use (the refused port costs about 10 µs more per cold connect). Where that stop
 * does not leave the socket prepared (another Node), or the program set options Node checks
 * only after the port (`autoSelectFamily*`) to values it refuses, the never-answering lookup
 * is used: Node's errors for those options come from it. (Until the twenty-fifth pass any
 * `autoSelectFamily*` option took that way, valid ones too, as the MongoDB driver sets them,
 * and such a program's first connect compiled the pattern.)
 */
function prepare(
  original: ConnectFn,
  socket: Socket,
  options: Normalized[0],
  callback: Normalized[1],
  name: string,
): void {
  // Registered here, as Node's connect() does first: the calls below pass no callback.
  if (callback) socket.once('connect', callback);
  // Node checks these after the port: with a value it refuses, its own checks must run now.
  if (acceptsAutoSelectFamily(options)) {
    try {
      original.call(socket, tagNormalized([{ ...options, host: name, port: REFUSED_PORT }, null]));
    } catch (error) {
      // Node's refusal of the program's own options (a bad localAddress): as without svcdisc.
      if ((error as NodeJS.ErrnoException | undefined)?.code !== 'ERR_SOCKET_BAD_PORT') throw error;
    }
    if (socket.connecting && socket._handle) {
      socket._host = name;
      return;
    }
  }
  original.call(
    socket,
    tagNormalized([{ ...options, host: name, port: PLACEHOLDER_PORT, lookup: neverAnswers }, null]),
  );
}

/** Whether Node's connect() accepts the `autoSelectFamily*` options given, if any: a boolean,
 * and an int32 of at least 1 (its validateBoolean and validateInt32 on Node 20 to 26). */
function acceptsAutoSelectFamily(options: Normalized[0]): boolean {
  const { autoSelectFamily, autoSelectFamilyAttemptTimeout: timeout } = options;
  return (
    (autoSelectFamily == null || typeof autoSelectFamily === 'boolean') &&
    (timeout == null ||
      (typeof timeout === 'number' &&
        Number.isInteger(timeout) &&
        timeout >= 1 &&
        timeout <= 2 ** 31 - 1))
  );
}

/** The connect of `socket` to the service `name` (the connect patch found `normalized`'s host
 * intercepted); `original` is Node's own connect. */
export function connectToService(
  original: ConnectFn,
  context: ConnectContext,
  socket: Socket,
  normalized: Normalized,
  name: string,
): Socket {
  // Not destructured: below V8's optimising tiers that runs the array's iterator protocol.
  const options = normalized[0];
  const callback = normalized[1];
  const agentPatchedNow = context.adoptPools();
  // The pool this connection is for (agent.ts, dispatcher.ts), if any.
  const choice = (options[CHOICE as never] ?? tlsConnectOptions(socket)?.[CHOICE]) as
    | Choice
    | undefined;
  const preferred = choice?.endpoint;
  // The resolver's key: the name, or name:port where SVCDISC_SRV_NAME depends on the port.
  const key = context.pools.key(name, Number(options.port) || undefined);
  // An agent's request that found no answer cached (or came before http.Agent was patched,
  // just now): its agent pools the socket under Node's key (pools.ts, keep()).
  const cold = choice === undefined ? agentPatchedNow : preferred === undefined;
  const service = new ServiceConnect(
    socket,
    original,
    context,
    name,
    key,
    options,
    preferred,
    cold,
  );
  // A pool's endpoint needs no fresh answer: it was chosen from one a moment ago.
  const warm =
    context.resolver().cached(key) ??
    (preferred && { name, query: name, ttl: 0, endpoints: [preferred] });
  if (warm) {
    // A warm cache: Node's connect, at once, to the chosen endpoint's address.
    service.startWarm(warm, callback);
  } else {
    // The socket waits for the SRV answer as Node's does for its lookup: `connecting`, writes
    // and end() held until 'connect'. The real connect comes with the endpoint's port.
    prepare(original, socket, options, callback, name);
    service.start();
  }
  return socket;
}

/** Addresses in the order Node's happy eyeballs tries them: the first family, then alternating. */
function interleave(addresses: readonly Address[]): readonly Address[] {
  if (addresses.length < 2) return addresses;
  const first = addresses[0]?.family;
  const same = addresses.filter((a) => a.family === first);
  const other = addresses.filter((a) => a.family !== first);
  const out: Address[] = [];
  for (let i = 0; i < Math.max(same.length, other.length); i++) {
    if (same[i]) out.push(same[i] as Address);
    if (other[i]) out.push(other[i] as Address);
  }
  return out;
}

/** Node's errors for a failed connect: one attempt's, or all of happy eyeballs' together. */
function isConnectFailure(error: unknown): boolean {
  const e = error as { syscall?: string; code?: string; errors?: unknown[] } | undefined;
  if (e?.syscall === 'connect' || e?.code === 'ERR_SOCKET_CONNECTION_TIMEOUT') return true;
  return Array.isArray(e?.errors) && e.errors.length > 0 && e.errors.every(isConnectFailure);
}

/** The 'lookup' event of an attempt made inside the program's connect(), a tick later. */
function lookupLater(service: ServiceConnect, address: Address): void {
  if (!service.gone) service.lookup(address);
}

/** Node's process object, taken once: the global `process` is a getter (Node 20 to 26), which
 * each use calls. */
const nodeProcess = process;

/** Whether a warm attempt's 'lookup' event rides on Node's tick (connectAfterLookup()): from
 * Node 24 on, where it takes 8 K instructions off a warm connect (Node 26: 5 K). On Node 20 it
 * changed nothing, and on Node 22 it cost 4–10 K more (bench/README.md, the thirty-fifth pass):
 * there the event keeps a tick of its own. */
export const RIDES_NODES_TICK = Number(nodeProcess.versions.node.split('.')[0]) >= 24;

/** The warm attempt whose 'lookup' event rides on the tick Node's connect is making
 * (connectAfterLookup()), and process.nextTick as it was before (Node's, or a program's
 * wrapper of it). */
let riding: ServiceConnect | undefined;
let ridingAddress: Address | undefined;
let ridingTick: typeof process.nextTick = nodeProcess.nextTick;

/**
 * Node's connect of `service`'s socket to an address (`args`), with the 'lookup' event of
 * `address` in the tick before its connection attempt. Node's connect to an address makes its
 * attempt in a tick (`process.nextTick`, read at the call, Node 20 to 26), and its connect to a
 * name emits 'lookup' just before its attempt. A tick of svcdisc's own for the event cost a warm
 * connect about 8 K of its 92 K instructions on Node 24 (Node's tick object is a literal with
 * computed keys there), so, while Node's connect runs, process.nextTick is one that puts the
 * one it replaced back at its first call and schedules through it the event, then Node's
 * callback: one tick, Node's. Where Node's connect takes no tick (an adopted net.BoundSocket
 * connects in the call) or throws, the function is put back after the call, and the event gets
 * a tick of its own. Before Node 24, where process.nextTick cannot be replaced, or inside
 * another ride (a warm connect made from an async hook while Node's connect of another runs:
 * its event then goes in the other's tick), the event takes a tick of its own first.
 */
function connectAfterLookup(service: ServiceConnect, address: Address, args: Normalized): void {
  const tick = nodeProcess.nextTick;
  if (!RIDES_NODES_TICK || tick === nextTickAfterLookup || !replaceNextTick()) {
    tick.call(nodeProcess, lookupLater, service, address);
    service.original.call(service.socket, args);
    return;
  }
  ridingTick = tick;
  riding = service;
  ridingAddress = address;
  try {
    service.original.call(service.socket, args);
  } finally {
    // Still riding: Node's connect asked for no tick, or threw (the event then finds the
    // connect gone).
    if (riding === service) endRide().call(nodeProcess, lookupLater, service, address);
  }
}

/** Ends the ride of connectAfterLookup(): process.nextTick put back, which it returns. */
function endRide(): typeof process.nextTick {
  const tick = ridingTick;
  nodeProcess.nextTick = tick;
  riding = ridingAddress = undefined;
  return tick;
}

/** Whether process.nextTick is now nextTickAfterLookup (a program may have made it read-only). */
function replaceNextTick(): boolean {
  try {
    nodeProcess.nextTick = nextTickAfterLookup;
  } catch {}
  return nodeProcess.nextTick === nextTickAfterLookup;
}

/** process.nextTick during Node's connect in connectAfterLookup(), for its first call. */
function nextTickAfterLookup(callback: () => void, ...args: unknown[]): void {
  const service = riding as ServiceConnect;
  const address = ridingAddress as Address;
  const tick = endRide();
  if (typeof callback === 'function' && args.length === 0) {
    // Three arguments at most: Node's tick takes up to three in an array literal, more through
    // `arguments`.
    tick.call(nodeProcess, lookupThen, service, address, callback);
  } else {
    // Not Node's attempt: the event on a tick of its own, then the call as it was made (a
    // callback that is not a function gets Node's error).
    tick.call(nodeProcess, lookupLater, service, address);
    (tick as (...all: unknown[]) => void).call(nodeProcess, callback, ...args);
  }
}

/** The tick of a warm attempt: its 'lookup' event, then what Node's connect scheduled (its
 * attempt), which runs even where a 'lookup' listener throws, as it did in a tick of its own. */
function lookupThen(service: ServiceConnect, address: Address, callback: () => void): void {
  try {
    lookupLater(service, address);
  } finally {
    callback();
  }
}

/** Where an intercepted socket's destroy() finds its connect (ServiceConnect.destroy). */
const CONNECT = Symbol('svcdisc.connect');

/** The lists of a connect not yet ordered: one, never changed. */
const NONE: readonly never[] = Object.freeze([]);

/** Every new connection to a service runs one of these, so it is kept lean: an attempt's
 * timeout is a deadline (./deadlines.ts), not a timer of its own, and neither a warm connect's
 * deferred 'lookup' nor its hooks on the socket (destroy(), the 'connect' listener) take a
 * closure. */
class ServiceConnect extends Expiring {
  // Plain properties, each assigned once in the constructor: private fields (`#`) and class
  // field initialisers define each property through an IC of their own, which cost a warm
  // connect about 1.3 K instructions on Node 24 (bench/README.md, the forty-third pass).
  // Nothing outside this module reaches a ServiceConnect: it is found only under a symbol of
  // this module (CONNECT).
  declare readonly socket: Socket;
  /** Node's own connect. */
  declare readonly original: ConnectFn;
  declare readonly context: ConnectContext;
  declare readonly name: string;
  /** The resolver's key of the name at the program's port (SVCDISC_SRV_NAME per port). */
  declare readonly key: string;
  declare readonly options: Normalized[0];
  /** The endpoint of the pool the connection is for: tried first. */
  declare readonly preferred: Endpoint | undefined;
  /** Made for an agent's request that had no endpoint's pool (connectToService()). */
  declare readonly cold: boolean;
  declare private endpoints: readonly Endpoint[];
  /** The endpoint and the address of it being tried: their indexes. */
  declare private endpointAt: number;
  declare private addresses: readonly Address[];
  declare private addressAt: number;
  /** The attempts that failed, made at the first (most connects have none). */
  declare private tried: string[] | undefined;
  /** The socket's own destroy while this connect hooks it. */
  declare private inherited: Socket['destroy'] | undefined;
  /** Connected, failed, or refused by Node's connect(): the socket is the program's again. */
  declare private over: boolean;
  /** Whether ServiceConnect.connected listens for 'connect'. */
  declare private listening: boolean;

  constructor(
    socket: Socket,
    original: ConnectFn,
    context: ConnectContext,
    name: string,
    key: string,
    options: Normalized[0],
    preferred: Endpoint | undefined,
    cold: boolean,
  ) {
    super();
    this.socket = socket;
    this.original = original;
    this.context = context;
    this.name = name;
    this.key = key;
    this.options = options;
    this.preferred = preferred;
    this.cold = cold;
    this.endpoints = NONE;
    this.endpointAt = -1;
    this.addresses = NONE;
    this.addressAt = 0;
    this.tried = undefined;
    this.inherited = undefined;
    this.over = false;
    this.listening = false;
  }

  /** A cold cache: the socket is prepared; connect once the SRV answer is there. */
  start(): void {
    const resolver = this.context.resolver();
    resolver.resolve(this.key).then(
      (resolution) => {
        if (this.gone) return;
        try {
          this.order(resolver, resolution);
          this.attempt(false);
        } catch (error) {
          this.fail(error as Error);
        }
      },
      (error: Error) => this.fail(error),
    );
  }

  /** A warm cache: the first attempt now, in the program's connect() call, as Node's own
   * connect to an address is (its events come later). */
  startWarm(resolution: Resolution, callback: Normalized[1]): void {
    try {
      this.order(this.context.resolver(), resolution);
    } catch (error) {
      // Never out of the program's connect(): the socket's 'error', as for any failure.
      if (callback) this.socket.once('connect', callback);
      this.fail(error as Error);
      return;
    }
    try {
      this.attempt(true, callback);
    } catch (error) {
      // Node's connect refused the program's options (a bad localAddress): thrown from
      // connect(), as Node does; no 'lookup' event follows.
      this.finish();
      throw error;
    }
  }

  /** The program destroyed the socket (or gave up its connect) meanwhile, or this connect is
   * over. */
  get gone(): boolean {
    return this.over || this.socket.destroyed || !this.socket.connecting;
  }

  private order(resolver: Resolver, resolution: Resolution): void {
    const { endpoints } = resolution;
    // One endpoint has one order (the resolver's list, frozen, is not copied).
    const ordered =
      endpoints.length === 1
        ? endpoints
        : this.context.health.preferHealthy(resolver.order(endpoints), endpointKey);
    const { preferred } = this;
    this.endpoints = preferred
      ? [preferred, ...ordered.filter((e) => endpointKey(e) !== endpointKey(preferred))]
      : ordered;
    this.interceptDestroy();
    // Only to clear an ejected endpoint's record: a listener of svcdisc's beside the program's
    // makes Node's 'connect' event a list to copy, which cost a warm connect 1–1.5 % (bench/
    // README.md, the seventeenth pass). Not prependOnceListener: its wrapper is two more
    // objects a connect; finish() removes this.
    if (this.context.health.size > 0) {
      this.listening = true;
      this.socket.prependListener('connect', ServiceConnect.connected);
    }
    this.nextEndpoint();
  }

  private nextEndpoint(): boolean {
    const endpoint = this.endpoints[++this.endpointAt];
    if (!endpoint) return false;
    this.addresses = interleave(endpoint.addresses);
    this.addressAt = 0;
    return true;
  }

  /** Node's 'lookup' event for `address`. */
  lookup(address: Address): void {
    this.socket.emit('lookup', null, address.address, address.family, this.name);
  }

  /** One attempt; `now` when called inside the program's connect(), where 'lookup' must wait
   * for the next tick (Node's own connect to that address comes after it). */
  private attempt(now: boolean, callback: Normalized[1] = null): void {
    const endpoint = this.endpoints[this.endpointAt] as Endpoint;
    const address = this.addresses[this.addressAt] as Address;
    const port = this.portOf(endpoint);
    connecting(ServiceConnect.connectMessage, this);
    this.context.deadlines.set(this, this.timeout());
    // What Node's connect does after a lookup, done here: the 'lookup' event, then a connect by
    // address (Node skips the lookup for an IP) with `_host` the service name.
    const next = tagNormalized([addressOptions(this.options, address.address, port), callback]);
    if (now) connectAfterLookup(this, address, next);
    else {
      this.lookup(address);
      if (this.gone) return;
      this.original.call(this.socket, next);
    }
    this.socket._host = this.name;
    // Where the socket goes, for the pools: known now (this attempt's, until a failover makes
    // another); Node's connect to an address is under way, a tick later.
    if (this.recorded())
      this.context.pools.connecting(
        this.socket,
        this.key,
        endpoint,
        address.address,
        this.preferred,
        this.cold,
      );
  }

  /** The 'connect' event's message for the attempt being made (not a closure: events.ts). */
  private static connectMessage(service: ServiceConnect): ConnectMessage {
    const endpoint = service.endpoints[service.endpointAt] as Endpoint;
    return {
      name: service.name,
      target: endpoint.target,
      port: service.portOf(endpoint),
      attempt: service.endpointAt + 1,
    };
  }

  /** Like Node's happy eyeballs, an address gets a short turn while other addresses of the
   * same endpoint remain; the last one has the whole connect timeout. */
  private timeout(): number {
    const { connectTimeoutMs } = this.context;
    if (this.addressAt >= this.addresses.length - 1 || this.options.autoSelectFamily === false)
      return connectTimeoutMs;
    const turn = Number(
      this.options.autoSelectFamilyAttemptTimeout ?? net.getDefaultAutoSelectFamilyAttemptTimeout(),
    );
    return Math.min(connectTimeoutMs, turn);
  }

  /** A connect that ended without finish() (connected: nothing listens for that) needs its
   * deadline no more, and lets go of the socket when the deadlines' timer finds it. */
  settle(): boolean {
    if (!this.gone) return false;
    this.finish();
    return true;
  }

  /** The attempt's deadline (./deadlines.ts): the next address or endpoint is tried. */
  expire(): void {
    if (this.gone) return;
    const endpoint = this.endpoints[this.endpointAt] as Endpoint;
    const address = this.addresses[this.addressAt] as Address;
    const error = new ConnectTimeoutError(address.address, this.portOf(endpoint), this.timeout());
    try {
      this.attemptFailed(error);
    } catch (thrown) {
      // Never out of the timer: the connect fails with what went wrong.
      this.fail(thrown as Error);
    }
  }

  /** Node ends a failed connect with destroy(error): until this connect is done, the socket's
   * destroy() gives connect errors to it first (to try the next endpoint); anything else, and
   * every call after, goes to the inherited destroy. Only intercepted sockets get this. It
   * stays after the socket connects, until its first destroy() or the deadlines' timer finds
   * the connect settled (no 'connect' listener takes it off): a connect error given to
   * destroy() then is the program's (a proxy passing on another socket's), and the socket's
   * peer address, which only a connected socket has, tells the two apart. The hook is one
   * function for every socket (ServiceConnect.destroy), which finds this connect on the
   * socket: a closure per socket kept each connection's objects alive through V8's young
   * generation collections on Node 20 to 26, and promoted them (bench/README.md, the fortieth
   * pass). */
  private interceptDestroy(): void {
    const socket = this.socket;
    // A connect of this socket still hooked (a reconnect before its first ended): superseded.
    const previous = socket[CONNECT] as ServiceConnect | undefined;
    if (previous !== undefined) previous.finish();
    this.inherited = socket.destroy;
    socket[CONNECT] = this;
    socket.destroy = ServiceConnect.destroy as Socket['destroy'];
  }

  /** An intercepted socket's destroy() (interceptDestroy()): one function for every socket. */
  private static readonly destroy = function destroy(
    this: Socket,
    error?: Error,
    ...rest: unknown[]
  ): net.Socket {
    // Set with `inherited` and cleared with it (interceptDestroy(), finish()).
    const service = this[CONNECT] as ServiceConnect | undefined;
    if (service === undefined) {
      // Called through a reference taken while it was hooked: the socket's own destroy now.
      const own = this.destroy === destroy ? net.Socket.prototype.destroy : this.destroy;
      return (own as (...args: unknown[]) => net.Socket).call(this, error, ...rest);
    }
    if (error && isConnectFailure(error) && this.remoteAddress === undefined) {
      service.attemptFailed(error);
      return this;
    }
    const inherited = service.inherited as (...args: unknown[]) => net.Socket;
    service.finish();
    return inherited.call(this, error, ...rest);
  };

  /** The SRV port; for the RFC 2782 fallback (port 0), the port the program asked for. */
  private portOf(endpoint: Endpoint): number {
    return endpoint.port || Number(this.options.port);
  }

  private attemptFailed(error: Error): void {
    this.context.deadlines.delete(this);
    const endpoint = this.endpoints[this.endpointAt] as Endpoint;
    const { target } = endpoint;
    const port = this.portOf(endpoint);
    // Every attempt that ends here failed: the list is what the final error reports, and, as
    // Node's own happy eyeballs does, the socket's record of this connect's attempts (undici
    // shows it in its errors).
    if (this.tried === undefined) {
      this.tried = [];
      Object.assign(this.socket, { autoSelectFamilyAttemptedAddresses: this.tried });
    }
    this.tried.push(hostPort((this.addresses[this.addressAt] as Address).address, port));
    const sameEndpoint = ++this.addressAt < this.addresses.length;
    if (!sameEndpoint) {
      const coolDownMs = this.context.health.eject(endpointKey(endpoint));
      ejected(() => ({ name: this.name, target, port, coolDownMs }));
    }
    if ((!sameEndpoint && !this.nextEndpoint()) || !freshHandle(this.socket)) {
      this.fail(new ServiceConnectError(error, [...this.tried], this.name));
      return;
    }
    failedOver(() => ({ name: this.name, target, port, attempt: this.endpointAt + 1, error }));
    this.socket.connecting = true;
    this.attempt(false);
  }

  /** Added while an endpoint has a failure on record: one success clears it. One function for
   * every socket, as destroy is, which finds its connect on the socket (set before it is
   * added; finish() clears it and removes this). */
  private static readonly connected = function connected(this: Socket): void {
    const service = this[CONNECT] as ServiceConnect | undefined;
    // A listener called before this one in the same 'connect' event ended the connect (a
    // destroy()): Node calls a copy of the list, so this one still runs.
    if (service === undefined) return;
    service.finish();
    const endpoint = service.endpoints[service.endpointAt];
    if (endpoint) service.context.health.restore(endpointKey(endpoint));
  };

  /** Whether the pools (pools.ts) need to know where the socket went: connected for a pool, or
   * with the options of an http.Agent that keeps sockets alive (its createSocket puts
   * `_agentKey` on them, and the agent's own options, `keepAlive` among them), which the agent
   * may pool. The record costs a connection about 0.6 µs (a WeakMap entry), and the garbage
   * collector more; a net.connect, an `agent: false` request, a database driver's or gRPC's
   * connection never needs it. */
  private recorded(): boolean {
    if (this.preferred !== undefined) return true;
    const options =
      this.options._agentKey !== undefined ? this.options : tlsConnectOptions(this.socket);
    return options?._agentKey !== undefined && Boolean(options.keepAlive);
  }

  /** Stops intercepting: the socket is the program's again. */
  private finish(): void {
    this.over = true;
    this.context.deadlines.delete(this);
    if (this.inherited) {
      // Assigned back rather than deleted: deleting would leave the socket in slow mode.
      this.socket.destroy = this.inherited;
      this.socket[CONNECT] = undefined;
      this.inherited = undefined;
    }
    if (this.listening) {
      this.listening = false;
      this.socket.off('connect', ServiceConnect.connected);
    }
  }

  /** Ends the connection with an error, through the socket's own destroy. */
  private fail(error: Error): void {
    this.finish();
    if (!this.socket.destroyed) this.socket.destroy(error);
  }
}
