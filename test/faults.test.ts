// Faults injected between svcdisc and DNS, and under its connections: it degrades exactly as
// documented and never takes the program down.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { after, afterEach, before, describe, mock, test } from 'node:test';
import { createResolver, type DnsError } from '../src/index.js';
import { install, installedResolver, uninstall } from '../src/patch/install.js';
import { FixtureServer } from './fixture-server.js';
import { LossyProxy } from './lossy-proxy.js';
import { a, closedPort, realPause, seeded, srv, untilIo } from './records.js';

/** Answers any `svcN.prod.kw` with one endpoint, with glue. */
function serviceGenerator(port: number) {
  return (name: string, type: string) =>
    type === 'SRV' && /^svc\d+\.prod\.kw$/.test(name)
      ? { answers: [srv(name, `host.${name}`, port)], glue: [a(`host.${name}`, '127.0.0.1')] }
      : undefined;
}

describe('DNS faults', () => {
  let dns: FixtureServer;
  before(async () => {
    dns = await FixtureServer.start();
    dns.generate = serviceGenerator(8080);
  });
  after(() => dns.close());

  // Timeouts run on mocked time in the tests that call mocked(): the order of events is
  // checked, not wall-clock windows.
  const mocked = () => mock.timers.enable({ apis: ['setTimeout'] });
  afterEach(() => mock.timers.reset());

  /** Settles a promise into a box that can be looked at while timers are mocked. */
  const watch = <T>(promise: Promise<T>) => {
    const box: { done: boolean; value?: T; error?: unknown } = { done: false };
    promise.then(
      (value) => Object.assign(box, { done: true, value }),
      (error: unknown) => Object.assign(box, { done: true, error }),
    );
    return box;
  };

  test('first nameserver dead (no listener): the second answers at once, no timer runs out', async () => {
    mocked();
    const resolver = createResolver({
      nameservers: [`127.0.0.1:${await closedPort()}`, dns.nameserver],
      timeoutMs: 2000,
      attempts: 2,
    });
    const result = watch(resolver.resolve('svc1.prod.kw'));
    await untilIo(() => result.done, 'the answer');
    assert.equal(result.value?.endpoints[0]?.port, 8080);
  });

  test("first nameserver silent: the second is asked when one attempt's timeout runs out, not before", async () => {
    const silent = await FixtureServer.start();
    silent.behave = () => ({ drop: true });
    mocked();
    try {
      const resolver = createResolver({
        nameservers: [silent.nameserver, dns.nameserver],
        timeoutMs: 300,
        attempts: 3,
      });
      const before = dns.queries.length;
      const result = watch(resolver.resolve('svc2.prod.kw'));
      await untilIo(() => silent.queries.length === 1, 'the query to the silent server');
      mock.timers.tick(299);
      await realPause(20);
      assert.equal(dns.queries.length, before, 'the second server was asked before the timeout');
      mock.timers.tick(1);
      await untilIo(() => result.done, 'the answer');
      assert.equal(result.value?.endpoints[0]?.port, 8080);
      assert.equal(silent.queries.length, 1);
    } finally {
      await silent.close();
    }
  });

  test('30% packet loss both ways: at least 99% of 200 resolutions succeed within the attempts', async () => {
    const proxies = await Promise.all([
      LossyProxy.start(dns.port, seeded(1)),
      LossyProxy.start(dns.port, seeded(2)),
    ]);
    try {
      for (const proxy of proxies) proxy.loss = 0.3;
      const resolver = createResolver({
        nameservers: proxies.map((p) => p.nameserver),
        // Not shorter: on a loaded machine 200 concurrent queries through the proxies took
        // longer than 150 ms to be answered, and timed-out replies counted as losses (CI).
        timeoutMs: 400,
        attempts: 4,
      });
      const results = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) => resolver.resolve(`svc${1000 + i}.prod.kw`)),
      );
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      assert.ok(ok >= 198, `${ok} of 200 succeeded`);
      for (const r of results)
        if (r.status === 'rejected') assert.equal((r.reason as DnsError).code, 'ETIMEOUT');
      const dropped = proxies.reduce((sum, p) => sum + p.counts.dropped, 0);
      assert.ok(dropped > 100, `only ${dropped} datagrams dropped: the loss did not happen`);
    } finally {
      await Promise.all(proxies.map((p) => p.close()));
    }
  });

  test('a server slower than the timeout: ETIMEOUT after timeout x attempts x servers, no later', async () => {
    const proxies = await Promise.all([LossyProxy.start(dns.port), LossyProxy.start(dns.port)]);
    try {
      mocked();
      for (const proxy of proxies) proxy.delayMs = 60_000; // slower than the whole test
      const resolver = createResolver({
        nameservers: proxies.map((p) => p.nameserver),
        timeoutMs: 100,
        attempts: 2,
      });
      const result = watch(resolver.resolve('svc3.prod.kw'));
      const forwarded = () => proxies.reduce((sum, p) => sum + p.counts.forwarded, 0);
      // Attempts outer, servers inner: each 100 ms runs out before the next query is sent.
      for (let query = 1; query <= 4; query++) {
        await untilIo(() => forwarded() === query, `query ${query}`);
        mock.timers.tick(99);
        await realPause(10);
        assert.equal(result.done, false, `settled before query ${query} timed out`);
        mock.timers.tick(1);
      }
      await untilIo(() => result.done, 'the error');
      assert.equal((result.error as DnsError | undefined)?.code, 'ETIMEOUT');
      assert.equal(forwarded(), 4);
    } finally {
      await Promise.all(proxies.map((p) => p.close()));
    }
  });

  test('all servers down with a warm cache: stale answers for the stale TTL, then an error; fresh again when back', async () => {
    const proxy = await LossyProxy.start(dns.port);
    let clock = 0;
    const resolver = createResolver({
      nameservers: [proxy.nameserver],
      timeoutMs: 100,
      attempts: 1,
      staleTtl: 60,
      now: () => clock,
    });
    const [first] = (await resolver.resolve('svc4.prod.kw')).endpoints;
    proxy.loss = 1; // down: nothing gets through
    clock += 31_000; // past the 30 s TTL
    assert.deepEqual((await resolver.resolve('svc4.prod.kw')).endpoints[0], first);
    clock += 60_000; // 91 s: older than the 30 s TTL plus the 60 s of stale use
    await assert.rejects(resolver.resolve('svc4.prod.kw'), { code: 'ETIMEOUT' });
    proxy.loss = 0;
    clock += 1_000; // past the error back-off
    assert.equal((await resolver.resolve('svc4.prod.kw')).endpoints[0]?.port, 8080);
    assert.ok(resolver.stats().staleServed >= 1);
    await proxy.close();
  });
});

