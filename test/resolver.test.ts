import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ConfigError, createResolver, DnsError, type ResolverOptions } from '../src/index.js';
import { FixtureServer } from './fixture-server.js';
import { a, aaaa, cname, newStats, soa, srv, txt } from './records.js';

describe('createResolver().resolve', () => {
  let server: FixtureServer;
  before(async () => {
    server = await FixtureServer.start();
  });
  after(() => server.close());
  beforeEach(() => {
    server.records = [];
    server.queries.length = 0;
    server.behave = () => undefined;
    server.followCnames = true;
  });
  const resolver = (options: ResolverOptions = {}) =>
    createResolver({ nameservers: [server.nameserver], timeoutMs: 300, attempts: 1, ...options });

  test('bad options are rejected with ERR_SVCDISC_CONFIG before anything is sent', () => {
    assert.throws(
      () => createResolver({ nameservers: ['dns example'] }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.code, 'ERR_SVCDISC_CONFIG');
        assert.match(
          error.message,
          /^options\.nameservers=\["dns example"\] is not valid: expected ip, ip:port, \[ipv6\]:port, host or host:port/,
        );
        return true;
      },
    );
    assert.throws(() => createResolver({ srvName: '_http._tcp' }), { code: 'ERR_SVCDISC_CONFIG' });
  });

  test('endpoints come with their glue addresses, the name normalised and the SRV name templated', async () => {
    server.records = [
      srv('_http._tcp.user.prod.kw', 'a.kw', 8080, 10, 60, 30),
      srv('_http._tcp.user.prod.kw', 'B.KW.', 8081, 20, 0, 20),
      a('a.kw', '127.0.0.2', 25),
      a('b.kw', '127.0.0.3', 40),
      aaaa('b.kw', '::1', 40),
    ];
    const result = await resolver({ srvName: '_http._tcp.{host}' }).resolve('User.Prod.KW.');
    assert.deepEqual(result, {
      name: 'user.prod.kw',
      query: '_http._tcp.user.prod.kw',
      ttl: 20,
      endpoints: [
        {
          target: 'a.kw',
          port: 8080,
          priority: 10,
          weight: 60,
          addresses: [{ address: '127.0.0.2', family: 4 }],
        },
        {
          target: 'b.kw',
          port: 8081,
          priority: 20,
          weight: 0,
          addresses: [
            { address: '127.0.0.3', family: 4 },
            { address: '::1', family: 6 },
          ],
        },
      ],
    });
    // Glue was there: no A or AAAA query.
    assert.deepEqual(
      server.queries.map((q) => q.type),
      ['SRV'],
    );
  });

  test('a CNAME in the reply is followed, and its TTL counts', async () => {
    server.records = [
      cname('user.prod.kw', 'user-v2.prod.kw', 5),
      srv('user-v2.prod.kw', 'a.kw', 80),
      a('a.kw', '127.0.0.2'),
    ];
    const result = await resolver().resolve('user.prod.kw');
    assert.equal(result.endpoints[0]?.target, 'a.kw');
    assert.equal(result.ttl, 5);
    assert.equal(server.queries.length, 1);
  });

  test('a CNAME the server did not follow is asked for in a second query', async () => {
    server.followCnames = false;
    server.records = [
      cname('user.prod.kw', 'user.other.kw'),
      srv('user.other.kw', 'a.kw', 80),
      a('a.kw', '127.0.0.2'),
    ];
    const result = await resolver().resolve('user.prod.kw');
    assert.equal(result.endpoints[0]?.port, 80);
    assert.deepEqual(
      server.queries.map((q) => q.name),
      ['user.prod.kw', 'user.other.kw'],
    );
  });

  test('a CNAME loop ends in ENOTFOUND after a bounded number of queries', async () => {
    server.followCnames = false;
    server.records = [cname('one.prod.kw', 'two.prod.kw'), cname('two.prod.kw', 'one.prod.kw')];
    await assert.rejects(resolver().resolve('one.prod.kw'), { code: 'ENOTFOUND' });
    assert.ok(server.queries.length <= 9, `${server.queries.length} queries`);
  });

  test('targets without glue are resolved with A and AAAA queries at the same nameservers', async () => {
    server.records = [
      srv('user.prod.kw', 'a.kw', 80),
      srv('user.prod.kw', 'b.kw', 81),
      a('a.kw', '127.0.0.2'),
      aaaa('b.kw', '::1'),
    ];
    server.behave = (q) => (q.type === 'SRV' ? { extraAdditionals: [] } : undefined);
    const original = server.lookup.bind(server);
    server.lookup = (name, type) => ({ ...original(name, type), glue: [] }); // a server that sends no glue
    try {
      const result = await resolver().resolve('user.prod.kw');
      assert.deepEqual(
        result.endpoints.map((e) => [e.target, e.addresses]),
        [
          ['a.kw', [{ address: '127.0.0.2', family: 4 }]],
          ['b.kw', [{ address: '::1', family: 6 }]],
        ],
      );
      assert.deepEqual(server.queries.map((q) => `${q.name} ${q.type}`).sort(), [
        'a.kw A',
        'a.kw AAAA',
        'b.kw A',
        'b.kw AAAA',
        'user.prod.kw SRV',
      ]);
    } finally {
      server.lookup = original;
    }
  });

  test('one address family failing does not fail the other', async () => {
    server.records = [srv('user.prod.kw', 'a.kw', 80), a('a.kw', '127.0.0.2')];
    const original = server.lookup.bind(server);
    server.lookup = (name, type) => ({ ...original(name, type), glue: [] });
    server.behave = (q) => (q.type === 'AAAA' ? { rcode: 'SERVFAIL' } : undefined);
    try {
      const result = await resolver().resolve('user.prod.kw');
      assert.deepEqual(result.endpoints[0]?.addresses, [{ address: '127.0.0.2', family: 4 }]);
    } finally {
      server.lookup = original;
    }
  });

  test('a target without any address is left out; none left is ENOTFOUND (NO_ADDRESS)', async () => {
    server.records = [
      srv('user.prod.kw', 'a.kw', 80),
      srv('user.prod.kw', 'ghost.kw', 81),
      a('a.kw', '127.0.0.2'),
    ];
    const result = await resolver().resolve('user.prod.kw');
    assert.deepEqual(
      result.endpoints.map((e) => e.target),
      ['a.kw'],
    );
    server.records = [srv('lost.prod.kw', 'ghost.kw', 81)];
    await assert.rejects(resolver().resolve('lost.prod.kw'), {
      code: 'ENOTFOUND',
      reason: 'NO_ADDRESS',
    });
  });

  test('target lookups that time out surface as ETIMEOUT when no endpoint is left', async () => {
    server.records = [srv('user.prod.kw', 'ghost.kw', 81)];
    server.behave = (q) => (q.type === 'SRV' ? undefined : { drop: true });
    await assert.rejects(resolver({ timeoutMs: 100 }).resolve('user.prod.kw'), {
      code: 'ETIMEOUT',
      query: 'ghost.kw',
    });
  });

  test('a lone target "." means no service here (RFC 2782): ENOTFOUND', async () => {
    server.records = [srv('user.prod.kw', '.', 0, 0, 0)];
    await assert.rejects(resolver().resolve('user.prod.kw'), {
      code: 'ENOTFOUND',
      reason: 'NO_SERVICE',
      message: /service not available/,
    });
  });

  test('forged additional records for names that are not targets are ignored', async () => {
    server.records = [srv('user.prod.kw', 'a.kw', 80), a('a.kw', '127.0.0.2')];
    server.behave = () => ({
      extraAdditionals: [
        a('evil.kw', '127.6.6.6'),
        a('user.prod.kw', '127.6.6.7'),
        a('kw', '127.6.6.8'),
      ],
    });
    const result = await resolver().resolve('user.prod.kw');
    assert.deepEqual(result.endpoints[0]?.addresses, [{ address: '127.0.0.2', family: 4 }]);
    assert.equal(result.endpoints.length, 1);
  });

  test('an SRV target that is an IP literal is used as the address', async () => {
    server.records = [srv('user.prod.kw', '127.0.0.5', 80)];
    const result = await resolver().resolve('user.prod.kw');
    assert.deepEqual(result.endpoints[0]?.addresses, [{ address: '127.0.0.5', family: 4 }]);
  });

  test("NXDOMAIN is ENOTFOUND shaped like Node's DNS errors", async () => {
    const error = await resolver({ srvName: '_http._tcp.{host}' })
      .resolve('gone.prod.kw')
      .catch((e: unknown) => e);
    assert.ok(error instanceof DnsError);
    assert.equal(error.code, 'ENOTFOUND');
    assert.equal(error.syscall, 'querySrv');
    assert.equal(error.hostname, 'gone.prod.kw');
    assert.equal(error.query, '_http._tcp.gone.prod.kw');
    assert.equal(error.reason, 'NXDOMAIN');
    assert.deepEqual(error.servers, [server.nameserver]);
    assert.equal(
      error.message,
      `querySrv ENOTFOUND _http._tcp.gone.prod.kw: no such name (NXDOMAIN) (asked ${server.nameserver})`,
    );
  });

  test("RFC 2782 fallback: a name with addresses but no SRV is its own endpoint, at the program's port", async () => {
    server.records = [
      a('web.prod.kw', '127.0.0.2', 40),
      aaaa('web.prod.kw', '::1', 50),
      soa('kw', 30, 30),
    ];
    assert.deepEqual(await resolver().resolve('web.prod.kw'), {
      name: 'web.prod.kw',
      query: 'web.prod.kw',
      // The smallest of the addresses' TTLs and the SRV answer's negative TTL.
      ttl: 30,
      endpoints: [
        {
          target: 'web.prod.kw',
          port: 0,
          priority: 0,
          weight: 0,
          addresses: [
            { address: '127.0.0.2', family: 4 },
            { address: '::1', family: 6 },
          ],
        },
      ],
      fallback: true,
    });
    assert.deepEqual(server.queries.map((q) => `${q.name} ${q.type}`).sort(), [
      'web.prod.kw A',
      'web.prod.kw AAAA',
      'web.prod.kw SRV',
    ]);
    // A templated SRV name that does not exist (NXDOMAIN) falls back too.
    const templated = await resolver({ srvName: '_http._tcp.{host}' }).resolve('web.prod.kw');
    assert.equal(templated.fallback, true);
    assert.equal(templated.query, '_http._tcp.web.prod.kw');
  });

  test('no fallback with SVCDISC_FALLBACK=0, for a name that does not exist, or one without addresses', async () => {
    server.records = [a('web.prod.kw', '127.0.0.2'), soa('kw', 30, 30)];
    await assert.rejects(resolver({ fallback: false }).resolve('web.prod.kw'), {
      code: 'ENOTFOUND',
      reason: 'NODATA',
    });
    server.queries.length = 0;
    // NXDOMAIN for the name itself: not there at all, nothing more is asked.
    await assert.rejects(resolver().resolve('gone.prod.kw'), {
      code: 'ENOTFOUND',
      reason: 'NXDOMAIN',
      message: /^querySrv ENOTFOUND gone\.prod\.kw: no such name/,
    });
    assert.deepEqual(
      server.queries.map((q) => `${q.name} ${q.type}`),
      ['gone.prod.kw SRV'],
    );
    // A name with other records only (a TXT): the SRV answer's NODATA stands.
    server.records = [txt('text.prod.kw', 'hello'), soa('kw', 30, 30)];
    await assert.rejects(resolver().resolve('text.prod.kw'), {
      code: 'ENOTFOUND',
      reason: 'NODATA',
    });
  });

  test('a name that is not a DNS name is EBADNAME, and nothing is sent', async () => {
    for (const bad of ['', 'a..b', 'x'.repeat(64), 'sp ace.kw', 42 as never]) {
      await assert.rejects(resolver().resolve(bad), { code: 'EBADNAME' });
    }
    assert.equal(server.queries.length, 0);
  });

  test('the TTL is the smallest of the records used, clamped to minTtl and maxTtl', async () => {
    server.records = [srv('user.prod.kw', 'a.kw', 80, 10, 10, 1), a('a.kw', '127.0.0.2', 30)];
    assert.equal((await resolver({ minTtl: 5 }).resolve('user.prod.kw')).ttl, 5);
    server.records = [srv('user.prod.kw', 'a.kw', 80, 10, 10, 300), a('a.kw', '127.0.0.2', 300)];
    assert.equal((await resolver({ maxTtl: 2 }).resolve('user.prod.kw')).ttl, 2);
  });

  test('a TTL with the top bit set counts as 0 (RFC 2181 8), not as 68 years', async () => {
    server.records = [
      srv('user.prod.kw', 'a.kw', 80, 10, 10, 0x80000000),
      a('a.kw', '127.0.0.2', 30),
    ];
    assert.equal((await resolver().resolve('user.prod.kw')).ttl, 0);
  });

  test('the answer handed out cannot be changed by the caller', async () => {
    server.records = [srv('user.prod.kw', 'a.kw', 80), a('a.kw', '127.0.0.2')];
    const r = resolver();
    const first = await r.resolve('user.prod.kw');
    assert.throws(() => {
      (first.endpoints[0] as { port: number }).port = 1;
    }, TypeError);
    assert.equal((await r.resolve('user.prod.kw')).endpoints[0]?.port, 80);
  });

  test('order() returns the endpoints in RFC 2782 order with the injected random', async () => {
    server.records = [
      srv('user.prod.kw', 'a.kw', 80, 10, 1),
      srv('user.prod.kw', 'b.kw', 81, 10, 3),
      srv('user.prod.kw', 'c.kw', 82, 5, 0),
    ];
    server.records.push(a('a.kw', '127.0.0.2'), a('b.kw', '127.0.0.3'), a('c.kw', '127.0.0.4'));
    const r = resolver({ random: () => 0.5 });
    const ordered = r.order((await r.resolve('user.prod.kw')).endpoints);
    // Priority 5 first; then r = 0.5 * 4 = 2: running sums 1, 4 -> b; then a.
    assert.deepEqual(
      ordered.map((e) => e.target),
      ['c.kw', 'b.kw', 'a.kw'],
    );
  });

  test('stats() counts queries, answers and errors', async () => {
    server.records = [srv('user.prod.kw', 'a.kw', 80), a('a.kw', '127.0.0.2')];
    const r = resolver();
    await r.resolve('user.prod.kw');
    await r.resolve('user.prod.kw');
    await r.resolve('gone.prod.kw').catch(() => {});
    assert.deepEqual(r.stats(), {
      ...newStats(),
      queries: 2,
      answers: 2,
      cacheHits: 1,
      staleServed: 0,
      errors: 1,
      refreshes: 0,
    });
  });
});
