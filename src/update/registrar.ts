// The preload's own registration (SVCDISC_ANNOUNCE): when the program listens, its instance
// is announced; it is refreshed before its lease ends, and withdrawn when the server closes,
// on SIGTERM and SIGINT, and when the program ends on its own. Failures never reach the
// program: they are retried with back-off, and said once on stderr (the first failure of an
// instance, then its recovery); every attempt is a debug line and a diagnostics message.

import type { Server } from 'node:net';
import type { Config } from '../config.js';
import { type AnnounceMessage, announced } from '../events.js';
import { type AnnounceRequest, Announcer } from './announce.js';
import type { Instance } from './dynamic-update.js';

/** Longest wait for a withdrawal at shutdown, ms: the program's own exit comes first. */
export const WITHDRAW_BOUND_MS = 1500;
/** Addresses that mean "every address of this host". */
const WILDCARDS = new Set(['0.0.0.0', '::', '::ffff:0.0.0.0']);

/** The wait before retry number `failures` (1, 2, …) of a registration: doubling from 1 s,
 * at most 30 s. */
export function retryDelayMs(failures: number): number {
  return Math.min(1000 * 2 ** (failures - 1), 30_000);
}

/** `promise`'s value, or `otherwise` after `ms` if it has not settled by then. */
export function bounded<T>(promise: Promise<T>, ms: number, otherwise: T): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((resolve) => setTimeout(resolve, ms, otherwise).unref()),
  ]);
}

interface Registered {
  request: AnnounceRequest;
  timer?: NodeJS.Timeout;
  failures: number;
  /** What the last announcement published: a failed withdrawal leaves it behind. */
  announced?: Instance;
  /** Whether the withdrawal succeeded. */
  withdrawal?: Promise<boolean>;
}

export class Registrar {
  readonly #registered: Registered[] = [];
  #sawFirstServer = false;
  #hooked = false;

  readonly #announcer: Announcer;
  /** The refresh period, s (at least 5); each lease lasts three periods. */
  readonly ttl: number;

  /** `config.announce` is announced as the program listens, with `config.announceTtl` as the
   * refresh period unless `options.ttl` says otherwise; `options.announcer` shares one. */
  constructor(
    readonly config: Config,
    options: { ttl?: number; announcer?: Announcer } = {},
  ) {
    this.#announcer = options.announcer ?? new Announcer(config);
    this.ttl = options.ttl ?? config.announceTtl;
  }

  /** A TCP server of the program started listening on `address`:`port`. A server bound to one
   * address is announced at that address; one on a wildcard at this host's address. */
  onListening(server: Server, port: number, address?: string): void {
    const boundAddress = address === undefined || WILDCARDS.has(address) ? undefined : address;
    const first = !this.#sawFirstServer;
    this.#sawFirstServer = true;
    for (const { name, port: wanted } of this.config.announce) {
      if (wanted === port || (wanted === undefined && first)) {
        const entry = this.#add(boundAddress ? { name, port, boundAddress } : { name, port });
        server.once('close', () => this.#withdraw(entry));
        this.#announce(entry, 'announce');
      }
    }
    if (this.#registered.length > 0) this.#hookShutdown();
  }

  /** Keeps an instance that was just announced: refreshed before its lease ends, until
   * withdrawAll(). The caller handles signals (svcdisc announce --keep). */
  keep(request: AnnounceRequest, published: Instance): void {
    const entry = this.#add(request);
    entry.announced = published;
    this.#schedule(entry, this.#refreshMs, 'refresh');
  }

  /** Until when a lease taken now holds (unix time, s). */
  leaseUntil(): number {
    return Math.floor(Date.now() / 1000) + Math.ceil((3 * this.#refreshMs) / 1000);
  }

  #add(request: AnnounceRequest): Registered {
    const entry: Registered = { request, failures: 0 };
    this.#registered.push(entry);
    return entry;
  }

  /** Lease: three refresh periods; refreshed every TTL (at least 5 s). */
  get #refreshMs(): number {
    return Math.max(this.ttl, 5) * 1000;
  }

  #announce(entry: Registered, action: 'announce' | 'refresh'): void {
    if (entry.withdrawal) return;
    this.#announcer.announce({ ...entry.request, leaseUntil: this.leaseUntil() }).then(
      (instance) => {
        if (entry.failures > 0) {
          warn(
            `${describe(entry.request)} announced after ${entry.failures} failed attempt(s): ${instance.target}`,
          );
        }
        entry.failures = 0;
        entry.announced = instance;
        report(action, entry.request, { target: instance.target });
        this.#schedule(entry, this.#refreshMs, 'refresh');
      },
      (error: Error) => {
        entry.failures++;
        if (entry.failures === 1) {
          warn(
            `${describe(entry.request)} could not be ${action === 'announce' ? 'announced' : 'refreshed'}: ${error.message}; retrying in the background (NODE_DEBUG=svcdisc shows each attempt)`,
          );
        }
        report(action, entry.request, { error });
        this.#schedule(entry, retryDelayMs(entry.failures), action);
      },
    );
  }

  #schedule(entry: Registered, delayMs: number, action: 'announce' | 'refresh'): void {
    clearTimeout(entry.timer);
    if (entry.withdrawal) return;
    entry.timer = setTimeout(() => this.#announce(entry, action), delayMs).unref();
  }

  /** Once per instance; a second call waits for the first. */
  #withdraw(entry: Registered): Promise<boolean> {
    clearTimeout(entry.timer);
    entry.withdrawal ??= this.#announcer.withdraw(entry.request, entry.announced).then(
      () => {
        report('withdraw', entry.request, {});
        return true;
      },
      (error: Error) => {
        if (entry.announced) {
          warn(
            `${describe(entry.request)} could not be withdrawn: ${error.message}; its record stays until its lease ends (svcdisc prune removes it then)`,
          );
        }
        report('withdraw', entry.request, { error });
        return false;
      },
    );
    return entry.withdrawal;
  }

  /** Withdraws every instance, waiting at most WITHDRAW_BOUND_MS; whether all went in time. */
  withdrawAll(): Promise<boolean> {
    const all = Promise.all(this.#registered.map((entry) => this.#withdraw(entry)));
    return bounded(
      all.then((done) => done.every(Boolean)),
      WITHDRAW_BOUND_MS,
      false,
    );
  }

  /** SIGTERM and SIGINT: withdraw, then let the signal do what it would have done; the end of
   * the program's own work ('beforeExit'): withdraw. process.exit() cannot wait: the lease
   * and `svcdisc prune` cover it. */
  #hookShutdown(): void {
    if (this.#hooked) return;
    this.#hooked = true;
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const onSignal = () => {
        // Counted before the program's listeners run: a `process.once` listener is removed
        // as it is called, and the program that handles the signal must not be killed.
        const alone = process.listenerCount(signal) === 1;
        this.withdrawAll().finally(() => {
          process.off(signal, onSignal);
          // Nobody else handles it: the default action, as without svcdisc.
          if (alone) process.kill(process.pid, signal);
        });
      };
      process.prependListener(signal, onSignal);
    }
    process.once('beforeExit', () => {
      this.withdrawAll();
    });
  }
}

/** One line on stderr, as a library warns: the program's own output is left alone. */
function warn(line: string): void {
  process.stderr.write(`svcdisc: ${line}\n`);
}

function describe(request: AnnounceRequest): string {
  return `${request.name}:${request.port}`;
}

function report(
  action: AnnounceMessage['action'],
  request: AnnounceRequest,
  outcome: { target?: string; error?: Error },
): void {
  announced(() => ({ action, name: request.name, port: request.port, ...outcome }));
}
