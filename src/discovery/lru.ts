// The resolver's cache: a Map kept in order of use, bounded. (lru-cache did this; loading it
// cost a first intercepted connection about 2 ms, for the five methods used here.)

/** At most `max` entries; when full, the least recently used one makes room. `dispose` sees
 * every value that leaves: evicted, replaced by another value, or cleared. */
export class Lru<K, V> {
  readonly #map = new Map<K, V>();

  constructor(
    readonly max: number,
    readonly dispose: (value: V) => void,
  ) {}

  get size(): number {
    return this.#map.size;
  }

  /** The value of `key`, which becomes the most recently used. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  /** The value of `key`, its place left as it is. */
  peek(key: K): V | undefined {
    return this.#map.get(key);
  }

  set(key: K, value: V): void {
    const previous = this.#map.get(key);
    if (previous !== undefined) {
      this.#map.delete(key);
      if (previous !== value) this.dispose(previous);
    } else if (this.#map.size >= this.max) {
      const oldest = this.#map.keys().next().value as K;
      const evicted = this.#map.get(oldest) as V;
      this.#map.delete(oldest);
      this.dispose(evicted);
    }
    this.#map.set(key, value);
  }

  clear(): void {
    const values = [...this.#map.values()];
    this.#map.clear();
    for (const value of values) this.dispose(value);
  }
}
