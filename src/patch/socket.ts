// The Node internals the connect patch relies on (docs/node-internals.md), in one place. Where
// this Node lacks one, what depends on it is given up (never the connection itself) and one
// process warning says so, once.
// Not `import * as net`: the bundler would copy every export of the module when it loads.
import net = require('node:net');

export type ConnectFn = (this: net.Socket, ...args: unknown[]) => net.Socket;
export type Normalized = [Record<string, unknown>, ((...args: unknown[]) => void) | null];

const warned = new Set<string>();

/** One process warning (code SVCDISC_NODE_INTERNALS) per missing internal, at its first use. */
function missing(internal: string, consequence: string): void {
  if (warned.has(internal)) return;
  warned.add(internal);
  process.emitWarning(
    `svcdisc: this Node (${process.version}) lacks ${internal}: ${consequence}. Please report it with the Node version.`,
    { code: 'SVCDISC_NODE_INTERNALS' },
  );
}

/** net's argument normaliser: what every connect() runs on its arguments. */
const nodeNormalizeArgs = (net as unknown as { _normalizeArgs(args: unknown[]): Normalized })
  ._normalizeArgs;
/** The symbol that marks an argument array as already normalised (net.connect() passes such
 * arrays), null where this Node has none. Looked up at the first connect, not at start-up:
 * the first call of net's normaliser costs about 0.12 ms, which a connect pays anyway. */
let normalizedTag: symbol | null | undefined;
function normalizedSymbol(): symbol | null {
  if (normalizedTag === undefined) {
    normalizedTag =
      Object.getOwnPropertySymbols(nodeNormalizeArgs([])).find(
        (s) => s.description === 'normalizedArgs',
      ) ?? null;
  }
  return normalizedTag;
}

/** connect()'s arguments as Node normalises them; an array net.connect() normalised already
 * is taken as it is. */
export function normalizeArgs(args: unknown[]): Normalized {
  const first = args[0] as Record<symbol, unknown> | undefined;
  if (Array.isArray(first)) {
    const tag = normalizedSymbol();
    if (tag && first[tag]) return first as unknown as Normalized;
  }
  return nodeNormalizeArgs(args);
}

/** An argument list Node's connect takes as it is, without normalising it again. */
export function tagNormalized(args: Normalized): Normalized {
  const tag = normalizedSymbol();
  if (tag) (args as unknown as Record<symbol, boolean>)[tag] = true;
  else missing('net normalizedArgs', 'connect options are normalised twice');
  return args;
}

/**
 * The options of a connect to `host`:`port`, an IP address, taken from the program's `options`:
 * the ones Node's connect() reads for an address, all of them inside the call (Node 20–24;
 * test/internals.test.ts checks the list against this Node's connect). Not a copy of every
 * key: http.Agent makes its connections' options with a null prototype, which V8 keeps as a
 * dictionary, and a spread of one took 4–9 µs of a new HTTP connection (CPU profiles, Node
 * 20, 22 and 24; docs/node-internals.md). Read as Node reads them, through the prototype
 * chain.
 */
export function addressOptions(options: Normalized[0], host: string, port: number): Normalized[0] {
  return {
    path: options.path,
    localAddress: options.localAddress,
    localPort: options.localPort,
    autoSelectFamily: options.autoSelectFamily,
    autoSelectFamilyAttemptTimeout: options.autoSelectFamilyAttemptTimeout,
    host,
    port,
  };
}

type HandleClass = new (type: number) => Handle;
interface Handle {
  constructor: HandleClass;
  /** On a TLSWrap: the TCP handle it wraps. */
  _parent?: Handle;
  getsockname(out: Partial<BoundAddress>): number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  [key: symbol]: unknown;
}
interface BoundAddress {
  address: string;
  family: string;
  port: number;
}

export interface SocketInternals {
  connecting: boolean;
  destroyed: boolean;
  _handle: Handle | null;
  /** The name connected to: TLS checks a certificate against it (tls.connect({ socket })). */
  _host: string | null;
  /** The socket a TLSSocket wraps. */
  _parent?: { connecting?: boolean } | null;
  [key: symbol]: unknown;
}
export type Socket = net.Socket & SocketInternals;

