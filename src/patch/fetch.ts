// globalThis.fetch, wrapped so that undici's global Agent is adopted (dispatcher.ts) before
// the first request to a service name is dispatched: else that request would land in the
// Agent's own pool. Requests to other names pass through after a look at their URL's host.
import { debug } from '../debug.js';
import { hostnameOf, type Matcher } from './match.js';

/** Where undici 8 (Node 26's fetch, the undici package 8) keeps its global dispatcher; undici
 * 7.27 and later (Node 24.22's 7.30) keep the same Agent there and at GLOBAL_DISPATCHER_1. */
export const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.2');
/** Where undici before 7.27 (Node 20 and 22's 6.x) keeps it. undici 8 keeps there a wrapper of
 * its own Agent for undici packages of the old dispatch API (Dispatcher1Wrapper), which
 * dispatches through that Agent: adopting the Agent covers both. */
export const GLOBAL_DISPATCHER_1 = Symbol.for('undici.globalDispatcher.1');

/** undici's global dispatcher: undefined until a fetch or the undici package creates it. Every
 * undici from 6 to 8 that sets one sets GLOBAL_DISPATCHER_1, so that one is read first: where
 * there is none (most programs, on every service connect) that is one lookup, not two: a
 * property the global object does not have is looked up in its dictionary by the IC, which
 * V8's optimising tiers call rather than inline (bench/README.md, the forty-fourth pass). */
export const globalDispatcher = (): unknown => {
  const legacy = (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER_1];
  if (legacy === undefined) return undefined;
  return (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER] ?? legacy;
};

/** The URL a fetch() input names, where it is a string, a URL or a Request. */
function urlOf(input: unknown): unknown {
  if (typeof input === 'object' && input !== null && !(input instanceof URL))
    return (input as { url?: unknown }).url;
  return input;
}

/**
 * Wraps globalThis.fetch: the first call for a service name creates undici's global Agent (by
 * touching a lazy global that loads undici, as fetch itself would) and has `adopt` adopt it.
 * Programs that never call fetch load nothing. Returns the undo.
 */
export function adoptBeforeFirstFetch(matcher: Matcher, adopt: () => void): () => void {
  const original = globalThis.fetch;
  if (typeof original !== 'function') return () => {};
  let adopted = false;
  // The same name and length as Node's own fetch (`fetch(input, init = undefined)`).
  const fetch = function fetch(this: unknown, input: unknown, _init: unknown = undefined) {
    if (!adopted) {
      const host = hostnameOf(urlOf(input));
      if (host !== undefined && matcher(host) !== undefined) {
        adopted = true;
        try {
          void globalThis.Headers;
          adopt();
        } catch (error) {
          debug('fetch pools not adopted: %s', (error as Error).message);
        }
      }
    }
    // biome-ignore lint/complexity/noArguments: fetch reads how many arguments it got
    return Reflect.apply(original, this, arguments);
  };
  globalThis.fetch = fetch as typeof globalThis.fetch;
  return () => {
    if (globalThis.fetch === fetch) globalThis.fetch = original;
  };
}
