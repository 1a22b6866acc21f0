// The resolver side of the preload, required on the first intercepted name. In dist it is one
// bundle (scripts/bundle-preload.mjs): the resolver, its cache, the DNS client and dns-packet,
// taking what it shares with the start-up path (./shared.ts) from the start-up bundle.
export { resolverFor } from '../discovery/resolver.js';
