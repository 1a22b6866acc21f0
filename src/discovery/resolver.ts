// The resolver: one bounded cache of service answers, one query in flight per name, stale
// answers while DNS fails (RFC 8767), negative answers for their SOA time (RFC 2308), and
// background refresh of names in use.
import { monotonicMs } from '../clock.js';
import type { Config, SvcdiscOptions } from '../config.js';
import { debug } from '../debug.js';
import { DnsClient, newWireStats, type WireStats } from '../dns/client.js';
import { normalizeName } from '../dns/names.js';
import { readResolvConf } from '../dns/resolv-conf.js';
import { parseSrvTemplates, type SrvTemplates, serviceKey } from '../dns/srv-name.js';
import { DnsError } from '../errors.js';
import { resolved } from '../events.js';
import { Lru } from './lru.js';
import { orderEndpoints, pickEndpoint, type Random } from './order.js';
import { type Endpoint, lookupService, NegativeAnswer, type Resolution } from './service.js';
import { type ResolverSettings, withSystemDefaults } from './settings.js';

/** Longest time a negative answer is kept, s, whatever the SOA says. */
export const MAX_NEGATIVE_TTL = 60;
/** How long a failed resolution is remembered before the next query, ms: stops a storm of
 * queries to servers that are down, short enough to notice their return. */
export const ERROR_BACKOFF_MS = 1000;
/** Background refresh starts this share of the TTL before expiry, at most REFRESH_LEAD_MAX_MS. */
const REFRESH_LEAD_SHARE = 0.1;
const REFRESH_LEAD_MAX_MS = 5000;

export interface ResolverStats extends WireStats {
  /** Answers given from the cache without a query. */
  cacheHits: number;
  /** Expired answers given because a refresh failed (RFC 8767). */
  staleServed: number;
  /** Resolutions that ended in an error, cached ones included. */
  errors: number;
  /** Background refreshes of names in use. */
  refreshes: number;
}

/** What a resolver is given besides its settings. */
export interface ResolverHooks {
  /** Clock in ms for TTLs, injectable for tests. @default monotonicMs (../clock.ts) */
  now?: () => number;
  /** Random number in [0, 1) for `order()` and `pick()`. @default Math.random */
  random?: Random;
  /** Called when a query replaces an answer: `next` is the new one, undefined when the name
   * has no endpoints any more (NXDOMAIN, NODATA…). The preload drains pooled connections to
   * endpoints that left. Exceptions are caught. */
  onChange?: (name: string, previous: Resolution, next: Resolution | undefined) => void;
}

export interface ResolverOptions extends SvcdiscOptions, ResolverHooks {}

export interface Resolver {
  /** The settings in use, system defaults filled in. */
  readonly settings: ResolverSettings;
  /** The endpoints of a service name, from the cache or DNS. With `port` (the port the
   * program connects to), SVCDISC_SRV_NAME's `{port}` and per-port entries apply; the name
   * may also be a key, `name:port`. */
  resolve(name: string, port?: number): Promise<Resolution>;
  /** The key of `name` at `port` for cached() and latest(): the name, or `name:port` where
   * the SRV query depends on the port. */
  key(name: string, port?: number): string;
  /** Whether the SRV query of a name needs the port (the default template has `{port}`). */
  readonly needsPort: boolean;
  /** The fresh cached answer for a normalised name (or key), synchronously, or undefined:
   * the preload's path for a warm cache. While the background refresh of an answer in use is
   * under way, that answer, expired or not (within the stale TTL). */
  cached(name: string): Resolution | undefined;
  /** The endpoints in RFC 2782 order for one new connection. */
  order<T extends Endpoint>(endpoints: readonly T[]): T[];
  /** The first endpoint of such an order, passing over those `skip` rejects while others
   * remain: the choice for one request. */
  pick<T extends Endpoint>(endpoints: readonly T[], skip?: (endpoint: T) => boolean): T | undefined;
  /** The last answer for a normalised name, fresh or expired, without counting a use; null
   * when the last query found no endpoints; undefined when nothing is known. */
  latest(name: string): Resolution | null | undefined;
  /** A copy of the counters. */
  stats(): ResolverStats;
  /** Forgets every answer and stops background refreshes. */
  clear(): void;
}

