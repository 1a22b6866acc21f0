// Record builders for tests, in dns-packet's shape.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type * as packet from 'dns-packet';
import { newWireStats } from '../src/dns/client.js';

export const srv = (
  name: string,
  target: string,
  port: number,
  priority = 10,
  weight = 10,
  ttl = 30,
): packet.Answer => ({
  type: 'SRV',
  name,
  ttl,
  data: { target, port, priority, weight },
});

export const a = (name: string, address: string, ttl = 30): packet.Answer => ({
  type: 'A',
  name,
  ttl,
  data: address,
});

export const aaaa = (name: string, address: string, ttl = 30): packet.Answer => ({
  type: 'AAAA',
  name,
  ttl,
  data: address,
});

/** A service tried in order: the endpoint `first` (priority 10), then `then` (priority 20), each a
 * target name and port; both targets at 127.0.0.1. (Alone in its priority, an endpoint's weight
 * chooses nothing: 1.) */
export const inOrder = (
  name: string,
  first: [target: string, port: number],
  then: [target: string, port: number],
): packet.Answer[] => [
  srv(name, first[0], first[1], 10, 1),
  srv(name, then[0], then[1], 20, 1),
  a(first[0], '127.0.0.1'),
  a(then[0], '127.0.0.1'),
];

export const cname = (name: string, target: string, ttl = 30): packet.Answer => ({
  type: 'CNAME',
  name,
  ttl,
  data: target,
});

export const txt = (name: string, text: string, ttl = 30): packet.Answer => ({
  type: 'TXT',
  name,
  ttl,
  data: text,
});

export const soa = (zone: string, ttl: number, minimum: number): packet.Answer => ({
  type: 'SOA',
  name: zone,
  ttl,
  data: {
    mname: `ns.${zone}`,
    rname: `hostmaster.${zone}`,
    serial: 1,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum,
  },
});

/** `count` SRV records for `name` with glue, targets `i{n}.{name}` on 127.0.1.{n}. */
export function bigSet(name: string, count: number): packet.Answer[] {
  const records: packet.Answer[] = [];
  for (let i = 1; i <= count; i++) {
    records.push(srv(name, `i${i}.${name}`, 8000 + i), a(`i${i}.${name}`, `127.0.1.${i}`));
  }
  return records;
}

export const newStats = newWireStats;

/** The first port of the kernel's ephemeral range (Linux's default where it cannot be read). */
function ephemeralLow(): number {
  try {
    const range = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
    const low = Number(range.split(/\s/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Whether a TCP server can listen on `port` of 127.0.0.1 (closed again at once). */
const tcpFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** Whether a UDP socket can bind `port` of 127.0.0.1 (closed again at once). */
const udpFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => socket.close(() => resolve(false)));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });

/**
 * A loopback port, UDP and TCP, with nothing listening, that stays so until the test listens
 * on it (an endpoint or a nameserver that refuses, or one that comes back). Below the kernel's
 * ephemeral range: a port there is never given to a listen(0) or to a connection's local end,
 * by this test file or another running beside it. (One that a bind(0) had given and released
 * was taken meanwhile by a connection's local end, and the test's later listen on it failed
 * with EADDRINUSE.)
 */
export async function closedPort(): Promise<number> {
  const low = ephemeralLow();
  for (let tries = 0; tries < 50; tries++) {
    const port = 1024 + Math.floor(Math.random() * (low - 1024));
    if ((await tcpFree(port)) && (await udpFree(port))) return port;
  }
  throw new Error(`no free port on 127.0.0.1 between 1024 and ${low}`);
}

/** A seeded PRNG (mulberry32): random draws that are the same on every run. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pearson's chi-square statistic of observed counts against expected shares. */
export function chiSquare(observed: number[], shares: number[]): number {
  const total = observed.reduce((a, b) => a + b, 0);
  return observed.reduce((sum, count, i) => {
    const expected = total * (shares[i] ?? 0);
    return sum + (count - expected) ** 2 / expected;
  }, 0);
}

/** Chi-square's critical values at p = 0.001, by degrees of freedom 1 to 3. */
const CHI_SQUARE_P999 = [10.828, 13.816, 16.266];

/**
 * Asserts that the counts `draw` returns split by `shares` (Pearson's chi-square, p = 0.001).
 * The draws are real randomness, so a correct split is off once in a thousand samples: a
 * sample that is off is drawn again, and the assertion fails only if the second is off too.
 * A correct split fails once in a million runs; a wrong one fails both samples.
 */
export async function assertSplit(
  draw: () => Promise<number[]>,
  shares: number[],
  what: string,
): Promise<void> {
  const critical = CHI_SQUARE_P999[shares.length - 2];
  if (critical === undefined) throw new RangeError(`no critical value for ${shares.length} shares`);
  const first = await draw();
  if (chiSquare(first, shares) < critical) return;
  const second = await draw();
  assert.ok(
    chiSquare(second, shares) < critical,
    `${what}: counts ${first}, then ${second}, for shares ${shares.map((s) => s.toFixed(3))}`,
  );
}

/** Lets real I/O (sockets) run until `done()` holds, while timers may be mocked: each turn of
 * the event loop polls I/O. Fails after 5 s of real time. */
export async function untilIo(done: () => boolean, what = 'condition'): Promise<void> {
  const started = performance.now();
  while (!done() && performance.now() - started < 5000)
    await new Promise((resolve) => setImmediate(resolve));
  if (!done()) throw new Error(`${what} not reached within 5 s`);
}

/** Lets real I/O run for `ms` of real time while timers are mocked: whatever should not
 * happen before a timer fires has had its chance. */
export async function realPause(ms: number): Promise<void> {
  const started = performance.now();
  while (performance.now() - started < ms) await new Promise((resolve) => setImmediate(resolve));
}
