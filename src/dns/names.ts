// Domain names and server addresses as svcdisc reads and writes them: one label rule, one
// parser of `ip:port`, one way to print `address:port`. A leaf: it imports only Node.
import { isIPv6 } from 'node:net';

/** net.isIP() without its cost for names: Node's IPv6 pattern takes about 4 ms to compile on
 * its first use, so only a string with a colon (every IPv6 address has one; no name or IPv4
 * address has) meets it; and IPv4 is checked without Node's pattern either (below). */
export function ipFamily(value: string): 0 | 4 | 6 {
  if (value.includes(':')) return isIPv6(value) ? 6 : 0;
  return isIPv4(value) ? 4 : 0;
}

/** A DNS server to ask, by address. */
export interface Nameserver {
  address: string;
  port: number;
  family: 4 | 6;
}

/** A nameserver given by host name (a compose service, `dns:53`): its addresses are found
 * with the system resolver when the resolver first needs them. */
export interface NamedServer {
  host: string;
  port: number;
}

export type NameserverSpec = Nameserver | NamedServer;

// The parsers a first connect runs compare characters rather than run regular expressions:
// V8 compiles a pattern at its first use, 30–260 µs each on the machine of the sixth pass
// (bench/README.md), and a first connect met about ten.

const HYPHEN = 45;
const DOT = 46;
const UNDERSCORE = 95;

/** Whether a character code is one of the decimal digits 0-9. */
export function isDigitCode(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** A lower-case letter, a digit or `_`. */
function isLabelEdge(code: number): boolean {
  return (code >= 97 && code <= 122) || isDigitCode(code) || code === UNDERSCORE;
}

/** Whether `text` is one or more of the decimal digits 0-9. */
export function isDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (!isDigitCode(text.charCodeAt(i))) return false;
  }
  return text.length > 0;
}

/** net.isIPv4() without its pattern, which V8 compiles at its first use: 0.16–0.2 ms, which a
 * preload with SVCDISC_NAMESERVERS set paid at start-up (bench/README.md, the twenty-third
 * pass). Four decimal numbers 0 to 255 joined by dots, without leading zeros, as Node's. */
function isIPv4(value: string): boolean {
  if (value.length < 7 || value.length > 15) return false;
  let parts = 0;
  let start = 0;
  let number = 0;
  for (let i = 0; i <= value.length; i++) {
    const code = i < value.length ? value.charCodeAt(i) : DOT;
    if (code !== DOT) {
      if (!isDigitCode(code)) return false;
      number = number * 10 + code - 48;
      continue;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || number > 255) return false;
    if (digits > 1 && value.charCodeAt(start) === 48) return false;
    parts++;
    start = i + 1;
    number = 0;
  }
  return parts === 4;
}

/** Whether `label` (lower case) is a valid label: a host name label (RFC 1123 2.1, with the
 * `_` of service labels, RFC 2782), letters, digits, `_` and inner hyphens, 1 to 63
 * characters. Names are compared in lower case. */
export function isLabel(label: string): boolean {
  const last = label.length - 1;
  if (last < 0 || last > 62) return false;
  if (!isLabelEdge(label.charCodeAt(0)) || !isLabelEdge(label.charCodeAt(last))) return false;
  for (let i = 1; i < last; i++) {
    const code = label.charCodeAt(i);
    if (!isLabelEdge(code) && code !== HYPHEN) return false;
  }
  return true;
}

/** A name as compared: lower case, without the trailing dot. */
export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Lower-cases a domain name and drops a trailing dot; undefined if it is not a valid name. */
export function normalizeName(name: string): string | undefined {
  const lower = canonicalName(name);
  if (lower.length === 0 || lower.length > 253) return undefined;
  return lower.split('.').every(isLabel) ? lower : undefined;
}

/** `address:port`, with brackets around an IPv6 address (RFC 3986 3.2.2). */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** A server as it is shown: `address:port`, or `host:port` for a named one. */
export function formatServer(server: NameserverSpec): string {
  return 'host' in server ? `${server.host}:${server.port}` : hostPort(server.address, server.port);
}

/** Parses `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port`; an IPv6 zone id (`%eth0`) is dropped. */
export function parseNameserver(entry: string, defaultPort = 53): Nameserver | undefined {
  let host = entry.trim();
  let port = String(defaultPort);
  const bracketed = host.startsWith('[') ? /^\[([^\]]+)\](?::(\d+))?$/.exec(host) : null;
  if (bracketed) {
    host = bracketed[1] ?? '';
    port = bracketed[2] ?? port;
  } else if (host.indexOf(':') === host.lastIndexOf(':') && host.includes(':')) {
    [host = '', port = ''] = host.split(':');
  }
  if (host.includes('%')) host = host.replace(/%.*$/, '');
  const family = ipFamily(host);
  const portNumber = parsePort(port);
  if (family === 0 || portNumber === undefined) return undefined;
  // The canonical text (RFC 5952), as replies report their source address.
  const address = family === 6 ? new URL(`http://[${host}]/`).hostname.slice(1, -1) : host;
  return { address, port: portNumber, family: family as 4 | 6 };
}

/** `host` or `host:port`, host a DNS name (not an address). */
export function parseNamedServer(entry: string, defaultPort = 53): NamedServer | undefined {
  const [name = '', port, ...rest] = entry.trim().split(':');
  const host = normalizeName(name);
  const number = port === undefined ? defaultPort : parsePort(port);
  if (host === undefined || rest.length > 0 || number === undefined) return undefined;
  // Digits and dots (its labels are not empty): a malformed IPv4 address, not a name.
  if (isDigits(host.replaceAll('.', ''))) return undefined;
  return { host, port: number };
}

/** A TCP/UDP port, 1 to 65535, written in decimal; undefined otherwise. */
export function parsePort(text: string): number | undefined {
  const number = text.length <= 5 && isDigits(text) ? Number(text) : 0;
  return number >= 1 && number <= 65535 ? number : undefined;
}
