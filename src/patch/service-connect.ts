// One connection to a service: resolve, order the endpoints (RFC 2782, ejected ones last), then
// hand each attempt to Node's own connect with the endpoint's port and a `lookup` that answers
// with one of its addresses, so Node emits 'lookup', sets `_host` (TLS checks the certificate
// against it) and connects. A failed attempt is caught before the program sees it and the next
// address, then the next endpoint, is tried on the same socket.
import * as net from 'node:net';
import type { Address, Endpoint } from '../discovery/lookup.js';
import { connecting, ejected, failedOver } from '../events.js';
import type { ConnectContext } from './connect.js';
import { freshHandle, type Normalized, type Socket } from './socket.js';

interface Attempt {
  endpoint: Endpoint;
  address: Address;
  /** Position of the endpoint in the order, from 1. */
  rank: number;
  /** More addresses of the same endpoint follow. */
  moreOfEndpoint: boolean;
}

const formatAddress = (address: string, port: number) =>
  address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
const endpointKey = (endpoint: Endpoint) => `${endpoint.target}:${endpoint.port}`;

/** Addresses in the order Node's happy eyeballs tries them: the first family, then alternating. */
function interleave(addresses: readonly Address[]): Address[] {
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

function connectTimeoutError(address: string, port: number, timeoutMs: number): Error {
  const where = formatAddress(address, port);
  const error = new Error(`connect ETIMEDOUT ${where} (no answer within ${timeoutMs} ms)`);
  return Object.assign(error, {
    code: 'ETIMEDOUT',
    errno: -110,
    syscall: 'connect',
    address,
    port,
  });
}

/** A lookup that answers with one address, as Node's would, whatever it is asked. */
function lookupOf(address: Address) {
  return (_host: string, options: unknown, callback?: (...args: unknown[]) => void) => {
    const done = (typeof options === 'function' ? options : callback) as (
      ...args: unknown[]
    ) => void;
    if ((options as { all?: boolean } | undefined)?.all) done(null, [{ ...address }]);
    else done(null, address.address, address.family);
  };
}

export class ServiceConnect {
  readonly #attempts: Attempt[] = [];
  #next = 0;
  #current: Attempt | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #tried: string[] = [];
  #restoreDestroy: (() => void) | undefined;

  constructor(
    readonly socket: Socket,
    /** Node's own connect, on this socket, with these options. */
    readonly connect: (options: Normalized[0]) => void,
    readonly context: ConnectContext,
    readonly name: string,
    readonly options: Normalized[0],
  ) {}

  start(): void {
    this.#resolveThenConnect().catch((error: unknown) => this.#fail(error as Error));
  }

  /** The program destroyed the socket (or gave up its connect) meanwhile. */
  get #gone(): boolean {
    return this.socket.destroyed || !this.socket.connecting;
  }

  async #resolveThenConnect(): Promise<void> {
    const resolver = this.context.resolver();
    const { endpoints } = await resolver.resolve(this.name);
    if (this.#gone) return;
    const ordered = this.context.health.preferHealthy(resolver.order(endpoints), endpointKey);
    ordered.forEach((endpoint, index) => {
      const addresses = interleave(endpoint.addresses);
      addresses.forEach((address, i) => {
        this.#attempts.push({
          endpoint,
          address,
          rank: index + 1,
          moreOfEndpoint: i < addresses.length - 1,
        });
      });
    });
    this.#interceptDestroy();
    this.socket.prependOnceListener('connect', this.#connected);
    this.#attempt();
  }

  /** Catches Node's destroy(connect error) while attempts remain; anything else passes. */
  #interceptDestroy(): void {
    const socket = this.socket;
    const hadOwn = Object.hasOwn(socket, 'destroy');
    const own = socket.destroy;
    socket.destroy = (error?: Error) => {
      if (error && isConnectFailure(error)) {
        this.#attemptFailed(error);
        return socket;
      }
      this.#finish();
      return socket.destroy(error);
    };
    this.#restoreDestroy = () => {
      if (hadOwn) socket.destroy = own;
      else delete (socket as Partial<Socket>).destroy;
    };
  }

  #attempt(): void {
    const attempt = this.#attempts[this.#next++] as Attempt;
    this.#current = attempt;
    const { endpoint, address } = attempt;
    this.#tried.push(formatAddress(address.address, endpoint.port));
    connecting({
      name: this.name,
      target: endpoint.target,
      port: endpoint.port,
      attempt: attempt.rank,
    });
    const timeoutMs = this.#timeoutFor(attempt);
    this.#timer = setTimeout(
      () => this.#timedOut(address, endpoint.port, timeoutMs),
      timeoutMs,
    ).unref();
    this.connect({
      ...this.options,
      host: this.name,
      port: endpoint.port,
      lookup: lookupOf(address),
    });
  }

  /** Like Node's happy eyeballs, an address gets a short turn while other addresses of the
   * same endpoint remain; the last one has the whole connect timeout. */
  #timeoutFor(attempt: Attempt): number {
    const { connectTimeoutMs } = this.context;
    if (!attempt.moreOfEndpoint || this.options.autoSelectFamily === false) return connectTimeoutMs;
    const turn = Number(
      this.options.autoSelectFamilyAttemptTimeout ?? net.getDefaultAutoSelectFamilyAttemptTimeout(),
    );
    return Math.min(connectTimeoutMs, turn);
  }

  #timedOut(address: Address, port: number, timeoutMs: number): void {
    this.#timer = undefined;
    if (!this.#gone) this.#attemptFailed(connectTimeoutError(address.address, port, timeoutMs));
  }

  #attemptFailed(error: Error): void {
    clearTimeout(this.#timer);
    const attempt = this.#current as Attempt;
    const { target, port } = attempt.endpoint;
    const next = this.#attempts[this.#next];
    if (!next || next.rank !== attempt.rank) {
      const coolDownMs = this.context.health.eject(endpointKey(attempt.endpoint));
      ejected({ name: this.name, target, port, coolDownMs });
    }
    if (!next || !freshHandle(this.socket)) {
      this.#fail(Object.assign(error, { attempts: [...this.#tried] }));
      return;
    }
    failedOver({ name: this.name, target, port, attempt: attempt.rank, error });
    this.socket.connecting = true;
    this.#attempt();
  }

  readonly #connected = (): void => {
    if (this.#current) this.context.health.restore(endpointKey(this.#current.endpoint));
    this.#finish();
  };

  /** Stops intercepting: the socket is the program's again. */
  #finish(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.socket.off('connect', this.#connected);
    this.#restoreDestroy?.();
    this.#restoreDestroy = undefined;
  }

  /** Ends the connection with an error, through the socket's own destroy. */
  #fail(error: Error): void {
    this.#finish();
    if (!this.socket.destroyed) this.socket.destroy(error);
  }
}
