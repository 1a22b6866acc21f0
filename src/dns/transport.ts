// One query to one server over UDP or TCP: a fresh socket, a fresh random ID, a deadline.
import { createSocket } from 'node:dgram';
import { closeSync, openSync, readSync } from 'node:fs';
import { connect } from 'node:net';
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

/** One UDP exchange. The socket is connected, so the kernel drops datagrams from any other
 * address or port and reports a closed port (ICMP) as ECONNREFUSED. */
export function exchangeUdp(exchange: Exchange): Promise<Outcome> {
  const { server } = exchange;
  const id = randomId();
  // An undecodable datagram with our ID may still be a forgery: keep waiting for the real
  // reply, and report it only if nothing better comes before the deadline.
  let malformed: Outcome | undefined;
  const onTimeout = (): Outcome => malformed ?? { kind: 'timeout' };
  return withDeadline(
    exchange.timeoutMs,
    (finish) => {
      const socket = createSocket(server.family === 6 ? 'udp6' : 'udp4');
      socket.on('error', (error) => finish(failed(error)));
      socket.on('message', (bytes, from) => {
        if (from.address !== server.address || from.port !== server.port) {
          exchange.onIgnored('wrong source');
          return;
        }
        const outcome = judge(bytes, id, exchange);
        if (outcome?.kind === 'malformed') {
          malformed = outcome;
          exchange.onIgnored(outcome.why);
        } else if (outcome) finish(outcome);
      });
      // A server the host has no route to (ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL…) fails
      // the connect: the error comes to this callback, and the server counts as failed.
      socket.connect(server.port, server.address, (error?: Error) => {
        if (error) {
          finish(failed(error as NodeJS.ErrnoException));
          return;
        }
        socket.send(buildQuery(id, exchange.question), (sendError) => {
          if (sendError) finish(failed(sendError));
        });
      });
      return () => {
        try {
          socket.close();
        } catch {
          // Already closed after an error.
        }
      };
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
