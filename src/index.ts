// The public API of svcdisc.
export {
  type Config,
  configFromEnv,
  ENV_VARIABLES,
  type Nameserver,
  normalizeOptions,
  type SvcdiscOptions,
  type TsigKey,
  unknownVariableWarnings,
} from './config.js';
export { createResolver } from './discovery/create-resolver.js';
export { orderEndpoints as order, type Random, type Weighted } from './discovery/order.js';
export type { Resolver, ResolverOptions, ResolverStats } from './discovery/resolver.js';
export type { Address, Endpoint, Resolution } from './discovery/service.js';
export { parseResolvConf, readResolvConf } from './dns/resolv-conf.js';
export {
  AlreadyInstalledError,
  AnnounceError,
  ConfigError,
  ConnectTimeoutError,
  DnsError,
  type DnsErrorCode,
  type DnsSyscall,
  DockerError,
  type NegativeReason,
  ServiceConnectError,
  SvcdiscError,
  UpdateError,
  ZoneError,
} from './errors.js';
export { CHANNELS, type DrainMessage } from './events.js';
export {
  install,
  installedResolver,
  pooledSockets,
  uninstall,
} from './patch/install.js';
export type { PoolStats } from './patch/pools.js';
