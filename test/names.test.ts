import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  canonicalName,
  formatServer,
  hostPort,
  ipFamily,
  isLabel,
  normalizeName,
  parseNamedServer,
  parsePort,
} from '../src/dns/names.js';
import { portAndTemplate } from '../src/dns/srv-name.js';
import { parseKeyFile, parseTsigKey, TSIG_ALGORITHMS } from '../src/dns/tsig-key.js';

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
    // IPv4 checked without Node's pattern: leading zeros, 256, five parts, empty parts.
    fc.array(fc.constantFrom(...'0125689.'), { maxLength: 17 }).map((chars) => chars.join('')),
    fc
      .array(fc.integer({ min: 0, max: 300 }), { minLength: 3, maxLength: 5 })
      .map((parts) => parts.join('.')),
  );
  fc.assert(
    fc.property(strings, (value) => assert.equal(ipFamily(value), isIP(value), value)),
    { numRuns: 3000 },
  );
});

test('the checks written without patterns answer as the patterns they replace (fast-check)', () => {
  // Strings of the characters that matter to the rules, and any string.
  const alphabet = [...'az09_-.=:{}[]%Z\t '];
  const strings = fc.oneof(
    fc.array(fc.constantFrom(...alphabet), { maxLength: 70 }).map((chars) => chars.join('')),
    fc.string({ maxLength: 70 }),
    fc.constantFrom('{host}', '5432={host}', '65536=x', '123456=x', '=x', '0=x', '12=3=x', '7'),
    fc.constantFrom('a'.repeat(63), 'a'.repeat(64), `${'a'.repeat(62)}-`, 'a.', 'A..'),
  );
  const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
  const oldPort = (text: string) => {
    const number = /^\d{1,5}$/.test(text) ? Number(text) : 0;
    return number >= 1 && number <= 65535 ? number : undefined;
  };
  // SVCDISC_SRV_NAME's `port=` as the pattern read it.
  const oldPortAndTemplate = (entry: string) => {
    const match = /^(?:(\d{1,5})=)?(.*)$/.exec(entry);
    return [match?.[1] === undefined ? undefined : Number(match[1]), match?.[2] ?? ''];
  };
  // A TSIG key's algorithm and secret as the patterns read them.
  const oldTsigKey = (text: string) => {
    const [name = '', algorithm = '', secret = '', ...rest] = text.trim().split(':');
    if (rest.length > 0) return undefined;
    const canonical = algorithm.toLowerCase().replace(/\.sig-alg\.reg\.int\.?$/, '');
    const base64 = /^[A-Za-z0-9+/]+={0,2}$/.test(secret) && secret.length % 4 === 0;
    const keyName = normalizeName(name);
    if (keyName === undefined || !(canonical in TSIG_ALGORITHMS) || !base64) return undefined;
    return { name: keyName, algorithm: canonical, secret };
  };
  const algorithms = fc.oneof(
    fc
      .constantFrom(...Object.keys(TSIG_ALGORITHMS))
      .chain((algorithm) =>
        fc.constantFrom(
          algorithm,
          algorithm.toUpperCase(),
          `${algorithm}.sig-alg.reg.int`,
          `${algorithm}.SIG-ALG.reg.int.`,
          `${algorithm}.sig-alg.reg.int..`,
          `${algorithm}sig-alg.reg.int`,
        ),
      ),
    fc.string({ maxLength: 20 }),
  );
  const secrets = fc.oneof(
    fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString('base64')),
    fc.array(fc.constantFrom(...'aZ09+/=-_ .'), { maxLength: 12 }).map((chars) => chars.join('')),
    fc.string({ maxLength: 12 }),
  );
  fc.assert(
    fc.property(algorithms, secrets, (algorithm, secret) => {
      const text = `key.kw:${algorithm}:${secret}`;
      assert.deepEqual(parseTsigKey(text), oldTsigKey(text), text);
    }),
    { numRuns: 3000 },
  );
  // A nameserver by name, and not a malformed IPv4 address, as the pattern told them apart.
  const oldNamedServer = (entry: string) => {
    const [name = '', port, ...rest] = entry.trim().split(':');
    const host = normalizeName(name);
    const number = port === undefined ? 53 : parsePort(port);
    if (host === undefined || rest.length > 0 || number === undefined) return undefined;
    return /^[\d.]+$/.test(host) ? undefined : { host, port: number };
  };
  fc.assert(
    fc.property(strings, (value) => {
      assert.deepEqual(parseNamedServer(value), oldNamedServer(value), value);
      assert.equal(isLabel(value), LABEL.test(value), value);
      assert.equal(canonicalName(value), value.toLowerCase().replace(/\.$/, ''), value);
      assert.equal(parsePort(value), oldPort(value), value);
      // The pattern's `.` stops at a line terminator, where it found no template: such an
      // entry is no name either way.
      if (!/[\n\r\u2028\u2029]/.test(value)) {
        assert.deepEqual(portAndTemplate(value), oldPortAndTemplate(value), value);
      }
    }),
    { numRuns: 5000 },
  );
});
