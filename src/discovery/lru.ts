// The resolver's cache: a Map in insertion order, bounded, evicting by the CLOCK rule (an
// approximation of least recently used: an entry used since it last came up for eviction gets
// a second chance). A hit only marks its entry, so it costs one Map lookup (lru-cache cost a
// first intercepted connection about 2 ms to load; moving the entry on every hit, twice the
// hit's time).

interface Slot<V> {
  value: V;
  /** Used since it was set or last passed over. */
  used: boolean;
}

/** At most `max` entries; when full, the oldest entry not used since it was set or passed
 * over makes room (those used are passed over once, to the back). `dispose` sees every value
 * that leaves: evicted, replaced by another value, or cleared. */
export class Lru<K, V> {
  readonly #map = new Map<K, Slot<V>>();

  constructor(
    readonly max: number,
    readonly dispose: (value: V) => void,
  ) {}

  get size(): number {
    return this.#map.size;
  }

  /** The value of `key`, marked as used. */
  get(key: K): V | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    slot.used = true;
    return slot.value;
  }

  /** The value of `key`, not marked. */
  peek(key: K): V | undefined {
    return this.#map.get(key)?.value;
  }

  /** Sets `key`, at the back: the newest entry. */
  set(key: K, value: V): void {
    const previous = this.#map.get(key);
    if (previous !== undefined) {
      this.#map.delete(key);
      if (previous.value !== value) this.dispose(previous.value);
    } else {
      while (this.#map.size >= this.max) this.#evictOne();
    }
    this.#map.set(key, { value, used: false });
  }

  clear(): void {
    const slots = [...this.#map.values()];
    this.#map.clear();
    for (const slot of slots) this.dispose(slot.value);
  }

  /** The oldest entry goes, unless it was used: then it goes to the back, unmarked. */
  #evictOne(): void {
    const [key, slot] = this.#map.entries().next().value as [K, Slot<V>];
    this.#map.delete(key);
    if (slot.used) {
      slot.used = false;
      this.#map.set(key, slot);
    } else {
      this.dispose(slot.value);
    }
  }
}
