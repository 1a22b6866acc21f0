import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, mock, test } from 'node:test';
import * as packet from 'dns-packet';
import { createResolver, type Resolver, type ResolverOptions } from '../src/index.js';
import { FixtureServer } from './fixture-server.js';
import { a, realPause, soa, srv, untilIo } from './records.js';

const until = (done: () => boolean) => untilIo(done);

describe('the answer cache', () => {
  let server: FixtureServer;
  before(async () => {
    server = await FixtureServer.start();
  });
  after(() => server.close());
  beforeEach(() => {
    server.records = [srv('user.prod.kw', 'a.kw', 80, 10, 10, 10), a('a.kw', '127.0.0.2', 10)];
    server.queries.length = 0;
    server.behave = () => undefined;
    // TTLs run on mocked time; the fixture's sockets are real and never wait on a timer here.
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  });
  afterEach(() => mock.timers.reset());

  const resolver = (options: ResolverOptions = {}) =>
    createResolver({
      nameservers: [server.nameserver],
      attempts: 1,
      now: () => Date.now(),
      ...options,
    });
  const srvQueries = () => server.count('user.prod.kw', 'SRV');

  test('an answer is reused for its TTL, then asked for again', async () => {
    const r = resolver();
    await r.resolve('user.prod.kw');
    mock.timers.tick(9_999);
    await r.resolve('user.prod.kw');
    assert.equal(srvQueries(), 1);
    assert.equal(r.stats().cacheHits, 1);
    mock.timers.tick(1);
    await r.resolve('user.prod.kw');
    assert.equal(srvQueries(), 2);
  });

  test('concurrent callers for a cold name share one query', async () => {
    const r = resolver();
    const results = await Promise.all(Array.from({ length: 200 }, () => r.resolve('USER.prod.kw')));
    assert.equal(srvQueries(), 1);
    assert.ok(results.every((result) => result === results[0]));
  });

  test('TTL 0 is honoured: never reused, only shared by callers waiting at the same moment', async () => {
    server.records = [srv('user.prod.kw', 'a.kw', 80, 10, 10, 0), a('a.kw', '127.0.0.2', 0)];
    const r = resolver();
    await Promise.all([
      r.resolve('user.prod.kw'),
      r.resolve('user.prod.kw'),
      r.resolve('user.prod.kw'),
    ]);
    assert.equal(srvQueries(), 1);
    await r.resolve('user.prod.kw');
    await r.resolve('user.prod.kw');
    assert.equal(srvQueries(), 3);
    assert.equal(r.stats().cacheHits, 0);
  });

  test('NXDOMAIN is remembered for the SOA negative TTL (RFC 2308: min of TTL and MINIMUM)', async () => {
    server.records = [soa('kw', 300, 10)];
    const r = resolver();
    await assert.rejects(r.resolve('gone.prod.kw'), { code: 'ENOTFOUND', reason: 'NXDOMAIN' });
    mock.timers.tick(9_999);
    await assert.rejects(r.resolve('gone.prod.kw'), { code: 'ENOTFOUND', reason: 'NXDOMAIN' });
    assert.equal(server.count('gone.prod.kw'), 1);
    mock.timers.tick(1);
    await assert.rejects(r.resolve('gone.prod.kw'), { code: 'ENOTFOUND' });
    assert.equal(server.count('gone.prod.kw'), 2);
  });

  test('negative answers are kept at most 60 s, and 1 s without an SOA', async () => {
    server.records = [soa('kw', 3600, 3600)];
    const r = resolver();
    await r.resolve('gone.prod.kw').catch(() => {});
    mock.timers.tick(59_999);
    await r.resolve('gone.prod.kw').catch(() => {});
    assert.equal(server.count('gone.prod.kw'), 1);
    mock.timers.tick(1);
    await r.resolve('gone.prod.kw').catch(() => {});
    assert.equal(server.count('gone.prod.kw'), 2);

    server.behave = () => ({ raw: (_query, reply) => withoutAuthority(reply) });
    await r.resolve('other.prod.kw').catch(() => {});
    await r.resolve('other.prod.kw').catch(() => {});
    assert.equal(server.count('other.prod.kw'), 1);
    mock.timers.tick(1000);
    await r.resolve('other.prod.kw').catch(() => {});
    assert.equal(server.count('other.prod.kw'), 2);
  });

  test('a failure is remembered for a 1 s back-off, not longer', async () => {
    server.behave = () => ({ rcode: 'SERVFAIL' });
    const r = resolver();
    await assert.rejects(r.resolve('user.prod.kw'), { code: 'ESERVFAIL' });
    await assert.rejects(r.resolve('user.prod.kw'), { code: 'ESERVFAIL' });
    assert.equal(srvQueries(), 1);
    mock.timers.tick(1000);
    server.behave = () => undefined;
    assert.equal((await r.resolve('user.prod.kw')).endpoints[0]?.port, 80);
    assert.equal(srvQueries(), 2);
  });

  test('while DNS fails, an expired answer younger than the stale TTL is served (RFC 8767), then the error', async () => {
    const r = resolver({ staleTtl: 100 });
    await r.resolve('user.prod.kw');
    server.behave = () => ({ rcode: 'SERVFAIL' });
    mock.timers.tick(10_000 + 50_000);
    assert.equal((await r.resolve('user.prod.kw')).endpoints[0]?.port, 80);
    assert.equal(r.stats().staleServed, 1);
    // Inside the back-off the stale answer is served without a query.
    assert.equal((await r.resolve('user.prod.kw')).endpoints[0]?.port, 80);
    assert.equal(srvQueries(), 2);
    mock.timers.tick(50_000);
    await assert.rejects(r.resolve('user.prod.kw'), { code: 'ESERVFAIL' });
    // The server comes back: fresh answers again.
    server.behave = () => undefined;
    server.records = [srv('user.prod.kw', 'a.kw', 81, 10, 10, 10), a('a.kw', '127.0.0.2', 10)];
    mock.timers.tick(1000);
    assert.equal((await r.resolve('user.prod.kw')).endpoints[0]?.port, 81);
  });

  test('staleTtl 0 never serves an expired answer', async () => {
    const r = resolver({ staleTtl: 0 });
    await r.resolve('user.prod.kw');
    server.behave = () => ({ rcode: 'REFUSED' });
    mock.timers.tick(10_000);
    await assert.rejects(r.resolve('user.prod.kw'), { code: 'EREFUSED' });
  });

  test('an authoritative NXDOMAIN is not overridden by a stale answer', async () => {
    const r = resolver();
    await r.resolve('user.prod.kw');
    server.records = [];
    mock.timers.tick(10_000);
    await assert.rejects(r.resolve('user.prod.kw'), { code: 'ENOTFOUND' });
    assert.equal(r.stats().staleServed, 0);
  });

  test('a name used during its life is refreshed in the background before it expires', async () => {
    const r = resolver();
    await r.resolve('user.prod.kw');
    mock.timers.tick(5_000);
    await r.resolve('user.prod.kw'); // a use
    server.records = [srv('user.prod.kw', 'a.kw', 81, 10, 10, 10), a('a.kw', '127.0.0.2', 10)];
    mock.timers.tick(4_000); // 1 s (10 %) before expiry
    await until(() => srvQueries() === 2 && r.stats().answers === 2);
    assert.equal(r.stats().refreshes, 1);
    // After the old expiry the caller gets the refreshed answer without waiting for DNS.
    mock.timers.tick(2_000);
    assert.equal((await r.resolve('user.prod.kw')).endpoints[0]?.port, 81);
    assert.equal(srvQueries(), 2);
  });

  /** After an answer in use expired while its refresh waits 1.5 s (on the mocked clock, as
   * the TTL) for the reply: runs `check`, then lets the reply through, whatever failed, so that
   * no query is left waiting. */
  async function pastExpiryWhileRefreshing(r: Resolver, check: () => Promise<void> | void) {
    server.behave = () => ({ delayMs: 1_500 });
    mock.timers.tick(9_000); // the refresh starts, 1 s before expiry
    await until(() => srvQueries() === 2);
    mock.timers.tick(1_000); // expired, the refresh still waiting for its reply
    try {
      await check();
    } finally {
      mock.timers.tick(500); // the reply
      await until(() => r.stats().answers === 2);
    }
  }

  test('while the refresh of an answer in use runs past its expiry, the answer is still given, then the new one', async () => {
    const r = resolver({ timeoutMs: 5_000 });
    await r.resolve('user.prod.kw');
    await r.resolve('user.prod.kw'); // a use
    server.records = [srv('user.prod.kw', 'a.kw', 81, 10, 10, 10), a('a.kw', '127.0.0.2', 10)];
    await pastExpiryWhileRefreshing(r, async () => {
      assert.equal(r.cached('user.prod.kw')?.endpoints[0]?.port, 80);
      assert.equal((await r.resolve('user.prod.kw')).endpoints[0]?.port, 80);
      assert.deepEqual([srvQueries(), r.stats().staleServed], [2, 0]);
    });
    assert.equal(r.cached('user.prod.kw')?.endpoints[0]?.port, 81);
  });

  test('SVCDISC_STALE_TTL 0: an expired answer is not given while its refresh runs', async () => {
    const r = resolver({ staleTtl: 0, timeoutMs: 5_000 });
    await r.resolve('user.prod.kw');
    await r.resolve('user.prod.kw'); // a use
    await pastExpiryWhileRefreshing(r, () => {
      assert.equal(r.cached('user.prod.kw'), undefined);
    });
  });

  test('a failed background refresh keeps the answer fresh until it expires, then serves it stale', async () => {
    const r = resolver();
    await r.resolve('user.prod.kw');
    await r.resolve('user.prod.kw'); // a use
    server.behave = () => ({ rcode: 'SERVFAIL' });
    mock.timers.tick(9_000);
    await until(() => srvQueries() === 2);
    await new Promise((resolve) => setImmediate(resolve));
    // Still inside the TTL: a cache hit, not a stale answer.
    assert.equal((await r.resolve('user.prod.kw')).endpoints[0]?.port, 80);
    assert.deepEqual([r.stats().cacheHits, r.stats().staleServed], [2, 0]);
    mock.timers.tick(1_000);
    // The refresh is over: no answer without a query, and the query's failure gives it stale.
    assert.equal(r.cached('user.prod.kw'), undefined);
    assert.equal((await r.resolve('user.prod.kw')).endpoints[0]?.port, 80);
    assert.equal(r.stats().staleServed, 1);
  });

  test('clear() forgets every answer and stops the background refreshes', async () => {
    const r = resolver();
    await r.resolve('user.prod.kw');
    await r.resolve('user.prod.kw'); // a use: a refresh is due 1 s before expiry
    r.clear();
    assert.equal(r.cached('user.prod.kw'), undefined);
    mock.timers.tick(9_500);
    await realPause(20);
    assert.equal(srvQueries(), 1);
    assert.equal(r.stats().refreshes, 0);
  });

  test('a name not used since it was fetched is not refreshed', async () => {
    const r = resolver();
    await r.resolve('user.prod.kw');
    mock.timers.tick(9_500);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(srvQueries(), 1);
    assert.equal(r.stats().refreshes, 0);
  });

  test('the cache is bounded: the least recently used name goes first', async () => {
    server.records.push(srv('one.prod.kw', 'a.kw', 1), srv('two.prod.kw', 'a.kw', 2));
    const r = resolver({ cacheSize: 2 });
    await r.resolve('user.prod.kw');
    await r.resolve('one.prod.kw');
    await r.resolve('user.prod.kw');
    await r.resolve('two.prod.kw'); // evicts one.prod.kw
    await r.resolve('user.prod.kw');
    await r.resolve('one.prod.kw');
    assert.equal(srvQueries(), 1);
    assert.equal(server.count('one.prod.kw'), 2);
  });

  test('clear() forgets every answer', async () => {
    const r = resolver();
    await r.resolve('user.prod.kw');
    r.clear();
    await r.resolve('user.prod.kw');
    assert.equal(srvQueries(), 2);
  });
});

describe('timers', () => {
  test('a program that resolved a name with a long TTL exits by itself (no timer keeps it alive)', async () => {
    const server = await FixtureServer.start({
      records: [srv('user.prod.kw', 'a.kw', 80, 10, 10, 3600), a('a.kw', '127.0.0.2', 3600)],
    });
    try {
      const script = `
        const { createResolver } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))});
        createResolver({ nameservers: ['${server.nameserver}'] }).resolve('user.prod.kw')
          .then((r) => console.log(r.endpoints[0].port));`;
      const child = spawn(process.execPath, ['-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += chunk;
      });
      const killer = setTimeout(() => child.kill(), 20_000);
      const code = await new Promise((resolve) =>
        child.on('exit', (exitCode, signal) => resolve(signal ?? exitCode)),
      );
      clearTimeout(killer);
      assert.equal(code, 0, 'the program was killed: something kept it alive');
      assert.equal(output, '80\n');
    } finally {
      await server.close();
    }
  });
});

/** The reply without its authority section (an NXDOMAIN with no SOA, as dnsmasq sends). */
function withoutAuthority(reply: Buffer): Buffer {
  return packet.encode({ ...packet.decode(reply), authorities: [] });
}
