// Endpoints that failed to connect are ejected for a cool-down that doubles with each failure
// in a row (capped), and skipped while healthy ones remain; one success clears the record (of
// a connect begun while some endpoint had one: the others do not listen for their success,
// service-connect.ts).
import { monotonicMs } from '../clock.js';

/** First cool-down after a failure, ms. */
export const EJECT_BASE_MS = 1000;
/** Longest cool-down, ms. */
export const EJECT_MAX_MS = 30_000;
/** Endpoints remembered at most; the oldest record goes first. */
const MAX_RECORDS = 10_000;

interface Record {
  failures: number;
  until: number;
}

export class EndpointHealth {
  readonly #records = new Map<string, Record>();

  constructor(readonly now: () => number = monotonicMs) {}

  /** How many endpoints have a failure on record. */
  get size(): number {
    return this.#records.size;
  }

  /** Records a failed connect; returns the cool-down in ms. */
  eject(key: string): number {
    const record = this.#records.get(key) ?? { failures: 0, until: 0 };
    record.failures++;
    const coolDown = Math.min(EJECT_BASE_MS * 2 ** (record.failures - 1), EJECT_MAX_MS);
    record.until = this.now() + coolDown;
    this.#records.delete(key);
    this.#records.set(key, record);
    if (this.#records.size > MAX_RECORDS)
      this.#records.delete(this.#records.keys().next().value as string);
    return coolDown;
  }

  /** Records a successful connect. */
  restore(key: string): void {
    this.#records.delete(key);
  }

  isEjected(key: string): boolean {
    const record = this.#records.get(key);
    return record !== undefined && this.now() < record.until;
  }

  /** `ordered` with the ejected ones moved to the end, in their order: tried as a last resort. */
  preferHealthy<T>(ordered: T[], keyOf: (item: T) => string): T[] {
    if (this.#records.size === 0) return ordered;
    const healthy: T[] = [];
    const ejected: T[] = [];
    for (const item of ordered) (this.isEjected(keyOf(item)) ? ejected : healthy).push(item);
    return ejected.length === 0 ? ordered : [...healthy, ...ejected];
  }
}
