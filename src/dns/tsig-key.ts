// TSIG keys (RFC 8945) as they are written: `name:algorithm:base64secret`, or a BIND key file.
// Apart from the signing code (tsig.ts), so that checking a key at start-up loads no crypto.
import { normalizeName } from './names.js';

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

/** A key from its parts, checked; undefined when one is not valid. */
function tsigKey(name: string, algorithm: string, secret: string): TsigKey | undefined {
  const keyName = normalizeName(name);
  const canonical = algorithm.toLowerCase().replace(/\.sig-alg\.reg\.int\.?$/, '');
  const base64 = /^[A-Za-z0-9+/]+={0,2}$/.test(secret) && secret.length % 4 === 0;
  if (keyName === undefined || !(canonical in TSIG_ALGORITHMS) || !base64) return undefined;
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
