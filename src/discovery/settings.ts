// The settings a resolver runs with: the configuration, with what it leaves to the system
// (nameservers, timeout, attempts) taken from resolv.conf. Apart from ../config.ts so that the
// preload's service side, which carries its own copy, does not load the settings' table.
import type { Config, NameserverSpec } from '../config.js';
import { type ResolvConf, systemSettings } from '../dns/resolv-conf.js';

/** The settings a resolver needs, with the system's defaults filled in. */
export interface ResolverSettings extends Config {
  nameservers: NameserverSpec[];
  timeoutMs: number;
  attempts: number;
}

/** Fills the settings left to the system from a parsed resolv.conf. */
export function withSystemDefaults(config: Config, resolvConf: () => ResolvConf): ResolverSettings {
  if (config.nameservers && config.timeoutMs !== undefined && config.attempts !== undefined) {
    return config as ResolverSettings;
  }
  const system = systemSettings(resolvConf());
  return {
    ...config,
    nameservers: config.nameservers ?? system.nameservers,
    timeoutMs: config.timeoutMs ?? system.timeoutMs,
    attempts: config.attempts ?? system.attempts,
  };
}
