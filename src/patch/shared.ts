// What the preload's two bundles share, re-exported by the start-up bundle (install.ts) as
// `shared`: the service-side bundle (./side.ts) takes these modules from there instead of
// carrying copies of them (one settings table, one debug log). Whatever is here is compiled and
// run at start-up, so only what start-up needs anyway: the side carries its own copies of the
// modules start-up does not (resolv.conf; the errors of the resolver and the service connect,
// whose classes are told apart by their brand, not their identity), and its diagnostics
// channels (../events.ts). Leaving out nine error classes and resolv.conf's parser (4.5 KB)
// took about 0.5 ms off start-up on Node 22 and 24, less on Node 20 (bench/README.md, the
// sixth pass).
export * from '../config.js';
export * from '../debug.js';
export * from '../dns/names.js';
