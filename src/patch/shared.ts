// What the preload's two bundles share, re-exported by the start-up bundle (install.ts) as
// `shared`: the service-side bundle (./side.ts) takes these modules from there instead of
// carrying copies of them (one settings type, one set of error classes, one debug log).
// Whatever is here runs at start-up: the diagnostics channels (../events.ts) are the side's.
export * from '../config.js';
export * from '../debug.js';
export * from '../dns/names.js';
export * from '../dns/resolv-conf.js';
export * from '../errors.js';
