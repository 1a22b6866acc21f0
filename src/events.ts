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
  /** Published by the registration code (SVCDISC_ANNOUNCE), not the connect path. */
  announce: 'svcdisc:announce',
} as const;

const resolveChannel = channel(CHANNELS.resolve);
const connectChannel = channel(CHANNELS.connect);
const failoverChannel = channel(CHANNELS.failover);
const ejectChannel = channel(CHANNELS.eject);

export interface ResolveMessage {
  name: string;
  query: string;
  endpoints?: number;
  ttl?: number;
  error?: Error;
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

/** Whether anyone would see a message: builds none when nobody listens (the connect path). */
const wanted = (target: { hasSubscribers: boolean }) => debug.enabled || target.hasSubscribers;

export function resolved(message: ResolveMessage): void {
  if (message.error)
    debug('resolve %s (%s) failed: %s', message.name, message.query, message.error.message);
  else
    debug(
      'resolve %s (%s): %d endpoint(s), ttl %ds',
      message.name,
      message.query,
      message.endpoints,
      message.ttl,
    );
  if (resolveChannel.hasSubscribers) resolveChannel.publish(message);
}

export function connecting(make: () => ConnectMessage): void {
  if (!wanted(connectChannel)) return;
  const message = make();
  debug(
    'connect %s -> %s:%d (attempt %d)',
    message.name,
    message.target,
    message.port,
    message.attempt,
  );
  if (connectChannel.hasSubscribers) connectChannel.publish(message);
}

export function failedOver(make: () => FailoverMessage): void {
  if (!wanted(failoverChannel)) return;
  const message = make();
  debug(
    'failover %s: %s:%d failed (%s)',
    message.name,
    message.target,
    message.port,
    message.error.message,
  );
  if (failoverChannel.hasSubscribers) failoverChannel.publish(message);
}

export function ejected(make: () => EjectMessage): void {
  if (!wanted(ejectChannel)) return;
  const message = make();
  debug(
    'eject %s:%d of %s for %dms',
    message.target,
    message.port,
    message.name,
    message.coolDownMs,
  );
  if (ejectChannel.hasSubscribers) ejectChannel.publish(message);
}
