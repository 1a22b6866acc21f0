// Which names are intercepted: a domain of SVCDISC_DOMAINS itself, or any name under it.
// Runs on every connect of the process, so it is a few string comparisons and nothing more.

/** Returns the normalised name if `host` is intercepted, else undefined. */
export type Matcher = (host: string) => string | undefined;

export function createMatcher(domains: readonly string[]): Matcher {
  const suffixes = domains.map((domain) => `.${domain}`);
  return (host) => {
    let name = host;
    // Case-insensitive (RFC 4343), a trailing dot ignored; the common case allocates nothing.
    if (name.endsWith('.')) name = name.slice(0, -1);
    if (/[A-Z]/.test(name)) name = name.toLowerCase();
    for (let i = 0; i < domains.length; i++) {
      if (name === domains[i] || name.endsWith(suffixes[i] as string)) return name;
    }
    return undefined;
  };
}
