// The one place where svcdisc's settings are validated and where their defaults live.
// Environment variables and API options go through the same parsers, so both give the same
// messages for the same mistakes. Three tables, each with every setting (the types check it):
// its variable, its default, its parser (made when a value of it is parsed).
import {
  ipFamily,
  isDigits,
  type NamedServer,
  type Nameserver,
  type NameserverSpec,
  normalizeName,
  parseNamedServer,
  parseNameserver,
  parsePort,
} from './dns/names.js';
import { parseSrvTemplates } from './dns/srv-name.js';
import { parseTsigKey, TSIG_ALGORITHM_NAMES, type TsigKey } from './dns/tsig-key.js';
import { ConfigError } from './errors.js';

export type { NamedServer, Nameserver, NameserverSpec, TsigKey };

/** A service this program announces; without a port, its first TCP server's. */
export interface Announcement {
  name: string;
  port?: number;
}

/** Options of `createResolver()` and `install()`; each mirrors one `SVCDISC_*` variable. */
export interface SvcdiscOptions {
  /** Domains whose names are intercepted: the name itself and every name under it.
   * `SVCDISC_DOMAINS`. @default ['kw'] */
  domains?: readonly string[] | string;
  /** `ip`, `ip:port`, `[ipv6]:port`, or `host`/`host:port` found with the system resolver.
   * `SVCDISC_NAMESERVERS`.
   * @default the nameservers of /etc/resolv.conf, port 53 (127.0.0.1 if it lists none) */
  nameservers?: readonly string[] | string;
  /** Template of the SRV query name; `{host}` is the name connected to, `{port}` the port; or
   * a per-port list `5432=_postgresql._tcp.{host},_http._tcp.{host}`. `SVCDISC_SRV_NAME`.
   * @default '{host}' */
  srvName?: string;
  /** Time to wait for one query attempt, ms. `SVCDISC_TIMEOUT_MS`.
   * @default resolv.conf `timeout` (5 s when absent), at most 2000 */
  timeoutMs?: number;
  /** Attempts per nameserver. `SVCDISC_ATTEMPTS`. @default resolv.conf `attempts`, else 2 */
  attempts?: number;
  /** Always query over TCP (for servers that truncate without setting TC). `SVCDISC_TCP`.
   * @default false */
  tcp?: boolean;
  /** A name without SRV records is reached at its own A/AAAA records and the program's port
   * (RFC 2782); false: ENOTFOUND. `SVCDISC_FALLBACK`. @default true */
  fallback?: boolean;
  /** Lower clamp of record TTLs, s. `SVCDISC_MIN_TTL`. @default 0 (TTL 0 is honoured) */
  minTtl?: number;
  /** Upper clamp of record TTLs, s. `SVCDISC_MAX_TTL`. @default 3600 */
  maxTtl?: number;
  /** How long after expiry an answer may still be used while DNS fails (RFC 8767), s.
   * `SVCDISC_STALE_TTL`. 0 never serves stale answers. @default 3600 */
  staleTtl?: number;
  /** Give up on one endpoint and try the next, ms. `SVCDISC_CONNECT_TIMEOUT_MS`. @default 2000 */
  connectTimeoutMs?: number;
  /** The preload installs nothing. `SVCDISC_DISABLE`. @default false */
  disable?: boolean;
  /** This program's service name(s), announced by RFC 2136 when it listens: `name` (the port of
   * its first TCP server) or `name:port`. `SVCDISC_ANNOUNCE`. @default [] */
  announce?: readonly string[] | string;
  /** `ip[:port]` or `host[:port]` of the zone's primary for updates. `SVCDISC_UPDATE_SERVER`.
   * @default the first nameserver */
  updateServer?: string;
  /** `name:algorithm:base64secret`. `SVCDISC_TSIG_KEY`. @default unsigned */
  tsigKey?: string;
  /** Path of a BIND key file. `SVCDISC_TSIG_KEYFILE`. @default unsigned */
  tsigKeyFile?: string;
  /** Priority of the announced record. `SVCDISC_ANNOUNCE_PRIORITY`. @default 10 */
  announcePriority?: number;
  /** Weight of the announced record. `SVCDISC_ANNOUNCE_WEIGHT`. @default 100 */
  announceWeight?: number;
  /** TTL of the announced record, s. `SVCDISC_ANNOUNCE_TTL`. @default 30 */
  announceTtl?: number;
  /** Address of the announced record. `SVCDISC_ANNOUNCE_ADDRESS`.
   * @default the address the server is bound to; for 0.0.0.0 or ::, the first non-internal
   * address of this host */
  announceAddress?: string;
  /** Names kept in the answer cache (least recently used go first). API only. @default 1000 */
  cacheSize?: number;
}

