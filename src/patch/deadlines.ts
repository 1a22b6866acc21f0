// The service connects' timeouts, on one Node timer. A setTimeout and a clearTimeout per
// connect cost about 1.5 µs of a warm connect to a service name (bench/README.md), as much as
// the rest of its failover hooks; most connects end long before their deadline. Here a
// deadline is an entry in a map, and one unref'd timer is armed at the earliest: a connect
// that ends first only leaves the map, and a timer armed for it fires once, finds nothing due
// and is armed again for the next deadline, if any. undici does the same for its own timeouts
// (lib/util/timers.js, with a coarser clock); here a deadline fires when it is due, as
// setTimeout would.
import { monotonicMs } from '../clock.js';

/** Something with a deadline. */
export interface Expiring {
  /** Called once, when the deadline passed and was neither replaced nor deleted. */
  expire(): void;
}

export class Deadlines {
  readonly #due = new Map<Expiring, number>();
  #timer: NodeJS.Timeout | undefined;
  /** When the timer fires, on `now`'s clock; infinite when it is not armed. */
  #armedAt = Number.POSITIVE_INFINITY;

  constructor(readonly now: () => number = monotonicMs) {}

  /** How many deadlines are pending. */
  get size(): number {
    return this.#due.size;
  }

  /** `entry.expire()` in `ms`, unless deleted first; replaces a deadline `entry` had. */
  set(entry: Expiring, ms: number): void {
    const at = this.now() + ms;
    this.#due.set(entry, at);
    if (at < this.#armedAt) this.#arm(at);
  }

  delete(entry: Expiring): void {
    this.#due.delete(entry);
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedAt = at;
    // Node's timers have a 1 ms clock and may fire a little early against `now`: what is not
    // due yet when the timer fires waits for the next one.
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(at - this.now()))).unref();
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    const expired: Expiring[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [entry, at] of this.#due) {
      if (at <= now) expired.push(entry);
      else if (at < next) next = at;
    }
    for (const entry of expired) this.#due.delete(entry);
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
    // Last: an entry may set a new deadline as it expires (the next endpoint's attempt).
    for (const entry of expired) entry.expire();
  };
}
