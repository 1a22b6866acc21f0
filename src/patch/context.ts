// What the connect patch and each service connect share, built once by install(). Its own
// module, so that connect.ts and service-connect.ts both import it and not each other.
import type { Resolver } from '../discovery/resolver.js';
import type { Deadlines } from './deadlines.js';
import type { EndpointHealth } from './health.js';
import type { Matcher } from './match.js';
import type { Pools } from './pools.js';
import type { SyntheticAddresses } from './synthetic.js';

/** What the patch needs. */
export interface ConnectContext {
  matcher: Matcher;
  synthetic: SyntheticAddresses;
  /** The resolver, created on first use. */
  resolver: () => Resolver;
  health: EndpointHealth;
  pools: Pools;
  /** Adopts the keep-alive pools (http.Agent, undici's global Agent) once the program has
   * them; cheap to call again. True where it patched http.Agent just now. */
  adoptPools: () => boolean;
  connectTimeoutMs: number;
  /** The connect attempts' timeouts. */
  deadlines: Deadlines;
}
