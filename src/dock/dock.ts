// svcdisc dock: every running container of a Docker host in DNS, as skydock did. It follows
// the daemon's event stream, reconciles one container at a time (inspect, then announce or
// withdraw through the same Announcer as `svcdisc announce`), refreshes each record's lease
// every period, and when the stream breaks reconnects with back-off and resyncs. Any number
// of docks may run: the updates are idempotent, and a record whose docks are all gone ends
// with its lease (svcdisc prune removes it then). Each service name a host's docks register
// is also listed in a TXT record of the host (`<host>._svcdisc-dock.<env>.<domain>`): a dock
// that starts reads it, and removes the host's records of containers that no longer run.
import { hostPort } from '../dns/names.js';
import type { Announcer } from '../update/announce.js';
import { type Instance, LEASE_HOLDER_PREFIX } from '../update/dynamic-update.js';
import { bounded, retryDelayMs } from '../update/registrar.js';
import { asLabel, type DockSettings, outcomeOf, type Registration } from './container.js';
import type { ContainerEvent, DockerApi } from './docker.js';

export interface DockOptions extends DockSettings {
  docker: DockerApi;
  announcer: Announcer;
  /** Refresh period of the leases, s; each lease lasts three periods. */
  ttl: number;
  /** Who holds the leases: the Docker host's name. */
  holder: string;
  /** One line per registration and withdrawal. */
  out: (line: string) => void;
  /** Failures, each retried. */
  err: (line: string) => void;
}

interface Registered {
  registration: Registration;
  instance: Instance;
}

const sameRegistration = (a: Registration, b: Registration) =>
  a.name === b.name &&
  a.target === b.target &&
  a.address === b.address &&
  a.port === b.port &&
  a.priority === b.priority &&
  a.weight === b.weight;

export class Dock {
  readonly #registered = new Map<string, Registered>();
  /** Each container's reconciliations, one after the other. */
  readonly #queues = new Map<string, Promise<void>>();
  /** Containers said to be skipped, said once. */
  readonly #skipped = new Set<string>();
  /** Containers whose last update failed: retried with back-off. */
  readonly #failures = new Map<string, number>();
  #closeEvents: (() => void) | undefined;
  #streamFailures = 0;
  #timers = new Set<NodeJS.Timeout>();
  #refresh: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Service names known to be in the host's index record. */
  readonly #indexed = new Set<string>();
  /** Whether the host's stale records were looked for since start. */
  #cleaned = false;
  /** Running containers sent signals (kill events: `docker stop`, `docker kill`) since they
   * started, each signal once, and whether the end of their stop grace is awaited. */
  readonly #signalled = new Map<string, { signals: Set<string>; awaited: boolean }>();
  /** The host's index: the service names its docks registered, one TXT string each. */
  readonly indexName: string;

  constructor(readonly options: DockOptions) {
    this.indexName = `${asLabel(options.holder) || 'host'}._svcdisc-dock.${options.zoneSuffix}`;
  }

  /** Follows the daemon; runs until stop(). */
  start(): void {
    this.#connect();
    this.#refresh = setInterval(() => this.#refreshLeases(), this.options.ttl * 1000);
  }

