// One query to one server over UDP (a socket shared by the queries to that server) or TCP (a
// connection per query): a fresh random ID, a deadline.
import { createSocket, type Socket } from 'node:dgram';
import { closeSync, openSync, readSync } from 'node:fs';
import { connect } from 'node:net';
import { monotonicMs } from '../clock.js';
import { lengthPrefixed, messageReader } from './framing.js';
import { buildQuery, checkReply, type Question } from './message.js';
import type { Nameserver } from './names.js';
import type { Reply } from './packet.js';

export type Outcome =
  | { kind: 'reply'; message: Reply }
  | { kind: 'truncated' }
  | { kind: 'timeout' }
  | { kind: 'malformed'; why: string }
  | { kind: 'failed'; error: NodeJS.ErrnoException };

/** Called for each datagram or frame that is not the reply (wrong source, ID or question). */
export type OnIgnored = (why: string) => void;

export interface Exchange {
  server: Nameserver;
  question: Question;
  timeoutMs: number;
  onIgnored: OnIgnored;
}

/** Runs `start` with a `finish` that settles once, after the deadline at the latest. */
function withDeadline<T>(
  timeoutMs: number,
  start: (finish: (outcome: T) => void) => () => void,
  onTimeout: () => T,
  onError: (error: NodeJS.ErrnoException) => T,
): Promise<T> {
  return new Promise((resolve) => {
    let cleanup = () => {};
    let settled = false;
    const finish = (outcome: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cleanup();
      resolve(outcome);
    };
    // The socket keeps the event loop alive while the query is pending; the timer needn't.
    const timer = setTimeout(() => finish(onTimeout()), timeoutMs).unref();
    try {
      cleanup = start(finish);
    } catch (error) {
      finish(onError(error as NodeJS.ErrnoException));
    }
  });
}

const failed = (error: NodeJS.ErrnoException): Outcome => ({ kind: 'failed', error });

/** Fills `buffer` from the system's CSPRNG: /dev/urandom, read with fs, which every program
 * has loaded; node:crypto (3.5 ms to load in a program that has not) where there is none. */
function fillRandom(buffer: Buffer): void {
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      if (readSync(fd, buffer, 0, buffer.length, null) === buffer.length) return;
    } finally {
      closeSync(fd);
    }
  } catch {
    // No /dev/urandom (Windows): crypto below.
  }
  (require('node:crypto') as typeof import('node:crypto')).randomFillSync(buffer);
}

/** Query IDs (RFC 5452: unpredictable), drawn from a buffer of random bytes refilled every
 * 1024 queries. */
const ids = Buffer.alloc(2048);
let nextId = ids.length;
export function randomId(): number {
  if (nextId === ids.length) {
    fillRandom(ids);
    nextId = 0;
  }
  const id = ids.readUInt16BE(nextId);
  nextId += 2;
  return id;
}

function judge(bytes: Buffer, id: number, exchange: Exchange): Outcome | undefined {
  const check = checkReply(bytes, id, exchange.question);
  if (check.kind === 'ignored') {
    exchange.onIgnored(check.why);
    return undefined;
  }
  if (check.kind === 'malformed') return { kind: 'malformed', why: check.why };
  // A truncated answer is never used (RFC 2181 9): the caller retries over TCP.
  if (check.message.flag_tc) return { kind: 'truncated' };
  return { kind: 'reply', message: check.message };
}

/** A UDP socket replaced after this many queries... */
const SOCKET_QUERIES = 100;
/** ... or this long, ms: the source port keeps changing (RFC 5452). */
const SOCKET_MS = 10_000;
/** ... or when no query used it for this long, ms. */
const IDLE_MS = 1000;

interface Waiter {
  /** A datagram from the server with this waiter's ID. */
  onDatagram(bytes: Buffer): void;
  onError(error: NodeJS.ErrnoException): void;
  onIgnored: OnIgnored;
}

/** dgram's `connectSync(port, address)`, where this Node has it (Node 24.22 and 26.12 here; not
 * 20.20 or 22.23): it binds the socket and connects it in the call, on a port the kernel
 * chooses as `connect()`'s own bind does. `connect()` binds through `bind()`, which loads
 * Node's `cluster` module, and `child_process` with it, to ask whether the process is a cluster
 * worker (0.5–0.6 ms of a process's first query), and the first datagram waits for its
 * callbacks. */
interface SyncConnect extends Socket {
  connectSync?(port: number, address: string): void;
}

/** Node's UDP handle, as dgram's `bind()` takes one (the way a cluster worker is given its
 * primary's): `bind`/`bind6` return 0 or a negative errno. */
interface UdpHandle {
  bind(address: string, port: number, flags: number): number;
  bind6(address: string, port: number, flags: number): number;
  connect: unknown;
  connect6: unknown;
  close(): void;
}

/** Node's internal UDP handle class: that of the handle dgram keeps in `socket`'s state, under
 * a symbol described 'state symbol' (Node 20 to 26); undefined where it is not there. */