interface Entry {
  /** The last good answer, kept for stale use after it expires. */
  resolution?: Resolution;
  expiresAt: number;
  staleUntil: number;
  /** A failure remembered until `until`: a negative answer or an error back-off. */
  failure?: { error: DnsError; until: number };
  /** Whether the answer was used since it was fetched: only those are refreshed. */
  used: boolean;
  /** Whether the background refresh of the answer is under way: until it ends, the answer
   * is given after it expires (within the stale TTL), as it was a moment before. */
  refreshing: boolean;
  timer?: NodeJS.Timeout;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Whether an answer may be given without a query: fresh, or expired while the refresh that
 * replaces it is under way (within the stale TTL). A refresh that runs past the expiry — a
 * slow server, a TTL whose lead (a tenth) is shorter than a round trip, a busy event loop —
 * leaves no gap in which an answer in use is missing: an http.Agent request there would get
 * a free socket of Node's own pool for the name, one endpoint for every request in the gap. */
function current(entry: Entry, now: number): boolean {
  return now < entry.expiresAt || (entry.refreshing && now < entry.staleUntil);
}

/** An entry with no answer, only a failure (kept until `failure.until`). */
const failedEntry = (failure: NonNullable<Entry['failure']>): Entry => ({
  expiresAt: 0,
  staleUntil: 0,
  used: false,
  refreshing: false,
  failure,
});

class ServiceResolver implements Resolver {
  readonly settings: ResolverSettings;
  readonly #client: DnsClient;
  readonly #stats: ResolverStats = {
    ...newWireStats(),
    cacheHits: 0,
    staleServed: 0,
    errors: 0,
    refreshes: 0,
  };
  readonly #cache: Lru<string, Entry>;
  readonly #inFlight = new Map<string, Promise<Resolution>>();
  readonly #now: () => number;
  readonly #random: Random;
  readonly #onChange: ResolverHooks['onChange'];
  readonly #templates: SrvTemplates;
  readonly needsPort: boolean;

