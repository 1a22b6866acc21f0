// Addresses handed out by the patched dns.lookup for service names. A program that resolves
// first and connects by address (@grpc/grpc-js) connects to one of these; the connect patch
// maps it back to the service and reaches a real endpoint at its SRV port. They come from the
// benchmarking ranges (RFC 2544: 198.18.0.0/15; RFC 5180: 2001:2::/48), never routed.

/** How many service names get their own address before the oldest is reused. */
const CAPACITY = 1 << 16;

export class SyntheticAddresses {
  readonly #byName = new Map<string, number>();
  readonly #byIndex = new Map<number, string>();
  #next = 0;

  /** The IPv4 and IPv6 addresses of a service name, the same for its lifetime here. */
  addressesOf(name: string): { v4: string; v6: string } {
    let index = this.#byName.get(name);
    if (index === undefined) {
      index = this.#next;
      this.#next = (this.#next + 1) % CAPACITY;
      const previous = this.#byIndex.get(index);
      if (previous !== undefined) this.#byName.delete(previous);
      this.#byName.set(name, index);
      this.#byIndex.set(index, name);
    }
    // 198.18.0.1 upward: index 0 -> .0.1, skipping the network address.
    const n = index + 1;
    return { v4: `198.18.${n >> 8}.${n & 0xff}`, v6: `2001:2::${n.toString(16)}` };
  }

  /** The service name an address was handed out for, if it was. */
  nameOf(address: string): string | undefined {
    let index: number | undefined;
    if (address.startsWith('198.18.')) {
      const [, , high, low] = address.split('.').map(Number);
      index = (high ?? 0) * 256 + (low ?? 0) - 1;
    } else if (address.startsWith('2001:2::')) {
      index = Number.parseInt(address.slice(8), 16) - 1;
    }
    return index === undefined ? undefined : this.#byIndex.get(index);
  }
}