/** Validated settings. `undefined` means "decided later from the system" (resolv.conf,
 * network interfaces), so that reading the environment never touches a file. */
export interface Config {
  domains: string[];
  nameservers: NameserverSpec[] | undefined;
  srvName: string;
  timeoutMs: number | undefined;
  attempts: number | undefined;
  tcp: boolean;
  fallback: boolean;
  minTtl: number;
  maxTtl: number;
  staleTtl: number;
  connectTimeoutMs: number;
  disable: boolean;
  announce: Announcement[];
  updateServer: NameserverSpec | undefined;
  tsigKey: TsigKey | undefined;
  tsigKeyFile: string | undefined;
  announcePriority: number;
  announceWeight: number;
  announceTtl: number;
  announceAddress: string | undefined;
  cacheSize: number;
}

/** Thrown by a field's parser: the raw value (a string from the environment, or an API
 * value) is not valid; the message says what is expected. */
class InvalidValue extends Error {}

type Parse<T> = (raw: unknown) => T;

const text: Parse<string> = (raw) => {
  if (typeof raw !== 'string') throw new InvalidValue('a string');
  return raw.trim();
};

function integer(min: number, max: number, unit: string): Parse<number> {
  const expected = `an integer from ${min} to ${max} (${unit})`;
  return (raw) => {
    const value =
      typeof raw === 'number'
        ? raw
        : typeof raw === 'string' && isDigits(raw.trim())
          ? Number(raw)
          : Number.NaN;
    if (!Number.isInteger(value) || value < min || value > max) throw new InvalidValue(expected);
    return value;
  };
}

const flag: Parse<boolean> = (raw) => {
  if (typeof raw === 'boolean') return raw;
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new InvalidValue('1 or 0 (true or false)');
};

function list<T>(item: (entry: string) => T, expected: string): Parse<T[]> {
  return (raw) => {
    const entries =
      typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : Number.NaN;
    if (!Array.isArray(entries)) throw new InvalidValue(`a comma-separated list of ${expected}`);
    const values: T[] = [];
    for (const entry of entries) {
      if (typeof entry !== 'string') throw new InvalidValue(`a list of ${expected}`);
      if (entry.trim() === '') continue;
      values.push(item(entry.trim()));
    }
    if (values.length === 0) throw new InvalidValue(`at least one of ${expected}`);
    return values;
  };
}

function dnsName(expected: string): (entry: string) => string {
  return (entry) => {
    const name = normalizeName(entry.startsWith('.') ? entry.slice(1) : entry);
    if (name === undefined) throw new InvalidValue(expected);
    return name;
  };
}

function nameserver(entry: string): NameserverSpec {
  const server = parseNameserver(entry) ?? parseNamedServer(entry);
  if (!server) throw new InvalidValue('ip, ip:port, [ipv6]:port, host or host:port (port 1-65535)');
  return server;
}

function announcement(entry: string): Announcement {
  const [name = '', port, ...rest] = entry.split(':');
  const normalized = normalizeName(name);
  const number = port === undefined ? undefined : (parsePort(port) ?? 0);
  if (normalized === undefined || rest.length > 0 || number === 0) {
    throw new InvalidValue(
      'service names, each name or name:port, such as user.prod.kw or user.prod.kw:8080',
    );
  }
  return number === undefined ? { name: normalized } : { name: normalized, port: number };
}

const SRV_NAME_EXPECTED =
  'a DNS name containing {host} (and perhaps {port}), such as _http._tcp.{host}, or a per-port list such as 5432=_postgresql._tcp.{host},_http._tcp.{host} (the last entry without a port: the default)';

function srvTemplate(raw: unknown): string {
  const template = text(raw);
  if (!parseSrvTemplates(template)) throw new InvalidValue(SRV_NAME_EXPECTED);
  return template
    .split(',')
    .map((entry) => entry.trim())
    .join(',');
}

function tsigKey(raw: unknown): TsigKey {
  const key = parseTsigKey(text(raw));
  if (!key) {
    throw new InvalidValue(
      `name:algorithm:base64secret with algorithm one of ${TSIG_ALGORITHM_NAMES.join(', ')}`,
    );
  }
  return key;
}