  constructor(config: Config, { now, random, onChange }: ResolverHooks) {
    this.#onChange = onChange;
    this.settings = withSystemDefaults(config, () => readResolvConf());
    this.#templates = parseSrvTemplates(this.settings.srvName) as SrvTemplates;
    this.needsPort = this.#templates.fallback.includes('{port}');
    this.#client = new DnsClient(this.settings, this.#stats);
    this.#now = now ?? monotonicMs;
    this.#random = random ?? Math.random;
    this.#cache = new Lru<string, Entry>(this.settings.cacheSize, (entry) =>
      clearTimeout(entry.timer),
    );
  }

  order<T extends Endpoint>(endpoints: readonly T[]): T[] {
    return orderEndpoints(endpoints, this.#random);
  }

  pick<T extends Endpoint>(
    endpoints: readonly T[],
    skip?: (endpoint: T) => boolean,
  ): T | undefined {
    return pickEndpoint(endpoints, this.#random, skip);
  }

  latest(name: string): Resolution | null | undefined {
    const entry = this.#cache.peek(name);
    if (entry === undefined) return undefined;
    return entry.resolution ?? (entry.failure?.error.reason ? null : undefined);
  }

  stats(): ResolverStats {
    return { ...this.#stats };
  }

  clear(): void {
    this.#cache.clear();
  }

  cached(name: string): Resolution | undefined {
    const entry = this.#cache.get(name);
    if (!entry?.resolution || !current(entry, this.#now())) return undefined;
    this.#stats.cacheHits++;
    entry.used = true;
    return entry.resolution;
  }

  key(name: string, port?: number): string {
    return serviceKey(this.#templates, name, port);
  }

  /** `name` or `name:port`, normalised; undefined when it is neither. */
  #keyOf(name: unknown, port: number | undefined): string | undefined {
    if (typeof name !== 'string') return undefined;
    const colon = name.indexOf(':');
    const host = normalizeName(colon < 0 ? name : name.slice(0, colon));
    const given = colon < 0 ? port : Number(name.slice(colon + 1));
    if (host === undefined) return undefined;
    if (given !== undefined && !(Number.isInteger(given) && given > 0 && given < 65536))
      return undefined;
    return colon < 0 ? this.key(host, given) : `${host}:${given}`;
  }

  async resolve(name: string, port?: number): Promise<Resolution> {
    const key = this.#keyOf(name, port);
    if (key === undefined) {
      this.#stats.errors++;
      throw new DnsError('EBADNAME', {
        hostname: String(name),
        query: String(name),
        detail: 'not a valid DNS name (or name:port)',
      });
    }
    const entry = this.#cache.get(key);
    const now = this.#now();
    if (entry?.resolution && current(entry, now)) {
      this.#stats.cacheHits++;
      entry.used = true;
      return entry.resolution;
    }
    if (entry?.failure && now < entry.failure.until) {
      return this.#fallBack(entry, entry.failure.error, now);
    }
    try {
      return await this.#fetch(key);
    } catch (error) {
      return this.#fallBack(this.#cache.get(key), error as DnsError, this.#now());
    }
  }

  /** One query per name at a time, shared by every caller waiting for it. */
  #fetch(key: string): Promise<Resolution> {
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = this.#query(key).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending;
  }

  /** The SRV name to ask for a key: its port's template, else the default. */
  #queryName(host: string, port: number | undefined): string | undefined {
    const template =
      (port === undefined ? undefined : this.#templates.byPort.get(port)) ??
      this.#templates.fallback;
    if (template.includes('{port}') && port === undefined) return undefined;
    return template.replaceAll('{host}', host).replaceAll('{port}', String(port));
  }

  async #query(key: string): Promise<Resolution> {
    const colon = key.indexOf(':');
    const host = colon < 0 ? key : key.slice(0, colon);
    const port = colon < 0 ? undefined : Number(key.slice(colon + 1));
    const query = this.#queryName(host, port);
    if (query === undefined) {
      throw new DnsError('EBADNAME', {
        hostname: host,
        query: this.settings.srvName,
        detail: 'SVCDISC_SRV_NAME has {port} and no port was given',
      });
    }
    let found: Resolution | NegativeAnswer;
    try {
      found = await lookupService(this.#client, host, query, this.settings.fallback);
    } catch (thrown) {
      throw this.#failed(key, host, query, thrown);
    }
    if (found instanceof NegativeAnswer) throw this.#forget(key, host, query, found);
    const resolution = deepFreeze({ ...found, ttl: this.#clampTtl(found.ttl) });
    const previous = this.#cache.peek(key)?.resolution;
    this.#store(key, resolution);
    if (previous) this.#changed(key, previous, resolution);
    resolved(() => ({
      name: host,
      query,
      endpoints: resolution.endpoints.length,
      ttl: resolution.ttl,
      ...(resolution.fallback ? { fallback: true } : {}),
    }));
    return resolution;
  }

  /** DNS failed (no usable reply): the failure is kept ERROR_BACKOFF_MS beside any old answer,
   * which stays usable as stale (RFC 8767). Returns the error to throw. */
  #failed(key: string, host: string, query: string, thrown: unknown): DnsError {
    const error =
      thrown instanceof DnsError
        ? thrown
        : new DnsError('EBADRESP', {
            hostname: host,
            query,
            servers: this.#client.servers,
            cause: thrown,
            detail: String(thrown),
          });
    const failure = { error, until: this.#now() + ERROR_BACKOFF_MS };
    const entry = this.#cache.get(key);
    if (entry) entry.failure = failure;
    else this.#cache.set(key, failedEntry(failure));
    resolved(() => ({ name: host, query, error }));
    return error;
  }

  /** Tells the owner that an answer was replaced; its exceptions are not the resolver's. */
  #changed(key: string, previous: Resolution, next: Resolution | undefined): void {
    try {
      this.#onChange?.(key, previous, next);
    } catch (error) {
      debug('change of %s not handled: %s', key, (error as Error).message);
    }
  }

  /** After a failed refresh: the expired answer if it is young enough (RFC 8767), else the error. */
  #fallBack(entry: Entry | undefined, error: DnsError, now: number): Resolution {
    if (entry?.resolution && now < entry.staleUntil) {
      this.#stats.staleServed++;
      entry.used = true;
      debug('stale answer for %s served: %s', entry.resolution.name, error.message);
      return entry.resolution;
    }
    this.#stats.errors++;
    throw error;
  }

  /** The service is gone or never was: any old answer is forgotten (never used stale), and
   * the negative answer kept for its own TTL (RFC 2308 5). Returns the error to throw. */
  #forget(key: string, host: string, query: string, negative: NegativeAnswer): DnsError {
    const error = this.#notFound(host, query, negative);
    const ttl = Math.min(negative.ttl ?? ERROR_BACKOFF_MS / 1000, MAX_NEGATIVE_TTL);
    const entry = this.#cache.get(key);
    if (entry?.resolution) this.#changed(key, entry.resolution, undefined);
    this.#cache.set(key, failedEntry({ error, until: this.#now() + ttl * 1000 }));
    resolved(() => ({ name: host, query, error }));
    return error;
  }

  #notFound(host: string, query: string, negative: NegativeAnswer): DnsError {
    const detail = {
      NXDOMAIN: 'no such name (NXDOMAIN)',
      NODATA: 'no SRV records (NODATA)',
      NO_SERVICE: 'service not available (SRV target ".")',
      NO_ADDRESS: 'no address for any SRV target',
    }[negative.reason];
    return new DnsError('ENOTFOUND', {
      hostname: host,
      query,
      servers: this.#client.servers,
      reason: negative.reason,
      detail,
    });
  }

  #clampTtl(ttl: number): number {
    return Math.min(Math.max(ttl, this.settings.minTtl), this.settings.maxTtl);
  }

  #store(key: string, resolution: Resolution): void {
    const now = this.#now();
    const lifetime = resolution.ttl * 1000;
    const entry: Entry = {
      resolution,
      expiresAt: now + lifetime,
      staleUntil: now + lifetime + this.settings.staleTtl * 1000,
      used: false,
      refreshing: false,
    };
    // TTL 0 answers are never reused fresh, so there is nothing to refresh ahead of time.
    if (lifetime > 0) {
      const lead = Math.min(lifetime * REFRESH_LEAD_SHARE, REFRESH_LEAD_MAX_MS);
      entry.timer = setTimeout(() => this.#refresh(key, entry), lifetime - lead).unref();
    }
    this.#cache.set(key, entry);
  }

  /** Refreshes a name used since it was fetched, before it expires, so callers don't wait. */
  #refresh(key: string, entry: Entry): void {
    entry.timer = undefined;
    if (!entry.used || this.#cache.peek(key) !== entry) return;
    this.#stats.refreshes++;
    debug('refreshing %s before it expires', key);
    entry.refreshing = true;
    // A failure is kept in the entry and shows on the next resolve(); nothing else to do here.
    const over = () => {
      entry.refreshing = false;
    };
    this.#fetch(key).then(over, over);
  }
}

/** A resolver for settings validated already (install() passes its own). */
export function resolverFor(config: Config, hooks: ResolverHooks = {}): Resolver {
  return new ServiceResolver(config, hooks);
}
