// Load: many connections and many names at once, bounded in what they cost.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createResolver } from '../src/index.js';
import { FixtureServer } from './fixture-server.js';
import { a, srv } from './records.js';

const REGISTER = join(__dirname, '..', 'register.cjs');

describe('load', () => {
  let dns: FixtureServer;
  let backend: net.Server;
  let accepted = 0;
  before(async () => {
    // The server closes first, so the client side leaves no TIME_WAIT ports behind.
    backend = net.createServer((socket) => {
      accepted++;
      socket.destroy();
    });
    await new Promise<void>((resolve) =>
      backend.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve),
    );
    const port = (backend.address() as AddressInfo).port;
    dns = await FixtureServer.start({
      records: [srv('busy.prod.kw', 'busy.host.kw', port), a('busy.host.kw', '127.0.0.1')],
    });
    dns.generate = (name, type) =>
      type === 'SRV' && /^n\d+\.prod\.kw$/.test(name)
        ? { answers: [srv(name, `host.${name}`, port)], glue: [a(`host.${name}`, '127.0.0.1')] }
        : undefined;
  });
  after(async () => {
    backend.close();
    await dns.close();
  });

  test('10 000 concurrent connects to one cold name: one SRV query, all connect', async () => {
    // In a child under the preload: its 10 000 sockets and this process's accepted ones stay
    // apart, each well under the descriptor limit.
    const script = `
      const net = require('node:net');
      let connected = 0, failed = 0, pending = 10000;
      for (let i = 0; i < 10000; i++) {
        const socket = net.connect(1, 'busy.prod.kw', () => { connected++; socket.destroy(); });
        socket.on('error', (e) => { if (!socket.connecting && e.code === 'ECONNRESET') return; failed++; });
        socket.on('close', () => { if (--pending === 0) console.log(JSON.stringify({ connected, failed })); });
      }`;
    accepted = 0;
    const before = dns.count('busy.prod.kw', 'SRV');
    const { stdout } = await promisify(execFile)(process.execPath, ['-r', REGISTER, '-e', script], {
      env: {
        PATH: process.env.PATH,
        SVCDISC_NAMESERVERS: dns.nameserver,
        SVCDISC_CONNECT_TIMEOUT_MS: '20000',
        // Making 10 000 sockets holds the child's event loop for seconds on a loaded machine:
        // with the default 2 s the query's retry timer fires before the waiting reply is read.
        SVCDISC_TIMEOUT_MS: '20000',
      },
      timeout: 120_000,
    });
    assert.deepEqual(JSON.parse(stdout), { connected: 10000, failed: 0 });
    assert.equal(dns.count('busy.prod.kw', 'SRV') - before, 1);
    // The child's connects completed in the kernel; this process may still be accepting the
    // last of them from its listen queue.
    for (const until = Date.now() + 10_000; accepted < 10000 && Date.now() < until; )
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(accepted, 10000);
  });

  test('10 000 distinct cold names at once: DNS sockets in flight stay bounded, all resolve', async () => {
    dns.behave = () => ({ delayMs: 5 });
    dns.maxPending = 0;
    try {
      // A burst of 256 datagrams can overflow the server's receive buffer, as with any UDP
      // server: the retries of the attempts recover those.
      const resolver = createResolver({
        nameservers: [dns.nameserver],
        timeoutMs: 1000,
        attempts: 3,
      });
      const results = await Promise.all(
        Array.from({ length: 10_000 }, (_, i) => resolver.resolve(`n${i}.prod.kw`)),
      );
      assert.equal(results.length, 10_000);
      assert.ok(results.every((r, i) => r.name === `n${i}.prod.kw` && r.endpoints.length === 1));
      // The client's bound (256 sockets at once), seen at the server as replies pending at once.
      assert.ok(dns.maxPending <= 256, `${dns.maxPending} queries in flight at once`);
      // Far above one at a time, so the bound was pressed on (96 seen on a loaded CI machine).
      assert.ok(dns.maxPending >= 50, `${dns.maxPending}: the bound was not even neared`);
    } finally {
      dns.behave = () => undefined;
    }
  });
});