/** Replaces a socket's handle with a fresh one (TLSSocket re-wraps it for TLS): what Node's
 * happy eyeballs does between attempts. */
const REINITIALIZE = Object.getOwnPropertySymbols(net.Socket.prototype).find(
  (s) => s.description === 'kReinitializeHandle',
);
/** uv_tcp_t type of a client socket (TCPConstants.SOCKET). */
const TCP_SOCKET = 0;
/** Where a handle's callbacks find their socket (internal/async_hooks owner_symbol). */
let OWNER: symbol | undefined;
/** The owner given to a handle whose connect was abandoned: net's afterConnect() takes it for
 * a destroyed socket and ignores the late ECANCELED, which can come after the next attempt
 * has connected. */
const ABANDONED = Object.freeze({ destroyed: true });

/** Marks a socket made on a `net.BoundSocket` (Node 24.22, lib/net.js kBoundSource): its
 * handle was bound to a local address before any connect. */
let BOUND_SOURCE: symbol | undefined;

/** The local address a socket made on a `net.BoundSocket` was bound to, if it was. */
function boundAddress(socket: Socket, handle: Handle): BoundAddress | undefined {
  BOUND_SOURCE ??= Object.getOwnPropertySymbols(socket).find(
    (s) => s.description === 'kBoundSource',
  );
  if (!BOUND_SOURCE || !socket[BOUND_SOURCE]) return undefined;
  const out: Partial<BoundAddress> = {};
  return handle.getsockname(out) === 0 ? (out as BoundAddress) : undefined;
}

/**
 * Swaps the socket's handle for a new TCP handle; the old one is closed and a connect pending
 * on it cancelled. A socket made on a `net.BoundSocket` gets the new handle bound to the same
 * local address and port (Node makes one attempt on such a socket: it cannot bind again; the
 * old handle, never connected, leaves the port free when closed). Returns false where this
 * Node lacks the internals it needs, or the address cannot be bound again.
 */
export function freshHandle(socket: Socket): boolean {
  const tcp = socket._handle?._parent ?? socket._handle;
  if (!tcp) return false;
  OWNER ??= Object.getOwnPropertySymbols(tcp).find((s) => s.description === 'owner_symbol');
  if (!REINITIALIZE || !OWNER) {
    const internal = REINITIALIZE ? 'the handle owner_symbol' : 'Socket kReinitializeHandle';
    missing(internal, 'a failed connect is not retried at the next SRV endpoint');
    return false;
  }
  const bound = boundAddress(socket, tcp);
  tcp[OWNER] = ABANDONED;
  const fresh = new tcp.constructor(TCP_SOCKET);
  // TLSSocket wraps a handle it is given without claiming it; afterConnect needs the owner.
  fresh[OWNER] = socket;
  (socket[REINITIALIZE] as (handle: Handle) => void)(fresh);
  if (!bound) return true;
  const { address, port } = bound;
  return (
    (bound.family === 'IPv6' ? fresh.bind6(address, port, 0) : fresh.bind(address, port)) === 0
  );
}

/** Where tls.connect keeps its whole options on the TLSSocket (lib/_tls_wrap.js
 * kConnectOptions): the socket's own connect() gets only host, port and a few more. */
let CONNECT_OPTIONS: symbol | undefined;

/** The options tls.connect() was called with, for a TLS socket it made. */
export function tlsConnectOptions(socket: Socket): Record<PropertyKey, unknown> | undefined {
  if (!(socket as { encrypted?: boolean }).encrypted) return undefined;
  CONNECT_OPTIONS ??= Object.getOwnPropertySymbols(socket).find(
    (s) => s.description === 'connect-options',
  );
  if (!CONNECT_OPTIONS) {
    missing('TLSSocket kConnectOptions', "https connections ignore the pool's choice of endpoint");
    return undefined;
  }
  return socket[CONNECT_OPTIONS] as Record<PropertyKey, unknown> | undefined;
}
