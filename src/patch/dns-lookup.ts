// dns.lookup and dns.promises.lookup for service names. Programs that resolve first and then
// connect by address (@grpc/grpc-js) get a synthetic address for the service; connecting to
// it reaches an endpoint chosen per connection at its SRV port (see connect.ts). The SRV query
// is made first, so a name without endpoints fails here as it would with Node's own lookup.
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import type { Resolver } from '../discovery/resolver.js';
import type { Matcher } from './match.js';
import type { SyntheticAddresses } from './synthetic.js';

export interface LookupContext {
  matcher: Matcher;
  synthetic: SyntheticAddresses;
  resolver: () => Resolver;
}

const UNPATCHED = Symbol.for('svcdisc.unpatchedLookup');

type LookupOptions = (LookupOneOptions | LookupAllOptions) & { family?: number | string };
type Callback = (error: Error | null, address?: string | LookupAddress[], family?: number) => void;
// biome-ignore lint/suspicious/noExplicitAny: dns.lookup's overloads take any argument list
type AnyFunction = (...args: any[]) => any;

/** The options object of dns.lookup's three call forms: (name, cb), (name, family, cb), (name, options, cb). */
function optionsOf(options: unknown): LookupOptions {
  if (typeof options === 'number') return { family: options };
  return typeof options === 'object' && options !== null ? (options as LookupOptions) : {};
}

/** What Node's lookup would answer for a service name, once its SRV query has succeeded: the
 * service's synthetic address, of the family asked for (IPv4 unless IPv6 is asked). */
async function answer(
  context: LookupContext,
  name: string,
  options: LookupOptions,
): Promise<LookupAddress | LookupAddress[]> {
  // With `{port}` in the default SRV template, the query waits for the connect's port.
  const resolver = context.resolver();
  if (!resolver.needsPort) await resolver.resolve(name);
  const { v4, v6 } = context.synthetic.addressesOf(name);
  const wantsV6 = options.family === 6 || options.family === 'IPv6';
  const address: LookupAddress = wantsV6 ? { address: v6, family: 6 } : { address: v4, family: 4 };
  return options.all ? [address] : address;
}

export function createLookupPatch(original: AnyFunction, context: LookupContext): AnyFunction {
  function lookup(this: unknown, hostname: unknown, options: unknown, callback?: unknown): unknown {
    const name = typeof hostname === 'string' ? context.matcher(hostname) : undefined;
    const done = (typeof options === 'function' ? options : callback) as Callback | undefined;
    // Anything else, bad arguments included, is Node's to handle (and to reject).
    if (name === undefined || typeof done !== 'function')
      // biome-ignore lint/complexity/noArguments: Node's lookup reads how many arguments it got
      return Reflect.apply(original, this, arguments);
    // The callback runs outside the promise: an exception in it is the program's, as with Node's.
    answer(context, name, optionsOf(options)).then(
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
  context: LookupContext,
): AnyFunction {
  return function lookup(this: unknown, hostname: unknown, options?: unknown): unknown {
    const name = typeof hostname === 'string' ? context.matcher(hostname) : undefined;
    // biome-ignore lint/complexity/noArguments: Node's lookup reads how many arguments it got
    if (name === undefined) return Reflect.apply(original, this, arguments);
    return answer(context, name, optionsOf(options));
  };
}
