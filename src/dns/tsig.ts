// TSIG (RFC 8945): HMAC signatures of DNS messages with a shared key, for dynamic updates.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CLASS, encodeName, TSIG_ERRORS, TYPE, u16 } from './packet.js';
import { TSIG_ALGORITHMS, type TsigKey } from './tsig-key.js';
import { decodeName } from './wire.js';

/** Allowed clock difference, s (the RFC's recommended 300). */
export const FUDGE = 300;

const u48 = (n: number) => {
  const b = Buffer.alloc(6);
  b.writeUIntBE(n, 0, 6);
  return b;
};

interface Variables {
  time: number;
  fudge: number;
  error: number;
  other: Buffer;
}

/** The TSIG variables that follow the message in the digest (RFC 8945 4.3.3). */
function variables(key: TsigKey, v: Variables): Buffer {
  return Buffer.concat([
    encodeName(key.name),
    u16(CLASS.ANY),
    Buffer.alloc(4), // TTL 0
    encodeName(algorithmOf(key).wireName),
    u48(v.time),
    u16(v.fudge),
    u16(v.error),
    u16(v.other.length),
    v.other,
  ]);
}

/** The key's algorithm; keys are checked when they are read (tsig-key.ts). */
function algorithmOf(key: TsigKey): { digest: string; wireName: string } {
  const algorithm = TSIG_ALGORITHMS[key.algorithm];
  if (!algorithm) throw new Error(`TSIG algorithm ${key.algorithm} is not supported`);
  return algorithm;
}

function hmac(key: TsigKey, ...parts: Buffer[]): Buffer {
  const mac = createHmac(algorithmOf(key).digest, Buffer.from(key.secret, 'base64'));
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** Signs a message: appends its TSIG record. Returns the signed message and the MAC, which
 * the response's signature covers. A response is signed with the request's MAC first. */
export function sign(
  message: Buffer,
  key: TsigKey,
  now = Date.now(),
  requestMac?: Buffer,
): { signed: Buffer; mac: Buffer } {
  const time = Math.floor(now / 1000);
  const mac = hmac(
    key,
    ...(requestMac ? [u16(requestMac.length), requestMac] : []),
    message,
    variables(key, { time, fudge: FUDGE, error: 0, other: Buffer.alloc(0) }),
  );
  const rdata = Buffer.concat([
    encodeName(algorithmOf(key).wireName),
    u48(time),
    u16(FUDGE),
    u16(mac.length),
    mac,
    message.subarray(0, 2),
    u16(0),
    u16(0),
  ]);
  const record = Buffer.concat([
    encodeName(key.name),
    u16(TYPE.TSIG),
    u16(CLASS.ANY),
    Buffer.alloc(4),
    u16(rdata.length),
    rdata,
  ]);
  const signed = Buffer.concat([message, record]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10); // ARCOUNT
  return { signed, mac };
}

/** The end of the name at `offset`; throws when it does not fit the message. */
const skipName = (bytes: Buffer, offset: number): number => decodeName(bytes, offset)[1];

/** Where each record of the message starts, and the message's own ID. */
function recordOffsets(bytes: Buffer): number[] {
  const counts = [4, 6, 8, 10].map((at) => bytes.readUInt16BE(at));
  let at = 12;
  for (let i = 0; i < (counts[0] ?? 0); i++) at = skipName(bytes, at) + 4;
  const offsets: number[] = [];
  const records = (counts[1] ?? 0) + (counts[2] ?? 0) + (counts[3] ?? 0);
  for (let i = 0; i < records; i++) {
    offsets.push(at);
    at = skipName(bytes, at) + 8;
    at += 2 + bytes.readUInt16BE(at);
  }
  if (at !== bytes.length) throw new Error('records do not end with the message');
  return offsets;
}

export type Verdict = { ok: true; mac: Buffer } | { ok: false; why: string };

/** Checks the TSIG record that ends a message: a response to a request signed with
 * `requestMac`, or (without it) a request. */
export function verify(
  response: Buffer,
  key: TsigKey,
  requestMac: Buffer | undefined,
  now = Date.now(),
): Verdict {
  try {
    const offsets = recordOffsets(response);
    const start = offsets.at(-1);
    if (start === undefined) return { ok: false, why: 'the message is not signed' };
    let at = skipName(response, start);
    if (response.readUInt16BE(at) !== TYPE.TSIG)
      return { ok: false, why: 'the message is not signed' };
    if (!encodeName(key.name).equals(encodeName(decodeName(response, start)[0])))
      return { ok: false, why: 'signed with another key' };
    at += 10; // type, class, TTL, rdlength
    at = skipName(response, at); // the algorithm
    const time = response.readUIntBE(at, 6);
    const fudge = response.readUInt16BE(at + 6);
    const macLength = response.readUInt16BE(at + 8);
    const mac = response.subarray(at + 10, at + 10 + macLength);
    at += 10 + macLength;
    const originalId = response.readUInt16BE(at);
    const error = response.readUInt16BE(at + 2);
    const otherLength = response.readUInt16BE(at + 4);
    const other = response.subarray(at + 6, at + 6 + otherLength);
    if (error !== 0)
      return {
        ok: false,
        why: `the server answered TSIG error ${TSIG_ERRORS[error] ?? error}`,
      };
    const unsigned = Buffer.from(response.subarray(0, start));
    unsigned.writeUInt16BE(originalId, 0);
    unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10);
    const expected = hmac(
      key,
      ...(requestMac ? [u16(requestMac.length), requestMac] : []),
      unsigned,
      variables(key, { time, fudge, error, other }),
    );
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected))
      return { ok: false, why: 'the signature does not match' };
    if (Math.abs(now / 1000 - time) > fudge)
      return { ok: false, why: 'it was signed outside the allowed time' };
    return { ok: true, mac };
  } catch (error) {
    return { ok: false, why: `malformed response (${(error as Error).message})` };
  }
}
