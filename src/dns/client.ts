// Asks the nameservers in order until one gives a usable reply: attempts outer, servers inner,
// as glibc and Go do (resolv.conf(5) `attempts`), so a dead first server costs one timeout.
import type { LookupAddress } from 'node:dns';

// Not `import dns from`: the bundler would copy every export of the module when it loads.
import dns = require('node:dns');

import { DnsError, type DnsErrorCode, type DnsSyscall } from '../errors.js';
import type { QueryType, Question } from './message.js';
import { formatServer, type Nameserver, type NameserverSpec } from './names.js';
import type { Reply } from './packet.js';
import { type Exchange, exchangeTcp, exchangeUdp, type Outcome } from './transport.js';

export interface ClientSettings {
  /** Named servers are resolved with the system resolver on first use, and again after a
   * query that every server failed. */
  nameservers: NameserverSpec[];
  timeoutMs: number;
  attempts: number;
  /** Skip UDP: for servers that truncate without setting TC (Consul). */
  tcp: boolean;
  /** Sockets open at once for queries; further queries wait their turn. @default 256 */
  maxInFlight?: number;
}

/** Counters of the wire client; the resolver adds its own to the same object. */
export interface WireStats {
  /** Queries sent, UDP and TCP. */
  queries: number;
  /** Of those, over TCP (SVCDISC_TCP, or after a truncated UDP reply). */
  tcpQueries: number;
  /** Replies used (NOERROR or NXDOMAIN). */
  answers: number;
  /** Datagrams and frames dropped as not being the reply: wrong ID, source or question. */
  ignoredReplies: number;
  /** Replies with TC set, answered again over TCP. */
  truncated: number;
}

/** Counters at zero, for a client of one's own. */
export function newWireStats(): WireStats {
  return { queries: 0, tcpQueries: 0, answers: 0, ignoredReplies: 0, truncated: 0 };
}

/** A failed query says which it was, as Node's does (`querySoa` when finding a zone). */
const SYSCALL: Record<QueryType, DnsSyscall> = {
  SRV: 'querySrv',
  A: 'queryA',
  AAAA: 'queryAaaa',
  CNAME: 'queryCname',
  SOA: 'querySoa',
  TXT: 'queryTxt',
};

const RCODE_ERRORS: Record<string, DnsErrorCode> = {
  SERVFAIL: 'ESERVFAIL',
  REFUSED: 'EREFUSED',
  FORMERR: 'EFORMERR',
  NOTIMP: 'ENOTIMP',
};

/** What went wrong with one exchange, as an error code and words for the message. */
function failureOf(
  outcome: Exclude<Outcome, { kind: 'reply' | 'truncated' }> | { kind: 'rcode'; rcode: string },
): [DnsErrorCode, string] {
  switch (outcome.kind) {
    case 'timeout':
      return ['ETIMEOUT', 'timeout'];
    case 'malformed':
      return ['EBADRESP', `malformed reply (${outcome.why})`];
    case 'failed':
      // A TCP connection closed before the reply is that (EOF); anything else kept the query
      // from the server (refused, unreachable, reset): Node says ECONNREFUSED for those.
      return outcome.error.code === 'EOF'
        ? ['EOF', 'closed the connection before the reply']
        : ['ECONNREFUSED', outcome.error.code ?? outcome.error.message];
    case 'rcode':
      return [RCODE_ERRORS[outcome.rcode] ?? 'EBADRESP', outcome.rcode];
  }
}

/** Re-resolving named servers after a total failure: at most this often, ms. */
const RERESOLVE_MS = 1000;
/** dns.lookup as Node has it: the preload's patch keeps the original under this key. */
const UNPATCHED = Symbol.for('svcdisc.unpatchedLookup');

/** The addresses of the named servers among `specs` (every address of each name), found with
 * the system resolver (getaddrinfo: /etc/hosts, Docker's DNS), never through svcdisc.
 * Names that do not resolve are reported in `failures` and left out. */
export async function resolveNameservers(
  specs: readonly NameserverSpec[],
): Promise<{ servers: Nameserver[]; failures: Map<string, string> }> {
  const lookup = ((dns.lookup as unknown as Record<symbol, unknown>)[UNPATCHED] ??
    dns.lookup) as typeof dns.lookup;
  const failures = new Map<string, string>();
  const found = await Promise.all(
    specs.map(async (spec): Promise<Nameserver[]> => {
      if (!('host' in spec)) return [spec];
      try {
        const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
          lookup(spec.host, { all: true }, (error, list) =>
            error ? reject(error) : resolve(list),
          ),
        );
        return addresses.map(({ address, family }) => ({
          address,
          port: spec.port,
          family: family === 6 ? 6 : 4,
        }));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        failures.set(formatServer(spec), `host name not found by the system resolver (${code})`);
        return [];
      }
    }),
  );
  return { servers: found.flat(), failures };
}

