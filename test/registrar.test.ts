// SVCDISC_ANNOUNCE when the DNS server is not there yet: the program serves on, one line on
// stderr says the announcement failed and why, the retries are quiet, and one line says when
// it was announced after all.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { createResolver } from '../src/index.js';
import { DnsServer } from '../src/server/serve.js';

const REGISTER = join(__dirname, '..', 'register.cjs');
const ZONE = join(__dirname, '..', 'fixtures', 'kw.zone');

/** svcdisc serve with the kw zone, taking unsigned updates, on `port` (0: any). */
const serve = (port: number) =>
  DnsServer.start({
    zoneFile: ZONE,
    host: '127.0.0.1',
    port,
    watchIntervalMs: 0,
    updates: { allowUnsigned: true },
  });

/** A port free for UDP and TCP now, below the ephemeral range (32768 and up on Linux), so
 * that no socket of a test running alongside takes it before the server comes up there. */
async function reservedPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      const probe = await serve(port);
      await probe.close();
      return port;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
}

test('a failed announcement is said once on stderr, naming the SOA lookup; its recovery once', async () => {
  const port = await reservedPort();
  const script =
    "const s = require('http').createServer((q, r) => r.end('up')).listen(0, '127.0.0.1', () => console.log(s.address().port))";
  const child = spawn(process.execPath, ['-r', REGISTER, '-e', script], {
    env: {
      PATH: process.env.PATH,
      SVCDISC_NAMESERVERS: `127.0.0.1:${port}`,
      SVCDISC_ANNOUNCE: 'late.prod.kw',
      SVCDISC_TIMEOUT_MS: '200',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  let server: DnsServer | undefined;
  try {
    const appPort = Number(
      await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d)))),
    );
    const lines = () => stderr.split('\n').filter(Boolean);
    await until(() => lines().length >= 1);
    assert.match(
      lines()[0] ?? '',
      new RegExp(
        `^svcdisc: late\\.prod\\.kw:${appPort} could not be announced: querySoa ECONNREFUSED late\\.prod\\.kw: .*127\\.0\\.0\\.1:${port}.*; retrying in the background \\(NODE_DEBUG=svcdisc shows each attempt\\)$`,
      ),
    );
    // Let a retry (after 1 s) fail too, quietly; then the server comes up.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(lines().length, 1, stderr);
    server = await serve(port);
    await until(() => lines().length >= 2);
    assert.match(
      lines()[1] ?? '',
      new RegExp(
        `^svcdisc: late\\.prod\\.kw:${appPort} announced after 2 failed attempt\\(s\\): \\S+\\.late\\.prod\\.kw$`,
      ),
    );
    const resolved = await createResolver({ nameservers: [server.address] }).resolve(
      'late.prod.kw',
    );
    assert.deepEqual(
      resolved.endpoints.map((e) => e.port),
      [appPort],
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    assert.equal(lines().length, 2, stderr);
  } finally {
    child.kill('SIGKILL');
    await server?.close();
  }
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail('condition not reached in 10 s');
}

test('bug fix: a program that handles SIGTERM itself (process.once) is not killed by the withdrawal', async () => {
  const server = await serve(0);
  const script = `const s = require('http').createServer((q, r) => r.end('up')).listen(0, '127.0.0.1', () => console.log(s.address().port));
    process.once('SIGTERM', () => { console.log('draining'); setTimeout(() => { console.log('closed'); s.close(); }, 1000); });`;
  const child = spawn(process.execPath, ['-r', REGISTER, '-e', script], {
    env: {
      PATH: process.env.PATH,
      SVCDISC_NAMESERVERS: server.address,
      SVCDISC_ANNOUNCE: 'graceful.prod.kw',
      SVCDISC_ANNOUNCE_ADDRESS: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  const resolver = () =>
    createResolver({ nameservers: [server.address] })
      .resolve('graceful.prod.kw')
      .then(
        (r) => r.endpoints.length,
        (e: NodeJS.ErrnoException) => e.code,
      );
  try {
    await until(() => stdout.length > 0);
    for (let i = 0; i < 50 && (await resolver()) !== 1; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await resolver(), 1);
    const exited = new Promise<[number | null, string | null]>((resolve) =>
      child.once('exit', (code, signal) => resolve([code, signal])),
    );
    child.kill('SIGTERM');
    await until(() => stdout.includes('draining'));
    // Withdrawn at once, and the program still runs its own shutdown.
    for (let i = 0; i < 20 && (await resolver()) !== 'ENOTFOUND'; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await resolver(), 'ENOTFOUND');
    assert.equal(child.exitCode, null);
    assert.deepEqual(await exited, [0, null]);
    assert.match(stdout, /draining\nclosed\n$/);
  } finally {
    child.kill('SIGKILL');
    await server.close();
  }
});
