// Which names are intercepted: a domain of SVCDISC_DOMAINS itself, or any name under it.
// Runs on every connect of the process, so it compares characters in place, allocates nothing
// unless the name matches, and answers the name it matched last by comparing it alone. And the
// host name of a URL, found the same way.

/** Returns the normalised name if `host` is intercepted, else undefined. */
export type Matcher = (host: string) => string | undefined;

const DOT = 46;
const COLON = 58;
const SLASH = 47;
const BRACKET = 91;
const QUESTION = 63;
const HASH = 35;
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
  // The last name matched, as given and normalised: a program connects to the same names again
  // and again, and comparing a string with itself is one pointer. It took 2.0 K instructions off
  // a settled warm connect on Node 24 and 0.4-0.6 K on Node 22 and 20 (bench/README.md, the
  // forty-second pass).
  let lastHost: string | undefined;
  let lastName = '';
  return (host) => {
    if (host === lastHost) return lastName;
    // A trailing dot (an absolute name) is ignored.
    const end = host.charCodeAt(host.length - 1) === DOT ? host.length - 1 : host.length;
    for (const domain of domains) {
      if (endsWithDomain(host, end, domain)) {
        lastName = host.slice(0, end).toLowerCase();
        lastHost = host;
        return lastName;
      }
    }
    return undefined;
  };
}

/** The host name of a URL or dispatch origin (`http://host:port/…`, or a URL object);
 * undefined for an IPv6 literal or anything else. */
export function hostnameOf(origin: unknown): string | undefined {
  if (typeof origin === 'string') {
    const start = origin.indexOf('//') + 2;
    if (start < 2 || origin.charCodeAt(start) === BRACKET) return undefined;
    let end = start;
    while (end < origin.length) {
      const c = origin.charCodeAt(end);
      if (c === COLON || c === SLASH || c === QUESTION || c === HASH) break;
      end++;
    }
    return origin.slice(start, end);
  }
  return origin instanceof URL ? origin.hostname : undefined;
}
