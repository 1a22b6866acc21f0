// Record builders for tests, in dns-packet's shape.
import { createSocket } from 'node:dgram';
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

/** A loopback UDP and TCP port with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
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
