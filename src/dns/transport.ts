// One query to one server over UDP or TCP: a fresh socket, a fresh random ID, a deadline.
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import type { Nameserver } from '../config.js';
import { buildQuery, checkReply, type Question, type Reply } from './message.js';

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
function withDeadline(
  timeoutMs: number,
  start: (finish: (outcome: Outcome) => void) => () => void,
  onTimeout: () => Outcome = () => ({ kind: 'timeout' }),
): Promise<Outcome> {
  return new Promise((resolve) => {
    let cleanup = () => {};
    let settled = false;
    const finish = (outcome: Outcome) => {
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
      finish({ kind: 'failed', error: error as NodeJS.ErrnoException });
    }
  });
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
  const id = randomInt(0x10000);
  // An undecodable datagram with our ID may still be a forgery: keep waiting for the real
  // reply, and report it only if nothing better comes before the deadline.
  let malformed: Outcome | undefined;
  const onTimeout = (): Outcome => malformed ?? { kind: 'timeout' };
  return withDeadline(
    exchange.timeoutMs,
    (finish) => {
      const socket = createSocket(server.family === 6 ? 'udp6' : 'udp4');
      socket.on('error', (error) => finish({ kind: 'failed', error }));
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
      socket.connect(server.port, server.address, () => {
        socket.send(buildQuery(id, exchange.question), (error) => {
          if (error) finish({ kind: 'failed', error });
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
  );
}

/** Largest DNS message over TCP: the 2-byte length prefix (RFC 1035 4.2.2). */
const MAX_TCP_MESSAGE = 0xffff;

/** One TCP exchange: 2-byte length framing; a reply may arrive in any number of chunks. */
export function exchangeTcp(exchange: Exchange): Promise<Outcome> {
  const { server } = exchange;
  const id = randomInt(0x10000);
  return withDeadline(exchange.timeoutMs, (finish) => {
    const query = buildQuery(id, exchange.question);
    const frame = Buffer.allocUnsafe(2 + query.length);
    frame.writeUInt16BE(query.length, 0);
    query.copy(frame, 2);
    const socket = connect({ host: server.address, port: server.port, family: server.family });
    let buffered = Buffer.alloc(0);
    socket.on('connect', () => socket.write(frame));
    socket.on('data', (chunk) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) return;
        const outcome = judge(buffered.subarray(2, 2 + length), id, exchange);
        if (outcome) return finish(outcome);
        buffered = buffered.subarray(2 + length);
      }
      if (buffered.length > MAX_TCP_MESSAGE + 2) {
        finish({ kind: 'malformed', why: 'TCP frame longer than a DNS message' });
      }
    });
    socket.on('error', (error) => finish({ kind: 'failed', error }));
    socket.on('close', () => {
      const error: NodeJS.ErrnoException = new Error('connection closed before the reply');
      error.code = 'EEOF';
      finish({ kind: 'failed', error });
    });
    return () => socket.destroy();
  });
}
