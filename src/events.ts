// What the preload does, one line each on NODE_DEBUG=svcdisc and as messages on
// node:diagnostics_channel channels, for logs and metrics without patching svcdisc.
import { channel } from 'node:diagnostics_channel';
import { debug } from './debug.js';

/** Channel names; the README lists them with their messages. */
export const CHANNELS = {
  resolve: 'svcdisc:resolve',
  connect: 'svcdisc:connect',
  failover: 'svcdisc:failover',
  eject: 'svcdisc:eject',
  drain: 'svcdisc:drain',
  /** Published by the registration code (SVCDISC_ANNOUNCE), not the connect path. */
  announce: 'svcdisc:announce',
} as const;

export interface ResolveMessage {
  name: string;
  query: string;
  endpoints?: number;
  ttl?: number;
  error?: Error;
  /** No SRV records: the name's own addresses, at the program's port (RFC 2782). */
  fallback?: boolean;
}

export interface ConnectMessage {
  name: string;
  target: string;
  port: number;
  /** 1 for the first endpoint of the order, 2 after one failover, … */
  attempt: number;
}

export interface FailoverMessage extends ConnectMessage {
  error: Error;
}

export interface EjectMessage {
  name: string;
  target: string;
  port: number;
  coolDownMs: number;
}

export interface DrainMessage {
  name: string;
  /** The endpoint that left the set (or whose address changed). */
  target: string;
  port: number;
  /** Pooled sockets to it retired: idle ones closed, busy ones after their response. */
  sockets: number;
}

export interface AnnounceMessage {
  action: 'announce' | 'refresh' | 'withdraw';
  name: string;
  port: number;
  target?: string;
  error?: Error;
}

/** Publishes one kind of event: the message `make()` or `make(arg)` returns, made only when
 * someone listens. A maker that is not a closure (a function made once, and its argument) lets
 * the connect path allocate nothing for an event nobody observes. */
interface Emit<M> {
  (make: () => M): void;
  <A>(make: (arg: A) => M, arg: A): void;
}

/** Whether NODE_DEBUG names svcdisc, read at the first event: fixed for the life of the process
 * (Node reads NODE_DEBUG at start). `debug.enabled` is a getter on a function, which V8's
 * optimising tiers call through the IC rather than inline: about 0.2 K instructions of every warm
 * connect, for its 'connect' event, on Node 20 (bench/README.md, the forty-fourth pass). */
let debugEnabled: boolean | undefined;

/** One kind of event: its debug line and its channel. */
function event<M>(name: string, line: (message: M) => unknown[]): Emit<M> {
  const target = channel(name);
  return <A>(make: (arg: A) => M, arg?: A): void => {
    debugEnabled ??= debug.enabled;
    if (!debugEnabled && !target.hasSubscribers) return;
    const message = make(arg as A);
    debug(...(line(message) as [string, ...unknown[]]));
    if (target.hasSubscribers) target.publish(message);
  };
}

export const resolved = event<ResolveMessage>(CHANNELS.resolve, (m) =>
  m.error
    ? ['resolve %s (%s) failed: %s', m.name, m.query, m.error.message]
    : m.fallback
      ? [
          "resolve %s (%s): no SRV records, the name's own address(es) at the program's port (RFC 2782 fallback), ttl %ds",
          m.name,
          m.query,
          m.ttl,
        ]
      : ['resolve %s (%s): %d endpoint(s), ttl %ds', m.name, m.query, m.endpoints, m.ttl],
);

export const connecting = event<ConnectMessage>(CHANNELS.connect, (m) => [
  'connect %s -> %s:%d (attempt %d)',
  m.name,
  m.target,
  m.port,
  m.attempt,
]);

export const failedOver = event<FailoverMessage>(CHANNELS.failover, (m) => [
  'failover %s: %s:%d failed (%s)',
  m.name,
  m.target,
  m.port,
  m.error.message,
]);

export const ejected = event<EjectMessage>(CHANNELS.eject, (m) => [
  'eject %s:%d of %s for %dms',
  m.target,
  m.port,
  m.name,
  m.coolDownMs,
]);

export const drained = event<DrainMessage>(CHANNELS.drain, (m) => [
  'drain %s:%d of %s: %d pooled socket(s) retired',
  m.target,
  m.port,
  m.name,
  m.sockets,
]);

export const announced = event<AnnounceMessage>(CHANNELS.announce, (m) =>
  m.error
    ? ['%s %s:%d failed: %s', m.action, m.name, m.port, m.error.message]
    : ['%s %s:%d%s', m.action, m.name, m.port, m.target ? ` (${m.target})` : ''],
);