export function udpHandleClass(socket: Socket): (new () => UdpHandle) | undefined {
  const key = Object.getOwnPropertySymbols(socket).find(
    (symbol) => symbol.description === 'state symbol',
  );
  const state = key && (socket as unknown as Record<symbol, { handle?: object } | undefined>)[key];
  const Udp = state?.handle?.constructor;
  return typeof Udp === 'function' ? (Udp as new () => UdpHandle) : undefined;
}

/**
 * Where dgram has no `connectSync()` (Node 20 and 22): binds `socket` as `connect()`'s own bind
 * would (any address, a port the kernel chooses, no flags) without `bind()`'s path that loads
 * `cluster` — a handle of Node's UDP class (udpHandleClass()), bound here and given to
 * `bind()`, which takes it as it takes a cluster worker's (0.6–0.8 ms off a process's first
 * query on Node 20 and 22: bench/README.md, the thirty-fourth pass). Where there is no such
 * class or the handle does not bind, nothing is done: `connect()` binds as it did. `bind()`
 * replaces the socket's handle with this one, keeping the socket's lookup, bind and send but
 * not connect: an IPv6 one gets its own here, as dgram gives a udp6 socket's handle.
 */
function bindWithoutCluster(socket: Socket, family: 4 | 6): void {
  let handle: UdpHandle;
  try {
    const Udp = udpHandleClass(socket);
    if (!Udp) return;
    handle = new Udp();
    if (family === 6) handle.connect = handle.connect6;
    if ((family === 6 ? handle.bind6('::', 0, 0) : handle.bind('0.0.0.0', 0, 0)) !== 0) {
      handle.close();
      return;
    }
  } catch {
    return;
  }
  // Outside the try: a socket that bind() left half bound is no channel; the throw fails the
  // query that made it.
  socket.bind(handle as never);
}

/** A UDP socket connected to one server, on a port the kernel chose at random, shared by the
 * queries to that server: each has an ID of its own on it, and a datagram goes to the query
 * of its ID (which checks it against its question). Connected, so the kernel drops datagrams
 * from any other address or port and reports a closed port (ICMP) as ECONNREFUSED. Creating
 * a socket per query cost about 50 µs; this one is replaced after SOCKET_QUERIES queries or
 * SOCKET_MS, or IDLE_MS after its last query (by the next query: no timer; an idle socket
 * waits unreferenced, one per server, as c-ares keeps its own). It keeps the event loop alive
 * only while a query waits. */
class UdpChannel {
  readonly #socket: Socket;
  readonly #waiters = new Map<number, Waiter>();
  /** IDs of queries over (answered, timed out): a late reply to one is dropped unseen, as a
   * socket of its own, closed by then, would have dropped it; never used again here. */
  readonly #ended = new Set<number>();
  readonly #born = monotonicMs();
  #queries = 0;
  #connected = false;
  #queued: [Buffer, (error: NodeJS.ErrnoException) => void][] = [];
  #retired = false;
  #closed = false;
  /** When its last query ended, ms (monotonicMs()). */
  #lastUsed = monotonicMs();

