// Every error svcdisc makes, in one place: one class per kind of failure, each with a fixed
// `code` a program can branch on (as undici's lib/core/errors.js). DNS failures keep Node's own
// DNS codes (ENOTFOUND, ETIMEOUT…) and connect failures Node's errno codes, because programs
// already test for those; the others are ERR_SVCDISC_*. Imports nothing but the address
// printer of dns/names.ts: it is part of the preload's start-up bundle.
import { hostPort } from './dns/names.js';

/** The brand of svcdisc's errors, under a key every copy of svcdisc shares: `instanceof` goes
 * by it, so errors of another copy in the same process (the preload's bundle and the package,
 * or two versions) match too. */
const BRAND = Symbol.for('svcdisc.error');

export class SvcdiscError extends Error {
  /** The kind, as the brand records it; each class sets its own. */
  static readonly kind: string = 'SvcdiscError';

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    const brand = (value as Record<symbol, unknown>)[BRAND];
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class instanceof was asked of.
    return typeof brand === 'string' && (this === SvcdiscError || brand === this.kind);
  }

  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    const kind = (new.target as typeof SvcdiscError).kind;
    // Not enumerable, as on Node's own errors: `{ ...error }` shows the fields, not these.
    Object.defineProperty(this, 'name', { value: kind, writable: true, configurable: true });
    Object.defineProperty(this, BRAND, { value: kind });
  }
}

/** A bad setting: names the variable (or option), the value and what is expected. */
export class ConfigError extends SvcdiscError {
  static override readonly kind = 'ConfigError';
  declare readonly code: 'ERR_SVCDISC_CONFIG';
  constructor(
    readonly setting: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(
      'ERR_SVCDISC_CONFIG',
      `${setting}=${JSON.stringify(value)} is not valid: expected ${expected}`,
    );
  }
}

/** A second install() without uninstall() in between, from this copy of svcdisc or another. */
export class AlreadyInstalledError extends SvcdiscError {
  static override readonly kind = 'AlreadyInstalledError';
  constructor() {
    super(
      'ERR_SVCDISC_INSTALLED',
      'svcdisc is already installed in this process (by the preload or install()); call uninstall() first',
    );
  }
}

/** The codes of DnsError; the same strings as Node's `dns` module constants. */
export type DnsErrorCode =
  | 'ENOTFOUND' // NXDOMAIN, NODATA, or SRV target "." (RFC 2782: service not available)
  | 'ETIMEOUT' // no reply within timeout x attempts on every nameserver
  | 'ESERVFAIL'
  | 'EREFUSED'
  | 'EFORMERR'
  | 'ENOTIMP'
  | 'EBADRESP' // a reply that could not be decoded
  | 'ECONNREFUSED' // the nameserver could not be reached (ICMP unreachable, TCP RST, no route)
  | 'EOF' // the nameserver closed the TCP connection before the reply
  | 'EBADNAME';

/** Why a name has no answer, when it has none: the cache keeps these (RFC 2308). */
export type NegativeReason = 'NXDOMAIN' | 'NODATA' | 'NO_SERVICE' | 'NO_ADDRESS';

/** Node's `syscall` names for the record types svcdisc asks for. */
export type DnsSyscall =
  | 'querySrv'
  | 'queryA'
  | 'queryAaaa'
  | 'queryCname'
  | 'querySoa'
  | 'queryTxt';

export interface DnsErrorDetails {
  /** The name the program asked for. */
  hostname: string;
  /** The DNS name queried (the templated SRV name). */
  query: string;
  /** The nameservers asked, as `address:port`. */
  servers?: string[];
  /** For ENOTFOUND: what the servers said. */
  reason?: NegativeReason;
  /** Detail appended to the message. */
  detail?: string;
  cause?: unknown;
  /** The query that failed, as Node's `dns` names it. @default 'querySrv' */
  syscall?: DnsSyscall;
}

/** A failed resolution, shaped like Node's own DNS errors (code, syscall, hostname), so that
 * programs which already branch on `err.code === 'ENOTFOUND'` keep working. */
export class DnsError extends SvcdiscError {
  static override readonly kind = 'DnsError';
  declare readonly code: DnsErrorCode;
  readonly syscall: DnsSyscall;
  readonly hostname: string;
  readonly query: string;
  readonly servers: string[];
  readonly reason: NegativeReason | undefined;

