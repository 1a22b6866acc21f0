// The Node internals the connect patch relies on (docs/node-internals.md), in one place.
import * as net from 'node:net';

export type ConnectFn = (this: net.Socket, ...args: unknown[]) => net.Socket;
export type Normalized = [Record<string, unknown>, ((...args: unknown[]) => void) | null];

type HandleClass = new (type: number) => Handle;
interface Handle {
  constructor: HandleClass;
  /** On a TLSWrap: the TCP handle it wraps. */
  _parent?: Handle;
  [key: symbol]: unknown;
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

/**
 * Swaps the socket's handle for a new TCP handle; the old one is closed and a connect pending
 * on it cancelled. Returns false where this Node lacks the internals it needs.
 */
export function freshHandle(socket: Socket): boolean {
  const tcp = socket._handle?._parent ?? socket._handle;
  if (!tcp || !REINITIALIZE) return false;
  OWNER ??= Object.getOwnPropertySymbols(tcp).find((s) => s.description === 'owner_symbol');
  if (!OWNER) return false;
  tcp[OWNER] = ABANDONED;
  const fresh = new tcp.constructor(TCP_SOCKET);
  // TLSSocket wraps a handle it is given without claiming it; afterConnect needs the owner.
  fresh[OWNER] = socket;
  (socket[REINITIALIZE] as (handle: Handle) => void)(fresh);
  return true;
}

/** Where tls.connect keeps its whole options on the TLSSocket (lib/_tls_wrap.js
 * kConnectOptions): the socket's own connect() gets only host, port and a few more. */
let CONNECT_OPTIONS: symbol | undefined;

/** The options tls.connect() was called with, for a TLS socket it made. */
export function tlsConnectOptions(socket: Socket): Record<symbol, unknown> | undefined {
  if (!(socket as { encrypted?: boolean }).encrypted) return undefined;
  CONNECT_OPTIONS ??= Object.getOwnPropertySymbols(socket).find(
    (s) => s.description === 'connect-options',
  );
  return CONNECT_OPTIONS && (socket[CONNECT_OPTIONS] as Record<symbol, unknown> | undefined);
}
