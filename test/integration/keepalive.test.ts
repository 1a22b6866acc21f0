// Keep-alive clients with Node's defaults, unmodified, under the preload: the endpoint is chosen
// per request (the SRV weights hold over pooled connections), endpoints that leave the set are
// drained, and new ones get their share — against dnsmasq, and BIND with RFC 2136 updates.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { LossyProxy } from '../lossy-proxy.js';
import { assertSplit, chiSquare } from '../records.js';
import { missing, type RunningServer, startBind, startDnsmasq } from './servers.js';

const ROOT = join(__dirname, '..', '..');
const TLS = join(ROOT, 'fixtures', 'tls');
const REGISTER = join(ROOT, 'register.cjs');

interface Backend {
  label: string;
  port: number;
  server: http.Server | https.Server;
}

async function startBackend(label: string, secure = false): Promise<Backend> {
  const handler: http.RequestListener = (_req, res) => res.end(label);
  const server = secure
    ? https.createServer(
        { cert: readFileSync(join(TLS, 'prod.crt')), key: readFileSync(join(TLS, 'prod.key')) },
        handler,
      )
    : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { label, port: (server.address() as AddressInfo).port, server };
}

function stopBackends(backends: Backend[]): void {
  for (const { server } of backends) {
    server.closeAllConnections();
    server.close();
  }
}

/** Runs a test program under the preload; resolves with its stdout. */
async function underPreload(
  args: string[],
  nameserver: string,
  env: Record<string, string> = {},
): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-r', REGISTER, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: nameserver, ...env },
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

describe('keep-alive clients: weights per request (dnsmasq, weights 60/30/10, a backup)', {
  skip: missing('dnsmasq', 'dnsmasq-base'),
}, () => {
  const WEIGHTS = { sixty: 60, thirty: 30, ten: 10 } as const;
  const backends: Backend[] = [];
  let dns: RunningServer;
  before(async () => {
    const lines = ['local-ttl=30', 'host-record=backend.host.kw,127.0.0.1'];
    for (const [label, weight] of [...Object.entries(WEIGHTS), ['backup', 100] as const]) {
      const plain = await startBackend(label);
      const secure = await startBackend(label, true);
      backends.push(plain, secure);
      const priority = label === 'backup' ? 20 : 10;
      // One target name per endpoint: a pool is per target and port.
      lines.push(
        `host-record=${label}.host.kw,127.0.0.1`,
        `srv-host=user.prod.kw,${label}.host.kw,${plain.port},${priority},${weight}`,
        `srv-host=secure.prod.kw,${label}.host.kw,${secure.port},${priority},${weight}`,
      );
    }
    dns = await startDnsmasq(lines);
  });
  after(async () => {
    stopBackends(backends);
    await dns?.stop();
  });

  const clients: [string, string][] = [
    ['http.get', 'http://user.prod.kw/'],
    ['keep-alive agent', 'http://user.prod.kw/'],
    ['https', 'https://secure.prod.kw/'],
    ['fetch', 'http://user.prod.kw/'],
    ['undici request', 'http://user.prod.kw/'],
    ['undici 8 request', 'http://user.prod.kw/'],
    ['axios', 'http://user.prod.kw/'],
    ['got', 'http://user.prod.kw/'],
  ];
  /** undici 8 (the package, as `undici8`) runs on Node 22.19 and later only. */
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const undici8 = major > 22 || (major === 22 && minor >= 19);
  for (const [client, url] of clients) {
    const skip = client === 'undici 8 request' && !undici8 && 'undici 8 needs Node 22.19 or later';
    test(`${client}: 3000 requests, 4 at a time, split 60/30/10; the backup unused`, {
      skip,
    }, async () => {
      const split = async () => {
        const stdout = await underPreload(['test/pools/split.cjs', client, url], dns.nameserver, {
          SPLIT_CA: join(TLS, 'ca.crt'),
        });
        const counts = JSON.parse(stdout) as Record<string, number>;
        assert.deepEqual(Object.keys(counts).sort(), ['sixty', 'ten', 'thirty'], stdout);
        const observed = Object.keys(WEIGHTS).map((label) => counts[label] ?? 0);
        assert.equal(
          observed.reduce((a, b) => a + b, 0),
          3000,
        );
        return observed;
      };
      await assertSplit(
        split,
        Object.values(WEIGHTS).map((w) => w / 100),
        `${client}: ${Object.keys(WEIGHTS)}`,
      );
    });
  }
});

