import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sign, verify } from '../src/dns/tsig.js';

const KEY = {
  name: 'svcdisc-test',
  algorithm: 'hmac-sha256',
  secret: 'c3ZjZGlzYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=',
};
/** An UPDATE with ID 0x1234 and one zone entry (kw SOA IN). */
const MESSAGE = Buffer.from('123428000001000000000000026b770000060001', 'hex');
const TIME = 1_700_000_000_000;

describe('TSIG (RFC 8945)', () => {
  test('the MAC matches a known vector (HMAC-SHA256 over the message and the TSIG variables, computed apart)', () => {
    // Computed with Python's hmac over the RFC 8945 4.3.3 layout built independently.
    const { mac, signed } = sign(MESSAGE, KEY, TIME);
    assert.equal(
      mac.toString('hex'),
      'c3749df02236ed06f60db669f699101f08a74276340786e8fbde204705636014',
    );
    assert.equal(signed.readUInt16BE(10), 1, 'ARCOUNT counts the TSIG record');
    assert.ok(signed.subarray(0, MESSAGE.length).subarray(12).equals(MESSAGE.subarray(12)));
  });

  test('a signed request verifies; a changed byte, another key or a stale time do not', () => {
    const { signed, mac } = sign(MESSAGE, KEY, TIME);
    const ok = verify(signed, KEY, undefined, TIME);
    assert.ok(ok.ok && ok.mac.equals(mac));
    const tampered = Buffer.from(signed);
    tampered[13] = 0x6c; // "kw" -> "lw"
    assert.deepEqual(verify(tampered, KEY, undefined, TIME), {
      ok: false,
      why: 'the signature does not match',
    });
    assert.deepEqual(verify(signed, { ...KEY, name: 'other-key' }, undefined, TIME), {
      ok: false,
      why: 'signed with another key',
    });
    assert.deepEqual(verify(signed, KEY, undefined, TIME + 301_000), {
      ok: false,
      why: 'it was signed outside the allowed time',
    });
    assert.deepEqual(verify(MESSAGE, KEY, undefined, TIME), {
      ok: false,
      why: 'the message is not signed',
    });
  });

  test('a response is signed over the request MAC, and only verifies against it', () => {
    const request = sign(MESSAGE, KEY, TIME);
    const reply = Buffer.from(MESSAGE);
    reply[2] = (reply[2] ?? 0) | 0x80;
    const response = sign(reply, KEY, TIME, request.mac);
    assert.ok(verify(response.signed, KEY, request.mac, TIME).ok);
    assert.equal(verify(response.signed, KEY, Buffer.alloc(32), TIME).ok, false);
  });
});