function ipAddress(raw: unknown): string {
  const address = text(raw);
  if (ipFamily(address) === 0) throw new InvalidValue('an IPv4 or IPv6 address');
  return address;
}

function path(raw: unknown): string {
  const value = text(raw);
  if (value === '') throw new InvalidValue('a file path');
  return value;
}

/** The settings that have an environment variable: all but `cacheSize` (an option only). */
type EnvKey = Exclude<keyof Config, 'cacheSize'>;

/** The environment variable of each setting. */
const ENV: { readonly [K in EnvKey]: string } = {
  domains: 'SVCDISC_DOMAINS',
  nameservers: 'SVCDISC_NAMESERVERS',
  srvName: 'SVCDISC_SRV_NAME',
  timeoutMs: 'SVCDISC_TIMEOUT_MS',
  attempts: 'SVCDISC_ATTEMPTS',
  tcp: 'SVCDISC_TCP',
  fallback: 'SVCDISC_FALLBACK',
  minTtl: 'SVCDISC_MIN_TTL',
  maxTtl: 'SVCDISC_MAX_TTL',
  staleTtl: 'SVCDISC_STALE_TTL',
  connectTimeoutMs: 'SVCDISC_CONNECT_TIMEOUT_MS',
  disable: 'SVCDISC_DISABLE',
  announce: 'SVCDISC_ANNOUNCE',
  updateServer: 'SVCDISC_UPDATE_SERVER',
  tsigKey: 'SVCDISC_TSIG_KEY',
  tsigKeyFile: 'SVCDISC_TSIG_KEYFILE',
  announcePriority: 'SVCDISC_ANNOUNCE_PRIORITY',
  announceWeight: 'SVCDISC_ANNOUNCE_WEIGHT',
  announceTtl: 'SVCDISC_ANNOUNCE_TTL',
  announceAddress: 'SVCDISC_ANNOUNCE_ADDRESS',
};

/** The environment variable of each setting, for documentation and error messages. Frozen: it
 * is the table configFromEnv() reads. */
export const ENV_VARIABLES: Readonly<Record<string, string>> = Object.freeze(ENV);

/** Every setting's default, in a new object (with new arrays) at each call. */
function defaults(): Config {
  return {
    domains: ['kw'],
    nameservers: undefined,
    srvName: '{host}',
    timeoutMs: undefined,
    attempts: undefined,
    tcp: false,
    fallback: true,
    minTtl: 0,
    maxTtl: 3600,
    staleTtl: 3600,
    connectTimeoutMs: 2000,
    disable: false,
    announce: [],
    updateServer: undefined,
    tsigKey: undefined,
    tsigKeyFile: undefined,
    announcePriority: 10,
    announceWeight: 100,
    announceTtl: 30,
    announceAddress: undefined,
    cacheSize: 1000,
  };
}

const MAX_TTL = 2 ** 31 - 1;

/** Every setting's parser, made when a value of it is parsed: the preload of a program whose
 * environment sets a few SVCDISC_* variables or none makes a few or none (a table of all the
 * parsers cost 0.1 ms of start-up). */
const PARSERS: { readonly [K in keyof Config]: () => Parse<Config[K]> } = {
  domains: () => list(dnsName('domain names such as kw or prod.example'), 'domain names'),
  nameservers: () => list(nameserver, 'ip, ip:port, [ipv6]:port, host or host:port'),
  srvName: () => srvTemplate,
  timeoutMs: () => integer(1, 60_000, 'milliseconds'),
  attempts: () => integer(1, 10, 'attempts per nameserver'),
  tcp: () => flag,
  fallback: () => flag,
  minTtl: () => integer(0, MAX_TTL, 'seconds'),
  maxTtl: () => integer(0, MAX_TTL, 'seconds'),
  staleTtl: () => integer(0, MAX_TTL, 'seconds'),
  connectTimeoutMs: () => integer(1, 600_000, 'milliseconds'),
  disable: () => flag,
  announce: () => list(announcement, 'service names, each name or name:port'),
  updateServer: () => (raw) => nameserver(text(raw)),
  tsigKey: () => tsigKey,
  tsigKeyFile: () => path,
  announcePriority: () => integer(0, 65535, 'SRV priority'),
  announceWeight: () => integer(0, 65535, 'SRV weight'),
  announceTtl: () => integer(0, 86_400, 'seconds'),
  announceAddress: () => ipAddress,
  cacheSize: () => integer(1, 1_000_000, 'entries'),
};