  constructor(
    readonly server: Nameserver,
    readonly onClose: (channel: UdpChannel) => void,
  ) {
    this.#socket = createSocket(server.family === 6 ? 'udp6' : 'udp4');
    this.#socket.on('error', (error) => this.#fail(error));
    this.#socket.on('message', (bytes, from) => this.#receive(bytes, from));
    // A server the host has no route to (ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL…) fails the
    // connect: every query waiting on the socket fails with it.
    const socket = this.#socket as SyncConnect;
    if (!socket.connectSync) {
      bindWithoutCluster(socket, server.family);
      socket.connect(server.port, server.address, (error?: Error) => this.#onConnect(error));
      return;
    }
    try {
      socket.connectSync(server.port, server.address);
    } catch (error) {
      // As connect() reports it: after the queries that made the socket were added.
      process.nextTick(() => this.#onConnect(error as Error));
      return;
    }
    this.#onConnect();
  }

  /** The socket's connect is over: the queries queued meanwhile go, or fail with `error`. */
  #onConnect(error?: Error): void {
    if (error) {
      this.#fail(error);
      return;
    }
    this.#connected = true;
    for (const [message, onError] of this.#queued.splice(0)) this.#send(message, onError);
  }

  /** Whether it takes no more queries. */
  get spent(): boolean {
    const now = monotonicMs();
    return (
      this.#closed ||
      this.#queries >= SOCKET_QUERIES ||
      now - this.#born > SOCKET_MS ||
      (this.#waiters.size === 0 && now - this.#lastUsed > IDLE_MS)
    );
  }

  /** Sends `build(id)` for a new query with an ID unused on this socket; returns the ID. */
  add(waiter: Waiter, build: (id: number) => Buffer): number {
    let id = randomId();
    while (this.#waiters.has(id) || this.#ended.has(id)) id = randomId();
    // Built before the query waits: a name that cannot be encoded throws with nothing held.
    const message = build(id);
    this.#waiters.set(id, waiter);
    this.#queries++;
    if (this.#waiters.size === 1) this.#socket.ref();
    if (this.#connected) this.#send(message, waiter.onError);
    else this.#queued.push([message, waiter.onError]);
    return id;
  }

  /** The query of `id` is over. */
  remove(id: number): void {
    if (!this.#waiters.delete(id)) return;
    this.#ended.add(id);
    if (this.#waiters.size > 0 || this.#closed) return;
    this.#lastUsed = monotonicMs();
    if (this.#retired) this.#close();
    else this.#socket.unref();
  }

  /** Takes no more queries; closed when those waiting are over. */
  retire(): void {
    this.#retired = true;
    if (this.#waiters.size === 0) this.#close();
  }

  #send(message: Buffer, onError: (error: NodeJS.ErrnoException) => void): void {
    this.#socket.send(message, (error) => {
      if (error) onError(error);
    });
  }

  #receive(bytes: Buffer, from: { address: string; port: number }): void {
    if (from.address !== this.server.address || from.port !== this.server.port) {
      this.#ignored('wrong source');
      return;
    }
    const id = bytes.length >= 2 ? bytes.readUInt16BE(0) : -1;
    const waiter = this.#waiters.get(id);
    if (waiter) waiter.onDatagram(bytes);
    else if (!this.#ended.has(id)) this.#ignored(id >= 0 ? 'wrong ID' : 'too short');
  }

  /** A datagram no query waits for: counted by the oldest query waiting, if any. */
  #ignored(why: string): void {
    this.#waiters.values().next().value?.onIgnored(why);
  }

  #fail(error: NodeJS.ErrnoException): void {
    const waiters = [...this.#waiters.values()];
    this.#close();
    for (const waiter of waiters) waiter.onError(error);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onClose(this);
    try {
      this.#socket.close();
    } catch {
      // Already closed after an error.
    }
  }
}

/** The socket taking queries to each server (`address|port`). */
const channels = new Map<string, UdpChannel>();

function channelTo(server: Nameserver): UdpChannel {
  const key = `${server.address}|${server.port}`;
  const current = channels.get(key);
  if (current && !current.spent) return current;
  current?.retire();
  const channel = new UdpChannel(server, (closed) => {
    if (channels.get(key) === closed) channels.delete(key);
  });
  channels.set(key, channel);
  return channel;
}

/** One UDP exchange, on the server's shared socket. */
export function exchangeUdp(exchange: Exchange): Promise<Outcome> {
  // An undecodable datagram with our ID may still be a forgery: keep waiting for the real
  // reply, and report it only if nothing better comes before the deadline.
  let malformed: Outcome | undefined;
  const onTimeout = (): Outcome => malformed ?? { kind: 'timeout' };
  return withDeadline(
    exchange.timeoutMs,
    (finish) => {
      const channel = channelTo(exchange.server);
      const id = channel.add(
        {
          onDatagram: (bytes) => {
            const outcome = judge(bytes, id, exchange);
            if (outcome?.kind === 'malformed') {
              malformed = outcome;
              exchange.onIgnored(outcome.why);
            } else if (outcome) finish(outcome);
          },
          onError: (error) => finish(failed(error)),
          onIgnored: exchange.onIgnored,
        },
        (queryId) => buildQuery(queryId, exchange.question),
      );
      return () => channel.remove(id);
    },
    onTimeout,
    failed,
  );
}

/** One message to `server` over a new TCP connection; `accept` sees each message that comes
 * back, and the first it makes an outcome of ends the exchange. */
export function tcpRoundTrip<T>(
  server: Nameserver,
  message: Buffer,
  timeoutMs: number,
  accept: (reply: Buffer) => T | undefined,
  onTimeout: () => T,
  onError: (error: NodeJS.ErrnoException) => T,
): Promise<T> {
  return withDeadline(
    timeoutMs,
    (finish) => {
      const socket = connect({ host: server.address, port: server.port, family: server.family });
      socket.on('connect', () => socket.write(lengthPrefixed(message)));
      socket.on(
        'data',
        messageReader((reply) => {
          const outcome = accept(reply);
          if (outcome !== undefined) finish(outcome);
          return outcome !== undefined;
        }),
      );
      socket.on('error', (error) => finish(onError(error)));
      socket.on('close', () => {
        // Node's DNS code for it (c-ares ARES_EOF): not a refusal, the server hung up.
        const error: NodeJS.ErrnoException = new Error('connection closed before the reply');
        error.code = 'EOF';
        finish(onError(error));
      });
      return () => socket.destroy();
    },
    onTimeout,
    onError,
  );
}

/** One TCP exchange of a query. */
export function exchangeTcp(exchange: Exchange): Promise<Outcome> {
  const id = randomId();
  const query = buildQuery(id, exchange.question);
  const onTimeout = (): Outcome => ({ kind: 'timeout' });
  return tcpRoundTrip(
    exchange.server,
    query,
    exchange.timeoutMs,
    (reply) => judge(reply, id, exchange),
    onTimeout,
    failed,
  );
}
