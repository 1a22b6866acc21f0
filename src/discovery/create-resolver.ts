// createResolver(), the public API's resolver: its options validated as install()'s are. Apart
// from ./resolver.ts, which takes settings validated already, so that the preload's service
// side, which bundles the resolver, does not carry the settings' table (../config.ts).
import { normalizeOptions } from '../config.js';
import { type Resolver, type ResolverOptions, resolverFor } from './resolver.js';

/** A resolver with its own cache; options default to the `SVCDISC_*` environment. */
export function createResolver(options: ResolverOptions = {}): Resolver {
  const { now, random, onChange, ...settings } = options;
  return resolverFor(normalizeOptions(settings), { now, random, onChange });
}