// BIND serves the records with TTL 1; nsupdate changes them under load.
const KEY = {
  name: 'svcdisc-test',
  algorithm: 'hmac-sha256',
  secret: 'c3ZjZGlzYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=',
};
const TTL = 1;
/** From an update to the last request that may still see the old set: TTL + 2 s. */
const SETTLE_MS = (TTL + 2) * 1000;

describe('keep-alive clients follow the SRV set as it changes (BIND, RFC 2136, TTL 1 s)', {
  skip: missing('named', 'bind9') ?? missing('nsupdate', 'bind9-dnsutils'),
}, () => {
  const backends: Record<string, Backend> = {};
  let bind: RunningServer;
  before(async () => {
    for (const label of ['blue', 'green', 'gray']) backends[label] = await startBackend(label);
    const port = (label: string) => backends[label]?.port;
    bind = await startBind(
      `$TTL ${TTL}
@ IN SOA ns.kw. hostmaster.kw. 1 3600 600 86400 ${TTL}
@ IN NS ns.kw.
ns IN A 127.0.0.1
blue.host IN A 127.0.0.1
green.host IN A 127.0.0.1
gray.host IN A 127.0.0.1
user.prod IN SRV 10 50 ${port('blue')} blue.host
scale.prod IN SRV 10 50 ${port('blue')} blue.host
scale.prod IN SRV 10 50 ${port('green')} green.host
slow.prod IN SRV 10 50 ${port('blue')} blue.host
slow.prod IN SRV 10 50 ${port('green')} green.host
`,
      'user.prod.kw',
      KEY,
    );
  });
  after(async () => {
    stopBackends(Object.values(backends));
    await bind?.stop();
  });

  /** Sends one RFC 2136 update with nsupdate, signed with the zone's key. */
  async function nsupdate(...lines: string[]): Promise<void> {
    const [address, port] = bind.nameserver.split(':');
    const script = [`server ${address} ${port}`, 'zone kw', ...lines, 'send', ''].join('\n');
    const child = spawn('nsupdate', ['-y', `${KEY.algorithm}:${KEY.name}:${KEY.secret}`], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdin.end(script);
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, `nsupdate failed: ${stderr}`);
  }

  /** A line of loop.cjs: an answer (client), or one of svcdisc's failovers or ejections. */
  interface Answer {
    client?: string;
    event?: string;
    target?: string;
    port?: number;
    t: number;
    answer?: string;
    error?: string;
  }

  /** Runs test/pools/loop.cjs for `ms` against `url`, making the updates at their times. */
  async function loop(
    url: string,
    ms: number,
    updates: [number, () => Promise<void>][],
    nameserver = bind.nameserver,
  ): Promise<{ answers: Answer[]; at: number[]; sentAt: number[]; started: number }> {
    const running = underPreload(['test/pools/loop.cjs', url], nameserver, {
      LOOP_MS: String(ms),
    });
    const started = Date.now();
    // When each update was sent, and when the server had confirmed it.
    const sentAt: number[] = [];
    const at: number[] = [];
    for (const [delay, update] of updates) {
      await new Promise((resolve) => setTimeout(resolve, started + delay - Date.now()));
      sentAt.push(Date.now());
      await update();
      at.push(Date.now());
    }
    const stdout = await running;
    const answers = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Answer);
    return { answers, at, sentAt, started };
  }

  const count = (answers: Answer[], label: string) =>
    answers.filter((a) => a.answer === label).length;

  test('blue/green: after the old record is deleted no request reaches it later than TTL + 2 s, none fails', async () => {
    const port = (label: string) => backends[label]?.port;
    const { answers, at } = await loop('http://user.prod.kw/', 8500, [
      [
        1000,
        () => nsupdate(`update add user.prod.kw ${TTL} SRV 10 50 ${port('green')} green.host.kw`),
      ],
      [4800, () => nsupdate(`update delete user.prod.kw SRV 10 50 ${port('blue')} blue.host.kw`)],
    ]);
    const [added = 0, deleted = 0] = at;
    assert.deepEqual(
      answers.filter((a) => a.error),
      [],
    );
    for (const client of ['http.get', 'fetch']) {
      const mine = answers.filter((a) => a.client === client);
      const late = mine.filter((a) => a.t > deleted + SETTLE_MS);
      assert.ok(late.length >= 50, `${client}: ${late.length} answers after the switch`);
      assert.equal(count(late, 'blue'), 0, `${client} reached blue after the switch`);
      assert.equal(count(late, 'green'), late.length);
      // While both were published, the new one had its share too.
      const both = mine.filter((a) => a.t > added + SETTLE_MS && a.t < deleted);
      assert.ok(count(both, 'green') > 0, `${client}: green got none of ${both.length}`);
      assert.ok(count(both, 'blue') > 0, `${client}: blue got none of ${both.length}`);
    }
  });

  test('scale-up: a third endpoint added under load gets its share within TTL + 2 s', async () => {
    const port = (label: string) => backends[label]?.port;
    const { answers, at, sentAt } = await loop('http://scale.prod.kw/', 6000, [
      [
        1000,
        () => nsupdate(`update add scale.prod.kw ${TTL} SRV 10 50 ${port('gray')} gray.host.kw`),
      ],
    ]);
    const [added = 0] = at;
    const [sent = 0] = sentAt;
    assert.deepEqual(
      answers.filter((a) => a.error),
      [],
    );
    for (const client of ['http.get', 'fetch']) {
      const mine = answers.filter((a) => a.client === client);
      assert.equal(
        count(
          mine.filter((a) => a.t < sent),
          'gray',
        ),
        0,
      );
      const late = mine.filter((a) => a.t > added + SETTLE_MS);
      const observed = ['blue', 'green', 'gray'].map((label) => count(late, label));
      assert.equal(
        observed.reduce((a, b) => a + b, 0),
        late.length,
      );
      assert.ok(late.length >= 50, `${client}: ${late.length} answers after the scale-up`);
      // Equal weights: a third each. p = 0.0001 (df 2: 18.42), as this sample is not repeated.
      // A request that failed over was answered by another endpoint than chosen: said with a miss.
      const events = answers
        .filter((a) => a.event && a.t > added + SETTLE_MS)
        .map((a) => `${a.event} ${a.target}:${a.port}`);
      assert.ok(
        chiSquare(observed, [1 / 3, 1 / 3, 1 / 3]) < 18.42,
        `${client}: ${observed}; failovers and ejections meanwhile: ${events.join(', ') || 'none'}`,
      );
    }
  });

  test('weights hold per request while each refresh outlasts the answer (DNS 300 ms away)', async () => {
    // TTL 1 s: the refresh starts 100 ms before expiry and takes 300 ms. Until its reply the
    // answer it replaces is used; a request left without one would reuse whatever socket its
    // Node pool holds: one endpoint for every such request.
    const proxy = await LossyProxy.start(Number(bind.nameserver.split(':')[1]));
    proxy.delayMs = 150; // each way
    try {
      const { answers, started } = await loop('http://slow.prod.kw/', 5000, [], proxy.nameserver);
      assert.deepEqual(
        answers.filter((a) => a.error),
        [],
      );
      for (const client of ['http.get', 'fetch']) {
        const late = answers.filter((a) => a.client === client && a.t > started + 1500);
        const observed = ['blue', 'green'].map((label) => count(late, label));
        assert.ok(late.length >= 200, `${client}: ${late.length} answers`);
        assert.equal(
          observed.reduce((a, b) => a + b, 0),
          late.length,
        );
        // Equal weights: a half each. p = 0.0001 (df 1: 15.14), as this sample is not repeated.
        assert.ok(chiSquare(observed, [1 / 2, 1 / 2]) < 15.14, `${client}: ${observed}`);
      }
    } finally {
      await proxy.close();
    }
  });
});
