// The service connects' timeouts, on one Node timer. A setTimeout and a clearTimeout per
// connect cost about 1.5 µs of a warm connect to a service name (bench/README.md), as much as
// the rest of its failover hooks; most connects end long before their deadline. Here a
// deadline is an entry in a list, and one unref'd timer is armed at the earliest: a connect
// that ends first leaves the list (or is found settled by the next timer: a connected socket,
// which nothing tells svcdisc of at once), and a timer armed for it fires once, finds nothing
// due and is armed again for the next deadline, if any. undici does the same for its own timeouts
// (lib/util/timers.js, with a coarser clock); here a deadline fires when it is due, as
// setTimeout would. The list is intrusive, as Node's own timer lists are: an entry carries its
// due time and its neighbours, so a set and a delete are a few field writes (a Map's set and
// delete were the dearest lines of a warm connect's own code: bench/README.md, twelfth pass).
import { monotonicMs } from '../clock.js';

/** Something with a deadline. The fields are Deadlines' own: an entry is in one list at most. */
export abstract class Expiring {
  // Assigned in the constructor, not by field initialisers, which define each property through
  // an IC of their own (a warm connect makes one of these: bench/README.md, the forty-third
  // pass).
  /** When the deadline falls due, on the list's clock. */
  declare dueAt: number;
  /** The neighbours in the list of pending deadlines; undefined while the entry has none. */
  declare duePrevious: Expiring | undefined;
  declare dueNext: Expiring | undefined;

  constructor() {
    this.dueAt = 0;
    this.duePrevious = undefined;
    this.dueNext = undefined;
  }

  /** Called once, when the deadline passed and was neither replaced nor deleted. */
  abstract expire(): void;

  /** Called on every pending entry when the timer fires: an entry whose work ended without its
   * deadline being deleted (where nothing could delete it cheaply) lets go of what it holds and
   * returns true, and the list drops it unexpired. */
  abstract settle(): boolean;
}

/** The list's two ends: never due, never expired. */
class Ends extends Expiring {
  expire(): void {}
  settle(): boolean {
    return false;
  }
}

export class Deadlines {
  /** A circular list: `#ends.dueNext` is the first pending entry, `#ends.duePrevious` the last. */
  readonly #ends = new Ends();
  #timer: NodeJS.Timeout | undefined;
  /** When the timer fires, on `now`'s clock; infinite when it is not armed. */
  #armedAt = Number.POSITIVE_INFINITY;

  constructor(readonly now: () => number = monotonicMs) {
    this.#ends.duePrevious = this.#ends;
    this.#ends.dueNext = this.#ends;
  }

  /** How many deadlines are pending (counted: only tests ask). */
  get size(): number {
    let count = 0;
    const ends = this.#ends;
    for (let entry = ends.dueNext as Expiring; entry !== ends; entry = entry.dueNext as Expiring)
      count++;
    return count;
  }

  /** `entry.expire()` in `ms`, unless deleted first; replaces a deadline `entry` had. */
  set(entry: Expiring, ms: number): void {
    const at = this.now() + ms;
    if (entry.dueNext === undefined) {
      const last = this.#ends.duePrevious as Expiring;
      entry.duePrevious = last;
      entry.dueNext = this.#ends;
      last.dueNext = entry;
      this.#ends.duePrevious = entry;
    }
    entry.dueAt = at;
    if (at < this.#armedAt) this.#arm(at);
  }

  delete(entry: Expiring): void {
    const next = entry.dueNext;
    if (next === undefined) return;
    const previous = entry.duePrevious as Expiring;
    previous.dueNext = next;
    next.duePrevious = previous;
    entry.duePrevious = undefined;
    entry.dueNext = undefined;
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
    const ends = this.#ends;
    const expired: Expiring[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (let entry = ends.dueNext as Expiring; entry !== ends; ) {
      const following = entry.dueNext as Expiring;
      if (entry.settle()) this.delete(entry);
      else if (entry.dueAt <= now) {
        this.delete(entry);
        expired.push(entry);
      } else if (entry.dueAt < next) next = entry.dueAt;
      entry = following;
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
    // Last: an entry may set a new deadline as it expires (the next endpoint's attempt).
    for (const entry of expired) entry.expire();
  };
}