export class DnsClient {
  #servers: Nameserver[] | undefined;
  #serverNames: string[];
  #resolving: Promise<Map<string, string>> | undefined;
  #resolvedAt = 0;
  /** What the last lookup said when it found no server at all. */
  #unresolved: Map<string, string> | undefined;
  readonly #named: boolean;
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];
  readonly #maxInFlight: number;

  constructor(
    readonly settings: ClientSettings,
    readonly stats: WireStats,
  ) {
    this.#named = settings.nameservers.some((server) => 'host' in server);
    this.#servers = this.#named ? undefined : (settings.nameservers as Nameserver[]);
    this.#serverNames = settings.nameservers.map(formatServer);
    this.#maxInFlight = settings.maxInFlight ?? 256;
  }

  /** The nameservers asked, as `address:port` (`host:port` before a name is resolved). */
  get servers(): string[] {
    return this.#serverNames;
  }

  /** The named servers' addresses: one lookup at a time, shared by the queries waiting; a
   * lookup that found none is not repeated for RERESOLVE_MS. */
  #resolveNamed(): Promise<Map<string, string>> {
    if (this.#unresolved && Date.now() - this.#resolvedAt < RERESOLVE_MS)
      return Promise.resolve(this.#unresolved);
    this.#resolving ??= resolveNameservers(this.settings.nameservers).then(
      ({ servers, failures }) => {
        this.#resolving = undefined;
        this.#resolvedAt = Date.now();
        this.#unresolved = servers.length > 0 ? undefined : failures;
        if (servers.length > 0) {
          this.#servers = servers;
          this.#serverNames = servers.map(formatServer);
        }
        return failures;
      },
    );
    return this.#resolving;
  }

  /** A reply with rcode NOERROR or NXDOMAIN; any other end is thrown as a DnsError. */
  async query(question: Question, hostname: string): Promise<Reply> {
    const failures = new Map<string, string>();
    let code: DnsErrorCode = 'ETIMEOUT';
    if (!this.#servers) {
      for (const [server, words] of await this.#resolveNamed()) failures.set(server, words);
    }
    const servers = this.#servers;
    if (!servers) {
      // Not one name resolved: "could not contact DNS servers", as Node says ECONNREFUSED.
      throw new DnsError('ECONNREFUSED', {
        hostname,
        query: question.name,
        servers: this.servers,
        syscall: SYSCALL[question.type],
        detail: `no nameserver to ask: ${[...failures].map(([server, words]) => `${server} ${words}`).join(', ')}`,
      });
    }
    for (let attempt = 0; attempt < this.settings.attempts; attempt++) {
      for (const server of servers) {
        const outcome = await this.#ask(server, question);
        if (outcome.kind === 'reply') {
          const { rcode } = outcome.message;
          if (rcode === 'NOERROR' || rcode === 'NXDOMAIN') {
            this.stats.answers++;
            return outcome.message;
          }
          [code] = failureOf({ kind: 'rcode', rcode });
          failures.set(formatServer(server), rcode);
        } else {
          const [failure, words] = failureOf(outcome);
          code = failure;
          failures.set(formatServer(server), words);
        }
      }
    }
    const detail = [...failures].map(([server, words]) => `${server} ${words}`).join(', ');
    // Every server failed: a named one may have moved (a container restarted elsewhere).
    if (this.#named && Date.now() - this.#resolvedAt >= RERESOLVE_MS) this.#servers = undefined;
    throw new DnsError(code, {
      hostname,
      query: question.name,
      servers: this.servers,
      syscall: SYSCALL[question.type],
      detail: `no usable reply after ${this.settings.attempts} attempt(s): ${detail}`,
    });
  }

  /** One exchange with one server: UDP, then TCP when the reply was truncated (RFC 7766). */
  async #ask(
    server: Nameserver,
    question: Question,
  ): Promise<Exclude<Outcome, { kind: 'truncated' }>> {
    const exchange: Exchange = {
      server,
      question,
      timeoutMs: this.settings.timeoutMs,
      onIgnored: () => this.stats.ignoredReplies++,
    };
    if (!this.settings.tcp) {
      const outcome = await this.#limited(exchange, exchangeUdp);
      if (outcome.kind !== 'truncated') return outcome;
      this.stats.truncated++;
    }
    this.stats.tcpQueries++;
    const outcome = await this.#limited(exchange, exchangeTcp);
    // A server that truncates even over TCP has not answered.
    return outcome.kind === 'truncated'
      ? { kind: 'malformed', why: 'truncated over TCP' }
      : outcome;
  }

  /** Bounds the sockets open at once, so many cold names cannot exhaust file descriptors. */
  async #limited(
    exchange: Exchange,
    run: (exchange: Exchange) => Promise<Outcome>,
  ): Promise<Outcome> {
    if (this.#inFlight >= this.#maxInFlight) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#inFlight++;
    }
    this.stats.queries++;
    try {
      return await run(exchange);
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#inFlight--;
    }
  }
}
