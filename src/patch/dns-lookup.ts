// dns.lookup and dns.promises.lookup for service names. Programs that resolve first and then
// connect by address (@grpc/grpc-js) get a synthetic address for the service; connecting to
// it reaches an endpoint chosen per connection at its SRV port (see connect.ts). The SRV query
// is made first, so a name without endpoints fails here as it would with Node's own lookup.
import type { LookupAddress } from 'node:dns';
import type { Matcher } from './match.js';
import type { LookupOptions, ServiceSide } from './side.js';

const UNPATCHED = Symbol.for('svcdisc.unpatchedLookup');

type Callback = (error: Error | null, address?: string | LookupAddress[], family?: number) => void;
// biome-ignore lint/suspicious/noExplicitAny: dns.lookup's overloads take any argument list
type AnyFunction = (...args: any[]) => any;

/** The options object of dns.lookup's three call forms: (name, cb), (name, family, cb), (name, options, cb). */
function optionsOf(options: unknown): LookupOptions {
  if (typeof options === 'number') return { family: options };
  return typeof options === 'object' && options !== null ? (options as LookupOptions) : {};
}

/** `load` loads the service side, which answers for service names. */
export function createLookupPatch(
  original: AnyFunction,
  matcher: Matcher,
  load: () => ServiceSide,
): AnyFunction {
  function lookup(this: unknown, hostname: unknown, options: unknown, callback?: unknown): unknown {
    const name = typeof hostname === 'string' ? matcher(hostname) : undefined;
    const done = (typeof options === 'function' ? options : callback) as Callback | undefined;
    // Anything else, bad arguments included, is Node's to handle (and to reject).
    if (name === undefined || typeof done !== 'function')
      // biome-ignore lint/complexity/noArguments: Node's lookup reads how many arguments it got
      return Reflect.apply(original, this, arguments);
    // The callback runs outside the promise: an exception in it is the program's, as with Node's.
    load()
      .lookup(name, optionsOf(options))
      .then(
        (result) =>
          Array.isArray(result)
            ? process.nextTick(done, null, result)
            : process.nextTick(done, null, result.address, result.family),
        (error: Error) => process.nextTick(done, error),
      );
    return {};
  }
  // util.promisify(dns.lookup) relies on the original's symbols (customPromisifyArgs).
  for (const symbol of Object.getOwnPropertySymbols(original)) {
    if (symbol === UNPATCHED) continue;
    Object.defineProperty(
      lookup,
      symbol,
      Object.getOwnPropertyDescriptor(original, symbol) as PropertyDescriptor,
    );
  }
  // The resolver finds nameservers given by name with Node's own lookup (src/dns/client.ts),
  // the first one when lookups are wrapped again.
  const unpatched = (original as unknown as Record<symbol, AnyFunction | undefined>)[UNPATCHED];
  Object.defineProperty(lookup, UNPATCHED, { value: unpatched ?? original });
  return lookup;
}

export function createPromisesLookupPatch(
  original: AnyFunction,
  matcher: Matcher,
  load: () => ServiceSide,
): AnyFunction {
  return function lookup(this: unknown, hostname: unknown, options?: unknown): unknown {
    const name = typeof hostname === 'string' ? matcher(hostname) : undefined;
    // biome-ignore lint/complexity/noArguments: Node's lookup reads how many arguments it got
    if (name === undefined) return Reflect.apply(original, this, arguments);
    return load().lookup(name, optionsOf(options));
  };
}
