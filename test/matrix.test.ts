// The client matrix: an unmodified program (test/matrix/clients.cjs) reaches the right backend
// of every *.prod.kw name through each client library, under `-r`, `--import`, and as an ES
// module, with the ports in its URLs wrong on purpose.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Backends, EXPECTED, startBackends, TLS_DIR } from './matrix/backends.js';

const ROOT = join(__dirname, '..');
const REGISTER = join(ROOT, 'register.cjs');

describe('every client reaches its SRV endpoint', () => {
  let backends: Backends;
  before(async () => {
    backends = await startBackends();
  });
  after(() => backends.close());

  /** Runs a client program under the preload; asynchronous, as the backends live here. */
  async function run(args: string[]): Promise<Record<string, string>> {
    const { stdout } = await promisify(execFile)(process.execPath, args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        SVCDISC_NAMESERVERS: backends.dns.nameserver,
        MATRIX_CA: join(TLS_DIR, 'ca.crt'),
      },
      timeout: 120_000,
    });
    const lines = stdout.trim().split('\n');
    return JSON.parse(lines[lines.length - 1] ?? '{}');
  }

  const ESM_EXPECTED = {
    ...EXPECTED,
    'ESM import { get } from node:http': 'http-ok',
    'ESM import { connect } from node:net': 'tcp-ok',
    'ESM import { lookup } from node:dns': 'synthetic',
    'ESM import { lookup } from node:dns/promises': 'synthetic',
  };
  const cases: [string, string[], Record<string, string>][] = [
    [
      'node -r svcdisc/register (CommonJS program)',
      ['-r', REGISTER, 'test/matrix/clients.cjs'],
      EXPECTED,
    ],
    [
      'node --import svcdisc/register (CommonJS program)',
      ['--import', REGISTER, 'test/matrix/clients.cjs'],
      EXPECTED,
    ],
    [
      'node --import svcdisc/register (ES module, named imports)',
      ['--import', REGISTER, 'test/matrix/clients.mjs'],
      ESM_EXPECTED,
    ],
    [
      'node -r svcdisc/register (ES module, named imports)',
      ['-r', REGISTER, 'test/matrix/clients.mjs'],
      ESM_EXPECTED,
    ],
  ];
  for (const [title, args, expected] of cases) {
    test(title, async () => {
      assert.deepEqual(await run(args), expected);
    });
  }

  test('NODE_OPTIONS="--require svcdisc/register", and in worker threads too', async () => {
    const script = `
      const { Worker } = require('node:worker_threads');
      const code = "require('node:http').get('http://http.prod.kw:2/', (res) => res.on('data', (d) => require('node:worker_threads').parentPort.postMessage(String(d))))";
      new Worker(code, { eval: true }).once('message', (m) => console.log(JSON.stringify({ worker: m })));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      env: {
        PATH: process.env.PATH,
        NODE_OPTIONS: `--require ${REGISTER}`,
        SVCDISC_NAMESERVERS: backends.dns.nameserver,
      },
    });
    assert.deepEqual(JSON.parse(stdout), { worker: 'http-ok' });
  });

  test('a program that has done its work exits by itself (the preload keeps nothing alive)', async () => {
    const script =
      "require('node:http').get('http://http.prod.kw:2/', { agent: false }, (res) => res.resume().on('end', () => console.log('done')))";
    const started = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, ['-r', REGISTER, '-e', script], {
      env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: backends.dns.nameserver },
      timeout: 20_000, // killed (and failing) only if something kept it alive
    });
    assert.equal(stdout, 'done\n');
    assert.ok(Date.now() - started < 20_000);
  });

  test('NODE_DEBUG=svcdisc logs the resolution and the choice, one line each', async () => {
    const script =
      "require('node:http').get('http://http.prod.kw:2/', { agent: false }, (res) => res.resume())";
    const { stderr } = await promisify(execFile)(process.execPath, ['-r', REGISTER, '-e', script], {
      env: {
        PATH: process.env.PATH,
        SVCDISC_NAMESERVERS: backends.dns.nameserver,
        NODE_DEBUG: 'svcdisc',
      },
    });
    // Less the line on the code cache of the service side (code-cache.test.ts).
    const lines = stderr
      .trim()
      .split('\n')
      .filter((line) => !line.includes(': code cache '));
    assert.match(
      lines[0] ?? '',
      /^SVCDISC \d+: resolve http\.prod\.kw \(http\.prod\.kw\): 1 endpoint\(s\), ttl 30s$/,
    );
    assert.match(
      lines[1] ?? '',
      /^SVCDISC \d+: connect http\.prod\.kw -> backend\.host\.kw:\d+ \(attempt 1\)$/,
    );
    assert.equal(lines.length, 2);
  });

  test('the service side (its bundle: the resolver, dns-packet) is loaded on the first intercepted name, not before: not by other connects or fetches', async () => {
    const script = `
      const loaded = () => Object.keys(require.cache).some((path) => /dns-packet|patch.side\\.js/.test(path));
      const before = loaded();
      require('node:http').get('http://127.0.0.1:1/').on('error', () => {
        const afterOther = loaded();
        fetch('http://127.0.0.1:1/x?y.prod.kw').catch(() => {
          const afterFetch = loaded();
          require('node:http').get('http://http.prod.kw:2/', { agent: false }, (res) => {
            res.resume();
            console.log(JSON.stringify([before, afterOther, afterFetch, loaded()]));
          });
        });
      });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-r', REGISTER, '-e', script], {
      env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: backends.dns.nameserver },
    });
    assert.deepEqual(JSON.parse(stdout), [false, false, false, true]);
  });

  test('without the preload the same program fails: the ports are wrong and the names unknown', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '-e',
        `
      require('node:http').get('http://http.prod.kw:1/').on('error', (e) => console.log(e.code));`,
      ],
      {
        env: { PATH: process.env.PATH },
      },
    );
    assert.match(stdout, /ENOTFOUND|EAI_AGAIN|ECONNREFUSED/);
  });
});
