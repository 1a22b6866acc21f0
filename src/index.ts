// The public API of svcdisc.
export {
  type Config,
  ConfigError,
  configFromEnv,
  ENV_VARIABLES,
  type Nameserver,
  normalizeOptions,
  type SvcdiscOptions,
  type TsigKey,
  unknownVariableWarnings,
} from './config.js';
export { orderEndpoints as order, type Random, type Weighted } from './discovery/order.js';
export {
  createResolver,
  type Resolver,
  type ResolverOptions,
  type ResolverStats,
} from './discovery/resolver.js';
export type { Address, Endpoint, Resolution } from './discovery/service.js';
export { DnsError, type DnsErrorCode, type NegativeReason } from './dns/errors.js';
export { parseResolvConf, readResolvConf } from './dns/resolv-conf.js';
export { CHANNELS, type DrainMessage } from './events.js';
export {
  AlreadyInstalledError,
  install,
  installedResolver,
  pooledSockets,
  uninstall,
} from './patch/install.js';
export type { PoolStats } from './patch/pools.js';
