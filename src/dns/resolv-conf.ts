// resolv.conf(5): the nameservers and the `options timeout:N attempts:N` that glibc uses.
import { readFileSync } from 'node:fs';
import { type Nameserver, parseNameserver } from './names.js';

/** What resolv.conf(5) contributes: nameservers and `options timeout:N attempts:N`. */
export interface ResolvConf {
  nameservers: Nameserver[];
  timeoutS?: number;
  attempts?: number;
}

/** Upper bound of the default query timeout taken from resolv.conf, ms. */
export const MAX_DEFAULT_TIMEOUT_MS = 2000;
/** glibc's defaults when resolv.conf says nothing (resolv.conf(5)). */
export const RESOLV_CONF_DEFAULTS = { timeoutS: 5, attempts: 2 };

/** What the system's resolver settings amount to for svcdisc's queries. */
export interface SystemSettings {
  nameservers: Nameserver[];
  timeoutMs: number;
  attempts: number;
}

/** The settings glibc would use with this resolv.conf; the timeout at most
 * MAX_DEFAULT_TIMEOUT_MS, since svcdisc fails over to the next server sooner than glibc. */
export function systemSettings(conf: ResolvConf): SystemSettings {
  const timeoutS = conf.timeoutS ?? RESOLV_CONF_DEFAULTS.timeoutS;
  return {
    // glibc falls back to the local host when resolv.conf names no server.
    nameservers:
      conf.nameservers.length > 0
        ? conf.nameservers
        : [{ address: '127.0.0.1', port: 53, family: 4 }],
    timeoutMs: Math.min(timeoutS * 1000, MAX_DEFAULT_TIMEOUT_MS),
    attempts: conf.attempts ?? RESOLV_CONF_DEFAULTS.attempts,
  };
}

const TAB = 9;
const CR = 13;
const SPACE = 32;
const HASH = 35;
const SEMICOLON = 59;

/** The words of a line, up to a comment (`#` or `;`), split at spaces and tabs (and the other
 * ASCII white space). Not with regular expressions: this runs at the first connect of a
 * process, where compiling two patterns took longer than the rest of the parse. */
function wordsOf(line: string): string[] {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i);
    const comment = code === HASH || code === SEMICOLON;
    if (comment || code === SPACE || (code >= TAB && code <= CR)) {
      if (start >= 0) words.push(line.slice(start, i));
      start = -1;
      if (comment) return words;
    } else if (start < 0) start = i;
  }
  if (start >= 0) words.push(line.slice(start));
  return words;
}

/** Parses the text of a resolv.conf; unknown lines and bad entries are skipped, as glibc does. */
export function parseResolvConf(text: string): ResolvConf {
  const result: ResolvConf = { nameservers: [] };
  for (const line of text.split('\n')) {
    const [keyword, ...args] = wordsOf(line);
    if (keyword === 'nameserver' && args[0] !== undefined) {
      // A bare IPv6 address may carry a zone id (fe80::1%eth0); a port is never written here.
      const server = parseNameserver(args[0].includes(':') ? `[${args[0]}]` : args[0]);
      if (server) result.nameservers.push(server);
    } else if (keyword === 'options') {
      for (const option of args) {
        const [name, value] = option.split(':');
        const number = Number(value);
        if (!Number.isInteger(number) || number < 1) continue;
        // glibc caps both: RES_MAXRETRANS 30 s, RES_MAXRETRY 5.
        if (name === 'timeout') result.timeoutS = Math.min(number, 30);
        if (name === 'attempts') result.attempts = Math.min(number, 5);
      }
    }
  }
  return result;
}

/** Reads /etc/resolv.conf; a missing or unreadable file counts as an empty one. */
export function readResolvConf(path = '/etc/resolv.conf'): ResolvConf {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // No resolv.conf (minimal containers): glibc's defaults apply.
  }
  return parseResolvConf(text);
}
