// dns.promises.lookup, patched when the program first reaches it, not at start-up. Node loads
// `internal/dns/promises` on the first read of `dns.promises` (a getter) or the first
// require('dns/promises'), and that module copies the binding's getaddrinfo/getnameinfo once,
// at load: loading it from the preload would change what the program gets (Node's own tests
// replace the binding's functions before they load it). See docs/node-internals.md.
import dns from 'node:dns';
import Module, { syncBuiltinESMExports } from 'node:module';

// biome-ignore lint/suspicious/noExplicitAny: dns.promises.lookup's overloads take any argument list
type AnyFunction = (...args: any[]) => any;
type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
interface PromisesApi {
  lookup: AnyFunction;
}

const LOADED = 'NativeModule internal/dns/promises';
const moduleLoad = Module as unknown as { _load: Load };
const loaded = () =>
  (process as unknown as { moduleLoadList?: string[] }).moduleLoadList?.includes(LOADED) ?? true;

export interface LazyPatch {
  undo(): void;
}

/** Replaces dns.promises.lookup by `patch(original)` as soon as the program reaches it. */
export function patchPromisesLookup(patch: (original: AnyFunction) => AnyFunction): LazyPatch {
  let patched: { api: PromisesApi; original: AnyFunction; replacement: AnyFunction } | undefined;
  const descriptor = Object.getOwnPropertyDescriptor(dns, 'promises');
  const getter = descriptor?.get;
  const load = moduleLoad._load;

  function apply(api: PromisesApi): void {
    if (patched) return;
    patched = { api, original: api.lookup, replacement: patch(api.lookup) };
    api.lookup = patched.replacement;
    unhook();
    // ESM named imports of node:dns/promises are copies: refresh them.
    syncBuiltinESMExports();
  }
  function unhook(): void {
    if (descriptor && Object.getOwnPropertyDescriptor(dns, 'promises')?.get === promises)
      Object.defineProperty(dns, 'promises', descriptor);
    if (moduleLoad._load === loadAndPatch) moduleLoad._load = load;
  }
  // dns.promises: the program's first read loads it, then it is patched.
  function promises(this: unknown): unknown {
    const api = (getter as () => PromisesApi).call(this);
    apply(api);
    return api;
  }
  // require('dns/promises') and require('node:dns/promises') do not read dns.promises.
  function loadAndPatch(this: unknown, request: string): unknown {
    // biome-ignore lint/complexity/noArguments: Module._load's arguments pass through unchanged
    const result = Reflect.apply(load, this, arguments);
    if (request === 'dns/promises' || request === 'node:dns/promises') apply(result as PromisesApi);
    return result;
  }

  if (!getter || !descriptor.configurable || loaded()) {
    // Already loaded (install() called by a program that used it), or a Node without the getter.
    apply(dns.promises as PromisesApi);
  } else {
    Object.defineProperty(dns, 'promises', { ...descriptor, get: promises });
    moduleLoad._load = loadAndPatch;
  }
  return {
    undo() {
      unhook();
      if (patched && patched.api.lookup === patched.replacement) {
        patched.api.lookup = patched.original;
        syncBuiltinESMExports();
      }
      patched = undefined;
    },
  };
}