describe('endpoint faults under the preload', () => {
  let dns: FixtureServer;
  let steady: http.Server;
  let flappy: http.Server;
  let flappyPort: number;
  before(async () => {
    steady = http.createServer((_req, res) => res.end('steady'));
    flappy = http.createServer((_req, res) => res.end('flappy'));
    await new Promise<void>((resolve) => steady.listen(0, '127.0.0.1', resolve));
    // flappy listens again on its port in each cycle: one below the ephemeral range
    // (closedPort), which no connection made meanwhile can take as its local end.
    flappyPort = await closedPort();
    await new Promise<void>((resolve) => flappy.listen(flappyPort, '127.0.0.1', resolve));
    dns = await FixtureServer.start({
      records: [
        srv('flap.prod.kw', 'flappy.host.kw', flappyPort, 10, 50),
        srv('flap.prod.kw', 'steady.host.kw', (steady.address() as AddressInfo).port, 10, 50),
        a('flappy.host.kw', '127.0.0.1'),
        a('steady.host.kw', '127.0.0.1'),
      ],
    });
    install({ nameservers: [dns.nameserver], connectTimeoutMs: 500 });
  });
  after(async () => {
    uninstall();
    steady.close();
    flappy.close();
    await dns.close();
  });

  const get = (url: string) =>
    new Promise<string>((resolve, reject) => {
      http
        .get(url, { agent: false }, (res) => {
          let body = '';
          res.on('data', (chunk) => {
            body += chunk;
          });
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });

  test('an endpoint that flaps: no request fails while the other is healthy, and it gets traffic again', async () => {
    const seen = { steady: 0, flappy: 0 };
    for (let cycle = 0; cycle < 4; cycle++) {
      flappy.close();
      for (let i = 0; i < 25; i++)
        seen[(await get('http://flap.prod.kw/')) as 'steady' | 'flappy']++;
      await new Promise<void>((resolve) => flappy.listen(flappyPort, '127.0.0.1', resolve));
      for (let i = 0; i < 25; i++)
        seen[(await get('http://flap.prod.kw/')) as 'steady' | 'flappy']++;
    }
    // 200 requests, none failed (a failure would have thrown). While down, it was skipped.
    assert.equal(seen.steady + seen.flappy, 200);
    // Recovery: the last cool-down is short (1-8 s) and cleared on success; ask until it returns.
    let back = false;
    for (let i = 0; i < 200 && !back; i++) {
      back = (await get('http://flap.prod.kw/')) === 'flappy';
      if (!back) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(back, 'the endpoint never got traffic again after it came back');
  });

  test('an exception inside svcdisc during a connect reaches the socket as an error, nothing else', async () => {
    const resolver = installedResolver();
    assert.ok(resolver);
    const unexpected: unknown[] = [];
    const onUncaught = (error: unknown) => unexpected.push(error);
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    const order = resolver.order;
    resolver.order = () => {
      throw new TypeError('a bug in svcdisc');
    };
    try {
      // Warm cache (the answer is there), then cold (a name not asked before).
      for (const host of ['flap.prod.kw', 'Flap.prod.kw.']) {
        resolver.clear();
        if (host === 'flap.prod.kw') await resolver.resolve(host);
        const socket = net.connect(80, host);
        const error = await new Promise<Error>((resolve) => socket.on('error', resolve));
        assert.equal(error.message, 'a bug in svcdisc');
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(unexpected, []);
    } finally {
      resolver.order = order;
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
    }
  });
});