/** The setting whose value holds a secret: never shown in a message or kept on an error. */
const SECRET: keyof Config = 'tsigKey';

/** Edit distance (Levenshtein) of two short strings. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + cost));
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

/**
 * One warning line for each set `SVCDISC_*` variable that svcdisc does not know (a misspelling
 * is otherwise silently ignored), naming the closest known one. Touches no file.
 */
export function unknownVariableWarnings(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = Object.values(ENV_VARIABLES);
  const warnings: string[] = [];
  // Not Object.keys: on process.env it asks the environment again for each name (whether it
  // is enumerable; every one is), about 0.7 µs a variable against 0.2 — 0.16 ms at start-up
  // where a container has 335 variables (Kubernetes' service links add several per service).
  for (const variable of Object.getOwnPropertyNames(env)) {
    if (!variable.startsWith('SVCDISC_') || known.includes(variable)) continue;
    let closest = known[0] ?? '';
    for (const name of known)
      if (distance(variable, name) < distance(variable, closest)) closest = name;
    const hint =
      distance(variable, closest) <= 4
        ? `did you mean ${closest}?`
        : `the known ones are ${known.join(', ')}`;
    warnings.push(`${variable} is not a svcdisc variable and is ignored: ${hint}`);
  }
  return warnings;
}

/** A TSIG key as it may be shown: its name and algorithm, never the secret. */
function withoutSecret(raw: unknown): string {
  if (typeof raw !== 'string') return '(hidden)';
  const [name = '', algorithm] = raw.trim().split(':');
  return algorithm === undefined ? '(hidden)' : `${name}:${algorithm}:(secret hidden)`;
}

function parseField<K extends keyof Config>(key: K, raw: unknown, setting: string): Config[K] {
  try {
    return PARSERS[key]()(raw);
  } catch (error) {
    if (error instanceof InvalidValue) {
      const shown = key === SECRET ? withoutSecret(raw) : raw;
      throw new ConfigError(setting, shown, error.message);
    }
    throw error;
  }
}

/** Checks settings that are only wrong together. */
function checkCombinations(config: Config, settingOf: (key: EnvKey) => string): Config {
  if (config.minTtl > config.maxTtl) {
    throw new ConfigError(
      settingOf('minTtl'),
      config.minTtl,
      `at most ${settingOf('maxTtl')} (${config.maxTtl})`,
    );
  }
  // A nameserver under the intercepted domains would need svcdisc itself to be found.
  const intercepted = [...(config.nameservers ?? []), config.updateServer].find(
    (server) =>
      server &&
      'host' in server &&
      config.domains.some((d) => server.host === d || server.host.endsWith(`.${d}`)),
  );
  if (intercepted && 'host' in intercepted) {
    const key = config.nameservers?.includes(intercepted) ? 'nameservers' : 'updateServer';
    throw new ConfigError(
      settingOf(key),
      intercepted.host,
      `a nameserver name outside ${settingOf('domains')} (${config.domains.join(',')}), or its address`,
    );
  }
  if (config.tsigKey && config.tsigKeyFile) {
    throw new ConfigError(
      settingOf('tsigKeyFile'),
      config.tsigKeyFile,
      `unset while ${settingOf('tsigKey')} is set (one key source)`,
    );
  }
  return config;
}

/** Reads every `SVCDISC_*` variable; an empty variable counts as unset. Touches no file. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const config = defaults() as Record<keyof Config, unknown>;
  for (const key of Object.keys(ENV) as EnvKey[]) {
    const raw = env[ENV[key]];
    if (raw !== undefined && raw.trim() !== '') config[key] = parseField(key, raw, ENV[key]);
  }
  return checkCombinations(config as Config, (key) => ENV[key]);
}

/** Applies API options over a base configuration (the environment's by default). */
export function normalizeOptions(options: SvcdiscOptions = {}, base?: Config): Config {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('options', options, 'an object');
  }
  const config = { ...(base ?? configFromEnv()) } as Record<keyof Config, unknown>;
  for (const [key, raw] of Object.entries(options)) {
    if (!Object.hasOwn(PARSERS, key)) {
      const known = Object.keys(PARSERS).join(', ');
      throw new ConfigError(`options.${key}`, raw, `one of the options ${known}`);
    }
    if (raw !== undefined)
      config[key as keyof Config] = parseField(key as keyof Config, raw, `options.${key}`);
  }
  return checkCombinations(config as Config, (key) => `options.${key}`);
}
