import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ZoneError } from '../src/errors.js';
import { parseZone } from '../src/server/zone.js';

const FIXTURES = join(__dirname, '..', 'fixtures');

const TRICKY = `; comments everywhere
$ORIGIN example.kw.
$TTL 1h30m
@   IN  SOA ns.example.kw. hostmaster ( ; the SOA over several lines
        2026112701 ; serial
        1h         ; refresh
        10m 1w
        60 )
    IN  NS  ns                 ; owner omitted: the apex again
ns      A   127.0.0.1          ; class omitted
web 300 IN  A   127.0.0.2      ; TTL before class
web IN  600 AAAA ::2           ; class before TTL
api.example.kw. IN SRV 10 60 8080 web
api         SRV 20 0 8081 web.example.kw.
none        SRV 0 0 0 .
txt         TXT "a string; with a semicolon" plain "an \\"escaped\\" quote"
$ORIGIN sub.example.kw.
deep        A   127.0.0.4
$TTL 5
alias       CNAME api.example.kw.
`;

describe('parseZone', () => {
  test('reads a tricky but valid master file as BIND would', () => {
    const zone = parseZone(TRICKY, { file: 'tricky.zone' });
    assert.equal(zone.origin, 'example.kw');
    assert.deepEqual(zone.soa.data, {
      mname: 'ns.example.kw',
      rname: 'hostmaster.example.kw',
      serial: 2026112701,
      refresh: 3600,
      retry: 600,
      expire: 604800,
      minimum: 60,
    });
    type Loose = { type: string; name: string; ttl?: number; data: unknown };
    const find = (name: string, type: string) =>
      (zone.records as Loose[]).filter((r) => r.name === name && r.type === type);
    assert.deepEqual(find('example.kw', 'NS'), [
      { type: 'NS', name: 'example.kw', ttl: 5400, data: 'ns.example.kw' },
    ]);
    assert.deepEqual(find('web.example.kw', 'A'), [
      { type: 'A', name: 'web.example.kw', ttl: 300, data: '127.0.0.2' },
    ]);
    assert.deepEqual(find('web.example.kw', 'AAAA'), [
      { type: 'AAAA', name: 'web.example.kw', ttl: 600, data: '::2' },
    ]);
    assert.deepEqual(
      find('api.example.kw', 'SRV').map((r) => r.data),
      [
        { priority: 10, weight: 60, port: 8080, target: 'web.example.kw' },
        { priority: 20, weight: 0, port: 8081, target: 'web.example.kw' },
      ],
    );
    assert.deepEqual(find('none.example.kw', 'SRV')[0]?.data, {
      priority: 0,
      weight: 0,
      port: 0,
      target: '.',
    });
    assert.deepEqual(find('txt.example.kw', 'TXT')[0]?.data, [
      'a string; with a semicolon',
      'plain',
      'an "escaped" quote',
    ]);
    assert.deepEqual(find('deep.sub.example.kw', 'A')[0]?.ttl, 5400);
    assert.deepEqual(find('alias.sub.example.kw', 'CNAME'), [
      { type: 'CNAME', name: 'alias.sub.example.kw', ttl: 5, data: 'api.example.kw' },
    ]);
  });

  test('the fixtures load: the BIND test zone and the demo zone', () => {
    const kw = parseZone(readFileSync(join(FIXTURES, 'kw.zone'), 'utf8'), { origin: 'kw' });
    assert.equal(kw.records.filter((r) => r.name === 'big.prod.kw').length, 40);
    const demo = parseZone(readFileSync(join(FIXTURES, 'demo.zone'), 'utf8'));
    assert.equal(demo.origin, 'kw');
    assert.equal(
      demo.records.filter((r) => r.type === 'SRV' && r.name === 'user.prod.kw').length,
      4,
    );
  });

  const BAD: [string, string][] = [
    [
      '$TTL 30\n@ IN SOA ns hm 1 2 3 4 5\nx IN MX 10 mail\n',
      'bad.zone:3: record type "MX" is not supported',
    ],
    [
      '$TTL 30\n@ IN SOA ns hm 1 2 3 4 5\nx IN A 300.1.1.1\n',
      'bad.zone:3: A needs an IPv4 address, not "300.1.1.1"',
    ],
    [
      '$TTL 30\n@ IN SOA ns hm 1 2 3 4 5\nx IN AAAA 127.0.0.1\n',
      'bad.zone:3: AAAA needs an IPv6 address',
    ],
    ['$TTL 30\n@ IN SOA ns hm ( 1 2 3 4 5\n', 'bad.zone:2: unbalanced "("'],
    ['$TTL 30\n@ IN SOA ns hm 1 2 3 4 5 )\n', 'bad.zone:2: unbalanced ")"'],
    ['$TTL 30\nx IN A 127.0.0.1\n', 'bad.zone:1: the zone has no SOA record'],
    [
      '$TTL 30\n@ IN SOA ns hm 1 2 3 4 5\nx.other. IN A 127.0.0.1\n',
      'bad.zone:3: x.other is outside the zone kw',
    ],
    ['$INCLUDE other.zone\n', 'bad.zone:1: $INCLUDE is not supported'],
    ['@ IN SOA ns hm 1 2 3 4 5\n', 'bad.zone:1: no TTL'],
    [
      '$TTL 30\n@ IN SOA ns hm 1 2 3 4 5\nx IN SRV 1 2 70000 t\n',
      'bad.zone:3: SRV port must be 0-65535, not "70000"',
    ],
    [
      '$TTL 30\n@ IN SOA ns hm 1 2 3 4 5\nx IN TXT "open\n',
      'bad.zone:3: unterminated quoted string',
    ],
    [
      '$TTL 30\n@ IN SOA ns hm 1 2 3 4 5\nbad_name!.x IN A 127.0.0.1\n',
      'bad.zone:3: "bad_name!.x" is not a valid domain name',
    ],
    ['$TTL ten\n', 'bad.zone:1: $TTL needs a time'],
    [
      '$TTL 30\n@ IN SOA ns hm 1 2 3 4 5\n@ IN SOA ns hm 2 2 3 4 5\n',
      'bad.zone:3: the zone has more than one SOA record',
    ],
  ];
  for (const [text, message] of BAD) {
    test(`rejects with file:line and the reason: ${message}`, () => {
      assert.throws(
        () => parseZone(text, { file: 'bad.zone', origin: 'kw' }),
        (error: unknown) => {
          assert.ok(error instanceof ZoneError);
          assert.equal(error.code, 'ERR_SVCDISC_ZONE');
          assert.ok(error.message.startsWith(message), error.message);
          return true;
        },
      );
    });
  }

  test('no input crashes it: any text parses or throws a ZoneError (fast-check)', () => {
    const pieces = fc.constantFrom(
      '$ORIGIN',
      '$TTL',
      '@',
      'IN',
      'SOA',
      'SRV',
      'A',
      'TXT',
      'CNAME',
      '(',
      ')',
      ';',
      '"',
      '\n',
      ' ',
      '\t',
      '1',
      '65536',
      'a.b.',
      'x',
      '127.0.0.1',
      '::1',
      '1h',
      '\\',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.array(pieces, { maxLength: 60 }).map((p) => p.join('')),
        ),
        (text) => {
          try {
            parseZone(text, { origin: 'kw' });
          } catch (error) {
            assert.ok(error instanceof ZoneError, String(error));
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
