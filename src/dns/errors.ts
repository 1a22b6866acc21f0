// Errors shaped like Node's own DNS errors (code, syscall, hostname), so that programs which
// already branch on `err.code === 'ENOTFOUND'` keep working.

/** The codes svcdisc reports; the same strings as Node's `dns` module constants. */
export type DnsErrorCode =
  | 'ENOTFOUND' // NXDOMAIN, NODATA, or SRV target "." (RFC 2782: service not available)
  | 'ETIMEOUT' // no reply within timeout x attempts on every nameserver
  | 'ESERVFAIL'
  | 'EREFUSED'
  | 'EFORMERR'
  | 'ENOTIMP'
  | 'EBADRESP' // a reply that could not be decoded
  | 'ECONNREFUSED' // the nameserver port is closed (ICMP unreachable, TCP RST)
  | 'EBADNAME';

/** Why a name has no answer, when it has none: the cache keeps these (RFC 2308). */
export type NegativeReason = 'NXDOMAIN' | 'NODATA' | 'NO_SERVICE' | 'NO_ADDRESS';

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

/** Node's `syscall` names for the record types svcdisc asks for. */
export type DnsSyscall =
  | 'querySrv'
  | 'queryA'
  | 'queryAaaa'
  | 'queryCname'
  | 'querySoa'
  | 'queryTxt';

export class DnsError extends Error {
  readonly code: DnsErrorCode;
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
    super(
      `${syscall} ${code} ${details.query}${detail}${asked}`,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.name = 'DnsError';
    this.syscall = syscall;
    this.code = code;
    this.hostname = details.hostname;
    this.query = details.query;
    this.servers = servers;
    this.reason = details.reason;
  }
}
