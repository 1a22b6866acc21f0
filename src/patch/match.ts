// Which names are intercepted: a domain of SVCDISC_DOMAINS itself, or any name under it.
// Runs on every connect of the process, so it compares characters in place and allocates
// nothing unless the name matches.

/** Returns the normalised name if `host` is intercepted, else undefined. */
export type Matcher = (host: string) => string | undefined;

const DOT = 46;
const UPPER_A = 65;
const UPPER_Z = 90;

/** Whether host[0, end) is `domain` or ends with `.domain`, ASCII case-insensitively
 * (RFC 4343); `domain` is lower case. */
function endsWithDomain(host: string, end: number, domain: string): boolean {
  const start = end - domain.length;
  if (start < 0 || (start > 0 && host.charCodeAt(start - 1) !== DOT)) return false;
  for (let i = 0; i < domain.length; i++) {
    let c = host.charCodeAt(start + i);
    if (c >= UPPER_A && c <= UPPER_Z) c += 32;
    if (c !== domain.charCodeAt(i)) return false;
  }
  return true;
}

export function createMatcher(domains: readonly string[]): Matcher {
  return (host) => {
    // A trailing dot (an absolute name) is ignored.
    const end = host.charCodeAt(host.length - 1) === DOT ? host.length - 1 : host.length;
    for (const domain of domains) {
      if (endsWithDomain(host, end, domain)) return host.slice(0, end).toLowerCase();
    }
    return undefined;
  };
}
