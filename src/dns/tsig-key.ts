// TSIG keys (RFC 8945) as they are written: `name:algorithm:base64secret`, or a BIND key file.
// Apart from the signing code (tsig.ts), so that checking a key at start-up loads no crypto.
import { isDigitCode, normalizeName } from './names.js';

/** A TSIG key for signed dynamic updates (RFC 8945). */
export interface TsigKey {
  name: string;
  algorithm: string;
  secret: string;
}

/** The algorithms svcdisc signs with: Node's digest, and the algorithm's name on the wire
 * (RFC 8945 6). */
export const TSIG_ALGORITHMS: Readonly<Record<string, { digest: string; wireName: string }>> = {
  'hmac-md5': { digest: 'md5', wireName: 'hmac-md5.sig-alg.reg.int' },
  'hmac-sha1': { digest: 'sha1', wireName: 'hmac-sha1' },
  'hmac-sha224': { digest: 'sha224', wireName: 'hmac-sha224' },
  'hmac-sha256': { digest: 'sha256', wireName: 'hmac-sha256' },
  'hmac-sha384': { digest: 'sha384', wireName: 'hmac-sha384' },
  'hmac-sha512': { digest: 'sha512', wireName: 'hmac-sha512' },
};
export const TSIG_ALGORITHM_NAMES = Object.keys(TSIG_ALGORITHMS);

/** The suffix of hmac-md5's name on the wire (RFC 8945 6), which a key may be written with. */
const SIG_ALG = '.sig-alg.reg.int';

/** An algorithm's name as TSIG_ALGORITHMS has it: lower case, without SIG_ALG. */
function canonicalAlgorithm(algorithm: string): string {
  const lower = algorithm.toLowerCase();
  const end = lower.endsWith('.') ? lower.length - 1 : lower.length;
  return lower.startsWith(SIG_ALG, end - SIG_ALG.length)
    ? lower.slice(0, end - SIG_ALG.length)
    : lower;
}

const PLUS = 43;
const SLASH = 47;
const EQUALS = 61;

/** Whether `text` is base64 (RFC 4648 4): its letters, then at most two `=`, whole quanta.
 * Not with a pattern: a preload with SVCDISC_TSIG_KEY checks one at start-up, where V8 compiles
 * a pattern at its first use. */
function isBase64(text: string): boolean {
  let end = text.length;
  if (text.charCodeAt(end - 1) === EQUALS) end--;
  if (text.charCodeAt(end - 1) === EQUALS) end--;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    const letter = (code | 32) >= 97 && (code | 32) <= 122;
    if (!letter && !isDigitCode(code) && code !== PLUS && code !== SLASH) return false;
  }
  return end > 0 && text.length % 4 === 0;
}

/** A key from its parts, checked; undefined when one is not valid. */
function tsigKey(name: string, algorithm: string, secret: string): TsigKey | undefined {
  const keyName = normalizeName(name);
  const canonical = canonicalAlgorithm(algorithm);
  if (keyName === undefined || !(canonical in TSIG_ALGORITHMS) || !isBase64(secret)) {
    return undefined;
  }
  return { name: keyName, algorithm: canonical, secret };
}

/** `name:algorithm:base64secret`; undefined when it is not valid. */
export function parseTsigKey(text: string): TsigKey | undefined {
  const [name = '', algorithm = '', secret = '', ...rest] = text.trim().split(':');
  return rest.length > 0 ? undefined : tsigKey(name, algorithm, secret);
}

/** The key of a BIND key file (`key "name" { algorithm hmac-sha256; secret "..."; };`), as
 * `tsig-keygen` writes it; undefined when the text is not one. */
export function parseKeyFile(text: string): TsigKey | undefined {
  const name = /key\s+"?([^"\s{]+)"?\s*\{/.exec(text)?.[1];
  const algorithm = /algorithm\s+"?([a-z0-9.-]+)"?\s*;/i.exec(text)?.[1];
  const secret = /secret\s+"([^"]+)"\s*;/.exec(text)?.[1];
  if (!name || !algorithm || !secret) return undefined;
  return tsigKey(name, algorithm, secret);
}