  /** Stops following the daemon. With `withdraw`, withdraws what this dock registered
   * (waiting for at most `boundMs`); otherwise the records stay until their leases end. */
  async stop(withdraw = false, boundMs = 5000): Promise<void> {
    this.#stopped = true;
    this.#closeEvents?.();
    clearInterval(this.#refresh);
    for (const timer of this.#timers) clearTimeout(timer);
    await bounded(Promise.all(this.#queues.values()), boundMs, []);
    if (!withdraw) return;
    const all = [...this.#registered].map(([id, entry]) =>
      this.#withdraw(id, entry, 'dock stopped'),
    );
    await bounded(Promise.all(all), boundMs, []);
  }

  #later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#stopped) action();
    }, ms);
    this.#timers.add(timer);
  }

  #connect(): void {
    this.#closeEvents = this.options.docker.events(
      (event) => this.#onEvent(event),
      (error) => {
        if (this.#stopped) return;
        this.#streamFailures++;
        const delay = retryDelayMs(this.#streamFailures);
        this.options.err(`svcdisc dock: ${error.message}; reconnecting in ${delay / 1000} s`);
        this.#later(delay, () => this.#connect());
      },
      () => {
        if (this.#streamFailures > 0) this.options.err('svcdisc dock: reconnected; resyncing');
        this.#streamFailures = 0;
        this.#sync();
      },
    );
  }

  #onEvent(event: ContainerEvent): void {
    const id = event.Actor.ID;
    const signal = event.Actor.Attributes?.signal;
    if (event.Action === 'kill' && signal !== undefined) {
      const signalled = this.#signalled.get(id);
      if (signalled) signalled.signals.add(signal);
      else this.#signalled.set(id, { signals: new Set([signal]), awaited: false });
    } else if (event.Action === 'start' || event.Action === 'die' || event.Action === 'destroy') {
      this.#signalled.delete(id);
    }
    this.#enqueue(id);
  }

  /** Every running container, and every one registered: reconciled. */
  #sync(): void {
    this.options.docker.running().then(
      (ids) => {
        for (const id of new Set([...ids, ...this.#registered.keys()])) this.#enqueue(id);
        if (!this.#cleaned) this.#removeStale(ids);
      },
      (error: Error) => this.options.err(`svcdisc dock: ${error.message}`),
    );
  }

  #enqueue(id: string): void {
    if (this.#stopped) return;
    this.#queue(id, () => this.#reconcile(id));
  }

  /** Runs `work` for container `id` after what is queued for it; `work` never rejects. */
  #queue(id: string, work: () => Promise<void>): void {
    const previous = this.#queues.get(id) ?? Promise.resolve();
    const next = previous.then(work);
    this.#queues.set(id, next);
    next.finally(() => {
      if (this.#queues.get(id) === next) this.#queues.delete(id);
    });
  }

  /** Makes DNS say what the container is now. Never rejects: a failure is said and retried. */
  async #reconcile(id: string): Promise<void> {
    try {
      const details = await this.options.docker.inspect(id);
      const signalled = this.#signalled.get(id);
      const outcome = details
        ? outcomeOf(details, this.options, signalled?.signals)
        : ({ kind: 'absent', why: 'removed' } as const);
      if (details && signalled && !signalled.awaited && outcome.kind === 'absent') {
        // A process that outlives its stop grace (it handled the signal) is registered again.
        signalled.awaited = true;
        this.#later(((details.Config.StopTimeout ?? 10) + 5) * 1000, () => {
          if (this.#signalled.get(id) !== signalled) return;
          this.#signalled.delete(id);
          this.#enqueue(id);
        });
      }
      const current = this.#registered.get(id);
      if (outcome.kind === 'register') {
        if (current && sameRegistration(current.registration, outcome.registration)) return;
        if (current) await this.#withdraw(id, current, 'changed');
        await this.#announce(id, outcome.registration);
      } else {
        if (outcome.kind === 'skipped' && !this.#skipped.has(id)) {
          this.#skipped.add(id);
          this.options.err(`svcdisc dock: skipped ${id.slice(0, 12)}: ${outcome.why}`);
        }
        if (current) await this.#withdraw(id, current, outcome.why);
      }
      this.#failures.delete(id);
    } catch (error) {
      const failures = (this.#failures.get(id) ?? 0) + 1;
      this.#failures.set(id, failures);
      const delay = retryDelayMs(failures);
      this.options.err(
        `svcdisc dock: ${id.slice(0, 12)}: ${(error as Error).message}; retrying in ${delay / 1000} s`,
      );
      this.#later(delay, () => this.#enqueue(id));
    }
  }

  #leaseUntil(): number {
    return Math.floor(Date.now() / 1000) + 3 * this.options.ttl;
  }

  async #announce(id: string, registration: Registration, refresh = false): Promise<void> {
    const { name, port, target, address, priority, weight } = registration;
    const instance = await this.options.announcer.announce({
      name,
      port,
      target,
      addresses: [address],
      priority,
      weight,
      leaseUntil: this.#leaseUntil(),
      leaseHolder: this.options.holder,
    });
    this.#registered.set(id, { registration, instance });
    // Said as soon as the record is in DNS; the host's index follows.
    if (!refresh) this.options.out(`+ ${name} ${registration.shortId} ${hostPort(address, port)}`);
    if (!this.#indexed.has(name)) {
      await this.options.announcer.addTxt(this.indexName, name);
      this.#indexed.add(name);
    }
  }

  async #withdraw(id: string, entry: Registered, why: string): Promise<void> {
    const { name, port, target, address, shortId } = entry.registration;
    this.#registered.delete(id);
    try {
      await this.options.announcer.withdraw({ name, port, target }, entry.instance);
      this.options.out(`- ${name} ${shortId} ${hostPort(address, port)} (${why})`);
    } catch (error) {
      this.options.err(
        `svcdisc dock: ${name} ${shortId} could not be withdrawn: ${(error as Error).message}; its record stays until its lease ends`,
      );
    }
  }

  /** Once after start: the records of this host's containers that no longer run (the dock
   * was gone when they stopped) are withdrawn. Those of other hosts, and those without this
   * host's lease, are left alone. A failure is said and tried again at the next resync. */
  async #removeStale(running: string[]): Promise<void> {
    const { announcer, holder } = this.options;
    const alive = new Set(running.map((id) => id.slice(0, 12)));
    try {
      for (const name of await announcer.txt(this.indexName)) {
        this.#indexed.add(name);
        for (const record of await announcer.srv(name).catch(() => [])) {
          const { target } = record;
          const shortId = target.split('.')[0] ?? '';
          if (alive.has(shortId) || target !== `${shortId}.${name}`) continue;
          const mine = (await announcer.txt(target)).includes(`${LEASE_HOLDER_PREFIX}${holder}`);
          if (!mine) continue;
          // Started since the list was taken (and registered by another dock): not stale.
          if ((await this.options.docker.inspect(shortId))?.State.Running) continue;
          await announcer.withdraw({ name, port: record.port, target });
          this.options.out(`- ${name} ${shortId} ${record.port} (no longer runs)`);
        }
      }
      this.#cleaned = true;
    } catch (error) {
      this.options.err(
        `svcdisc dock: the host's stale records could not be looked for: ${(error as Error).message}`,
      );
    }
  }

  /** Every period: each registered container's lease is taken again. */
  #refreshLeases(): void {
    for (const [id, entry] of this.#registered) {
      this.#queue(id, async () => {
        if (this.#registered.get(id) !== entry) return; // withdrawn or changed meanwhile
        await this.#announce(id, entry.registration, true).catch((error: Error) =>
          this.options.err(
            `svcdisc dock: ${entry.registration.name} ${entry.registration.shortId}: lease not refreshed: ${error.message}`,
          ),
        );
      });
    }
  }
}
