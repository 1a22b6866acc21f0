import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  formatServer,
  hostPort,
  ipFamily,
  normalizeName,
  parseNamedServer,
} from '../src/dns/names.js';
import { parseKeyFile, parseTsigKey } from '../src/dns/tsig-key.js';

test('one label rule: letters, digits, _ and inner hyphens, at most 63 characters', () => {
  assert.equal(normalizeName('_http._tcp.User.Prod.KW.'), '_http._tcp.user.prod.kw');
  assert.equal(normalizeName('a-b.kw'), 'a-b.kw');
  for (const bad of ['-a.kw', 'a-.kw', 'a..kw', `${'x'.repeat(64)}.kw`, 'a b.kw', '']) {
    assert.equal(normalizeName(bad), undefined, bad);
  }
  assert.equal(normalizeName(`${'x'.repeat(63)}.kw`), `${'x'.repeat(63)}.kw`);
});

test('hostPort brackets IPv6 addresses and nothing else', () => {
  assert.equal(hostPort('10.0.0.1', 53), '10.0.0.1:53');
  assert.equal(hostPort('::1', 5300), '[::1]:5300');
  assert.equal(formatServer({ address: 'fe80::1', port: 53, family: 6 }), '[fe80::1]:53');
  assert.equal(formatServer({ host: 'dns', port: 5353 }), 'dns:5353');
  assert.deepEqual(parseNamedServer('dns:5353'), { host: 'dns', port: 5353 });
  assert.equal(parseNamedServer('dns:0'), undefined);
  assert.equal(parseNamedServer('10.0.0'), undefined);
});

test('a TSIG key and a BIND key file are read by the same rule', () => {
  const secret = Buffer.alloc(32, 7).toString('base64');
  const fromText = parseTsigKey(`Update.Key.:HMAC-SHA256:${secret}`);
  const fromFile = parseKeyFile(
    `key "update.key" {\n\talgorithm hmac-sha256;\n\tsecret "${secret}";\n};\n`,
  );
  assert.deepEqual(fromText, { name: 'update.key', algorithm: 'hmac-sha256', secret });
  assert.deepEqual(fromFile, fromText);
  assert.equal(parseKeyFile(`key "k" { algorithm hmac-sha3; secret "${secret}"; };`), undefined);
  assert.equal(parseKeyFile('not a key'), undefined);
  assert.equal(parseTsigKey(`k:hmac-md5.sig-alg.reg.int:${secret}`)?.algorithm, 'hmac-md5');
});

test('ipFamily is net.isIP, for addresses, names and any string (fast-check)', () => {
  const strings = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.ipV4Extended(),
    fc.domain(),
    fc.string({ maxLength: 40 }),
    fc.ipV6().map((address) => `${address}%eth0`),
  );
  fc.assert(
    fc.property(strings, (value) => assert.equal(ipFamily(value), isIP(value), value)),
    { numRuns: 3000 },
  );
});
