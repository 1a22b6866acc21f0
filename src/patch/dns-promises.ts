// dns.promises.lookup, patched when the program first reaches it, not at start-up. Node loads
// `internal/dns/promises` on the first read of `dns.promises` (a getter) or the first
// require('dns/promises'), and that module copies the binding's getaddrinfo/getnameinfo once,
// at load: loading it from the preload would change what the program gets (Node's own tests
// replace the binding's functions before they load it). See docs/node-internals.md.
// Not `import dns from`: the bundler would copy every export of the module when it loads.
import dns = require('node:dns');

// biome-ignore lint/suspicious/noExplicitAny: dns.promises.lookup's overloads take any argument list
type AnyFunction = (...args: any[]) => any;
type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
interface PromisesApi {
  lookup: AnyFunction;
}

const loadedList = () => (process as unknown as { moduleLoadList?: string[] }).moduleLoadList;
const LOADED = 'NativeModule internal/dns/promises';
const loaded = () => loadedList()?.includes(LOADED) ?? true;
/** The CJS loader (what require('node:module') returns), reached without loading the public
 * `node:module` (about 0.6 ms at start-up): every CommonJS `module` is an instance of it, and
 * it has `syncBuiltinESMExports` (the loader defines it; node:module re-exports it). */
const moduleLoad = module.constructor as unknown as {
  _load: Load;
  syncBuiltinESMExports(): void;
};

/** ES modules' named imports of builtins are copies, refreshed by syncBuiltinESMExports()
 * after a patch. Only where ES modules can have imported a builtin, which goes through Node's
 * ESM translators: before those load (a CommonJS program, or any program while -r preloads
 * run on Node 20 and 22; Node 24 loads them before) there is nothing to refresh. */
export function syncESMExports(): void {
  if (loadedList()?.includes('NativeModule internal/modules/esm/translators') === false) return;
  moduleLoad.syncBuiltinESMExports();
}

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
    syncESMExports();
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
        syncESMExports();
      }
      patched = undefined;
    },
  };
}