  constructor(code: DnsErrorCode, details: DnsErrorDetails) {
    const servers = details.servers ?? [];
    const asked = servers.length > 0 ? ` (asked ${servers.join(', ')})` : '';
    const detail = details.detail ? `: ${details.detail}` : '';
    const syscall = details.syscall ?? 'querySrv';
    super(code, `${syscall} ${code} ${details.query}${detail}${asked}`, details);
    this.syscall = syscall;
    this.hostname = details.hostname;
    this.query = details.query;
    this.servers = servers;
    this.reason = details.reason;
  }
}

/** A connect to a service name that failed on every endpoint: Node's code, errno, address
 * and port of the last attempt (its error is the `cause`), and every `address:port` tried. */
export class ServiceConnectError extends SvcdiscError {
  static override readonly kind = 'ServiceConnectError';
  readonly errno: number | undefined;
  readonly syscall = 'connect';
  readonly address: string | undefined;
  readonly port: number | undefined;

  constructor(
    last: NodeJS.ErrnoException & { address?: string; port?: number },
    readonly attempts: readonly string[],
    readonly hostname: string,
  ) {
    super(
      last.code ?? 'ECONNREFUSED',
      `${last.message} (${hostname}: tried ${attempts.join(', ')})`,
      { cause: last },
    );
    this.errno = last.errno;
    this.address = last.address;
    this.port = last.port;
  }
}

/** One connect attempt with no answer within SVCDISC_CONNECT_TIMEOUT_MS: shaped as Node's
 * ETIMEDOUT, so failover and the program treat it as any connect failure. */
export class ConnectTimeoutError extends SvcdiscError {
  static override readonly kind = 'ConnectTimeoutError';
  readonly errno: number;
  readonly syscall = 'connect';

  constructor(
    readonly address: string,
    readonly port: number,
    timeoutMs: number,
  ) {
    super(
      'ETIMEDOUT',
      `connect ETIMEDOUT ${hostPort(address, port)} (no answer within ${timeoutMs} ms)`,
    );
    // os is loaded here, at a timeout, not when the preload starts.
    this.errno = -(require('node:os') as typeof import('node:os')).constants.errno.ETIMEDOUT;
  }
}

/** An RFC 2136 update that the server did not apply, or that never reached it: `rcode` is
 * the server's answer (NOTAUTH, REFUSED…), or the transport's error code (ETIMEOUT,
 * ECONNREFUSED…) with `reached` false. */
export class UpdateError extends SvcdiscError {
  static override readonly kind = 'UpdateError';
  readonly reached: boolean;
  constructor(
    readonly rcode: string,
    message: string,
    options: { reached?: boolean; cause?: unknown } = {},
  ) {
    super('ERR_SVCDISC_UPDATE', message, options);
    this.reached = options.reached ?? true;
  }
}

/** An announcement that cannot be made as asked: no zone for the name, a name that is not a
 * DNS name, an update server that cannot be found. */
export class AnnounceError extends SvcdiscError {
  static override readonly kind = 'AnnounceError';
  constructor(message: string, cause?: unknown) {
    super('ERR_SVCDISC_ANNOUNCE', message, { cause });
  }
}

/** The Docker daemon could not be asked, or answered what `svcdisc dock` cannot use. */
export class DockerError extends SvcdiscError {
  static override readonly kind = 'DockerError';
  constructor(message: string, cause?: unknown) {
    super('ERR_SVCDISC_DOCKER', message, { cause });
  }
}

/** A master file that cannot be loaded: `file:line: reason`. */
export class ZoneError extends SvcdiscError {
  static override readonly kind = 'ZoneError';
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super('ERR_SVCDISC_ZONE', `${file}:${line}: ${reason}`);
  }
}

/** `svcdisc serve` cannot listen where it was asked to; the socket's error is the cause. */
export class ListenError extends SvcdiscError {
  static override readonly kind = 'ListenError';
  constructor(message: string, cause: unknown) {
    super('ERR_SVCDISC_LISTEN', message, { cause });
  }
}

/** A command line that cannot be run: the CLI prints it with the command's usage. */
export class UsageError extends SvcdiscError {
  static override readonly kind = 'UsageError';
  constructor(message: string) {
    super('ERR_SVCDISC_USAGE', message);
  }
}
