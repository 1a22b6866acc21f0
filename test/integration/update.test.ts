// RFC 2136 dynamic updates signed with TSIG, against BIND 9: announce and withdraw instances
// with the svcdisc command, see them through the resolver, and be refused without the key.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createResolver } from '../../src/index.js';
import { assertSplit } from '../records.js';
import { tempDir } from '../temp-dir.js';
import { missing, type RunningServer, startBind, startKnot } from './servers.js';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const ZONE = readFileSync(join(__dirname, '..', '..', 'fixtures', 'kw.zone'), 'utf8');
const KEY = {
  name: 'svcdisc-test',
  algorithm: 'hmac-sha256',
  secret: 'c3ZjZGlzYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=',
};
const KEY_ENV = `${KEY.name}:${KEY.algorithm}:${KEY.secret}`;

/** Runs the svcdisc command against `nameserver`; never rejects. */
async function cli(nameserver: string, args: string[], env: Record<string, string>) {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: nameserver, ...env },
    });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

for (const [title, command, packages, start] of [
  ['BIND 9', 'named', 'bind9', startBind],
  ['Knot DNS', 'knotd', 'knot', startKnot],
] as const)
  describe(`svcdisc announce and withdraw against ${title} (TSIG)`, {
    skip: missing(command, packages),
  }, () => {
    let bind: RunningServer;
    before(async () => {
      bind = await start(ZONE, 'user.prod.kw', KEY);
    });
    after(() => bind?.stop());

    const svcdisc = (args: string[], env: Record<string, string>) =>
      cli(bind.nameserver, args, env);
    const endpoints = async () => {
      const resolver = createResolver({ nameservers: [bind.nameserver] });
      return (await resolver.resolve('user.prod.kw')).endpoints
        .map((e) => `${e.target}:${e.port}=${e.addresses.map((a) => a.address).join(',')}`)
        .sort();
    };

    test('an announced instance appears beside the others, a withdrawn one goes, alone', async () => {
      const first = await svcdisc(
        [
          'announce',
          'user.prod.kw',
          '--port',
          '9901',
          '--target',
          'i1.user.prod.kw',
          '--address',
          '127.0.0.91',
        ],
        { SVCDISC_TSIG_KEY: KEY_ENV },
      );
      assert.equal(first.code, 0, first.stderr);
      assert.match(
        first.stdout,
        /^announced user\.prod\.kw: i1\.user\.prod\.kw:9901 \(127\.0\.0\.91\), zone kw, lease until \d{4}-\S+Z\n$/,
      );
      const second = await svcdisc(
        [
          'announce',
          'user.prod.kw',
          '--port',
          '9902',
          '--target',
          'i2.user.prod.kw',
          '--address',
          '127.0.0.92',
        ],
        { SVCDISC_TSIG_KEY: KEY_ENV, SVCDISC_ANNOUNCE_WEIGHT: '7' },
      );
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(await endpoints(), [
        'a.user.kw:8080=127.0.0.11',
        'b.user.kw:8081=127.0.0.12,::1',
        'c.user.kw:8082=127.0.0.13',
        'i1.user.prod.kw:9901=127.0.0.91',
        'i2.user.prod.kw:9902=127.0.0.92',
      ]);
      const gone = await svcdisc(
        ['withdraw', 'user.prod.kw', '--port', '9902', '--target', 'i2.user.prod.kw'],
        { SVCDISC_TSIG_KEY: KEY_ENV },
      );
      assert.equal(gone.code, 0, gone.stderr);
      assert.equal(gone.stdout, 'withdrew user.prod.kw: i2.user.prod.kw:9902, zone kw\n');
      assert.deepEqual(await endpoints(), [
        'a.user.kw:8080=127.0.0.11',
        'b.user.kw:8081=127.0.0.12,::1',
        'c.user.kw:8082=127.0.0.13',
        'i1.user.prod.kw:9901=127.0.0.91',
      ]);
      // Again: nothing is registered there any more. Not a failure, but not "withdrew" either.
      const again = await svcdisc(
        ['withdraw', 'user.prod.kw', '--port', '9902', '--target', 'i2.user.prod.kw'],
        { SVCDISC_TSIG_KEY: KEY_ENV },
      );
      assert.equal(again.code, 0, again.stderr);
      assert.equal(
        again.stdout,
        'not registered: user.prod.kw has no i2.user.prod.kw:9902 in zone kw; nothing to withdraw\n',
      );
    });

    test('the key can come from a BIND key file (tsig-keygen format)', async () => {
      const dir = tempDir('key');
      const file = join(dir, 'update.key');
      writeFileSync(
        file,
        `key "${KEY.name}" {\n\talgorithm ${KEY.algorithm};\n\tsecret "${KEY.secret}";\n};\n`,
      );
      const ok = await svcdisc(
        [
          'announce',
          'user.prod.kw',
          '--port',
          '9906',
          '--target',
          'kf.user.prod.kw',
          '--address',
          '127.0.0.96',
        ],
        { SVCDISC_TSIG_KEYFILE: file },
      );
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok((await endpoints()).includes('kf.user.prod.kw:9906=127.0.0.96'));
      assert.equal(
        (
          await svcdisc(
            ['withdraw', 'user.prod.kw', '--port', '9906', '--target', 'kf.user.prod.kw'],
            { SVCDISC_TSIG_KEYFILE: file },
          )
        ).code,
        0,
      );
      writeFileSync(file, 'not a key\n');
      const bad = await svcdisc(['announce', 'user.prod.kw', '--port', '9906'], {
        SVCDISC_TSIG_KEYFILE: file,
      });
      assert.equal(bad.code, 1);
      assert.match(
        bad.stderr,
        /SVCDISC_TSIG_KEYFILE=".*update\.key" is not valid: expected a BIND key file/,
      );
    });

    test('a wrong key is refused, and so is an unsigned update; the message says why', async () => {
      const wrong = await svcdisc(
        ['announce', 'user.prod.kw', '--port', '9903', '--address', '127.0.0.93'],
        {
          SVCDISC_TSIG_KEY: `${KEY.name}:hmac-sha256:d3Jvbmctc2VjcmV0LWZvci10aGUtdGVzdCEhISEhISE=`,
        },
      );
      assert.equal(wrong.code, 1);
      assert.match(
        wrong.stderr,
        /^svcdisc announce: update to 127\.0\.0\.1:\d+ refused: NOTAUTH \(is the key right, and allowed to update this zone\?\)/,
      );
      const unsigned = await svcdisc(
        ['announce', 'user.prod.kw', '--port', '9903', '--address', '127.0.0.93'],
        {},
      );
      assert.equal(unsigned.code, 1);
      assert.match(
        unsigned.stderr,
        /refused: (REFUSED|NOTAUTH) \(unsigned: does the zone need a TSIG key\?\)/,
      );
      assert.ok(!(await endpoints()).some((e) => e.includes(':9903=')));
    });
  });

describe('SVCDISC_ANNOUNCE: a program registers itself (BIND 9, TSIG)', {
  skip: missing('named', 'bind9'),
}, () => {
  let bind: RunningServer;
  before(async () => {
    bind = await startBind(ZONE, 'user.prod.kw', KEY);
  });
  after(() => bind?.stop());

  const svcdisc = (args: string[], env: Record<string, string>) => cli(bind.nameserver, args, env);
  const REGISTER = join(__dirname, '..', '..', 'register.cjs');
  const server = (name: string, key: string, answer = 'self', env: Record<string, string> = {}) => {
    const script = `const s = require('http').createServer((q, r) => r.end('${answer}')).listen(0, '127.0.0.1', () => console.log(s.address().port))`;
    return spawn(process.execPath, ['-r', REGISTER, '-e', script], {
      env: {
        PATH: process.env.PATH,
        NODE_DEBUG: 'svcdisc',
        SVCDISC_NAMESERVERS: bind.nameserver,
        SVCDISC_ANNOUNCE: name,
        SVCDISC_ANNOUNCE_ADDRESS: '127.0.0.1',
        SVCDISC_TSIG_KEY: key,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  };
  const lookup = (name: string) =>
    createResolver({ nameservers: [bind.nameserver] })
      .resolve(name)
      .then(
        (r) => r.endpoints.map((e) => e.port),
        (e: NodeJS.ErrnoException) => e.code,
      );
  async function until<T>(check: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
    for (let i = 0; i < 100; i++) {
      const value = await check();
      if (ok(value)) return value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail('condition not reached in 10 s');
  }

  test('appears when it listens, is reached through the preload, and goes on SIGTERM', async () => {
    const child = server('self.prod.kw', KEY_ENV);
    const port = Number(
      await new Promise<string>((resolve) => child.stdout?.once('data', (d) => resolve(String(d)))),
    );
    await until(
      () => lookup('self.prod.kw'),
      (ports) => Array.isArray(ports) && ports.includes(port),
    );
    // As any DNS client sees it: dig shows the instance's SRV record.
    const dnsPort = bind.nameserver.split(':')[1] ?? '';
    const dig = await promisify(execFile)('dig', [
      '@127.0.0.1',
      '-p',
      dnsPort,
      '+short',
      'self.prod.kw',
      'SRV',
    ]);
    assert.match(
      dig.stdout,
      new RegExp(`^10 100 ${port} \\S+-${port}\\.self\\.prod\\.kw\\.$`, 'm'),
    );
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '-r',
        REGISTER,
        '-e',
        "require('http').get('http://self.prod.kw/', (r) => r.pipe(process.stdout))",
      ],
      {
        env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: bind.nameserver },
      },
    );
    assert.equal(stdout, 'self');
    const exited = new Promise<string | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    child.kill('SIGTERM');
    assert.equal(await exited, 'SIGTERM'); // the signal still ends it, after the withdrawal
    assert.equal(await lookup('self.prod.kw'), 'ENOTFOUND');
  });

  test('bug fix: a server bound to one address is announced at that address; SVCDISC_ANNOUNCE_ADDRESS still wins', async () => {
    const addressesOf = (name: string) =>
      createResolver({ nameservers: [bind.nameserver] })
        .resolve(name)
        .then(
          (r) => r.endpoints.flatMap((e) => e.addresses.map((a) => a.address)),
          () => [] as string[],
        );
    for (const [name, host, env, expected] of [
      ['bound.prod.kw', '127.0.0.2', {}, '127.0.0.2'],
      ['chosen.prod.kw', '127.0.0.2', { SVCDISC_ANNOUNCE_ADDRESS: '127.0.0.3' }, '127.0.0.3'],
    ] as const) {
      const script = `require('http').createServer().listen(0, '${host}', () => console.log('up'))`;
      const child = spawn(process.execPath, ['-r', REGISTER, '-e', script], {
        env: {
          PATH: process.env.PATH,
          SVCDISC_NAMESERVERS: bind.nameserver,
          SVCDISC_ANNOUNCE: name,
          SVCDISC_TSIG_KEY: KEY_ENV,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        const addresses = await until(
          () => addressesOf(name),
          (found) => found.length > 0,
        );
        assert.deepEqual(addresses, [expected]);
      } finally {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
  });

  test('a killed instance (SIGKILL) stays until prune removes it; live and static ones stay', async () => {
    const live = server('pool.prod.kw', KEY_ENV);
    const doomed = server('pool.prod.kw', KEY_ENV);
    const portOf = (child: ReturnType<typeof server>) =>
      new Promise<number>((resolve) =>
        child.stdout?.once('data', (d) => resolve(Number(String(d)))),
      );
    const [livePort, doomedPort] = await Promise.all([portOf(live), portOf(doomed)]);
    try {
      await until(
        () => lookup('pool.prod.kw'),
        (ports) => Array.isArray(ports) && ports.length === 2,
      );
      doomed.kill('SIGKILL');
      await new Promise((resolve) => doomed.once('exit', resolve));
      assert.deepEqual(
        ((await lookup('pool.prod.kw')) as number[]).sort(),
        [livePort, doomedPort].sort(),
      );
      // An instance whose lease has run out, announced with the API.
      const { Announcer } = await import('../../src/update/announce.js');
      const { normalizeOptions } = await import('../../src/config.js');
      await new Announcer(
        normalizeOptions({ nameservers: [bind.nameserver], tsigKey: KEY_ENV }),
      ).announce({
        name: 'pool.prod.kw',
        port: 9955,
        target: 'stale.pool.prod.kw',
        addresses: ['127.0.0.1'],
        leaseUntil: Math.floor(Date.now() / 1000) - 60,
      });
      const run = await svcdisc(['prune', 'pool.prod.kw'], { SVCDISC_TSIG_KEY: KEY_ENV });
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        new RegExp(
          `^removed \\S+:${doomedPort} \\(127\\.0\\.0\\.1:${doomedPort} refuses connections\\)$`,
          'm',
        ),
      );
      assert.match(run.stdout, /^removed stale\.pool\.prod\.kw:9955 \(lease expired at /m);
      assert.match(run.stdout, new RegExp(`^kept \\S+:${livePort} \\(lease until `, 'm'));
      assert.deepEqual(await lookup('pool.prod.kw'), [livePort]);
      // Idempotent, and never touches what svcdisc did not register.
      assert.equal(
        (await svcdisc(['prune', 'pool.prod.kw'], { SVCDISC_TSIG_KEY: KEY_ENV })).code,
        0,
      );
      const statics = await svcdisc(['prune', 'user.prod.kw'], { SVCDISC_TSIG_KEY: KEY_ENV });
      assert.match(
        statics.stdout,
        /^kept a\.user\.kw:8080 \(no lease: not registered by svcdisc\)$/m,
      );
    } finally {
      live.kill('SIGKILL');
    }
  });

  test('two instances share the traffic by their announced weights', async () => {
    const heavy = server('shared.prod.kw', KEY_ENV, 'heavy', { SVCDISC_ANNOUNCE_WEIGHT: '3' });
    const light = server('shared.prod.kw', KEY_ENV, 'light', { SVCDISC_ANNOUNCE_WEIGHT: '1' });
    try {
      await until(
        () => lookup('shared.prod.kw'),
        (ports) => Array.isArray(ports) && ports.length === 2,
      );
      const count = async () => {
        const { stdout } = await promisify(execFile)(
          process.execPath,
          [
            '-r',
            REGISTER,
            join(__dirname, '..', '..', 'examples', 'count-backends.js'),
            'http://shared.prod.kw/',
            '800',
          ],
          { env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: bind.nameserver } },
        );
        const counts = JSON.parse(stdout) as Record<string, number>;
        assert.deepEqual(Object.keys(counts).sort(), ['heavy', 'light'], stdout);
        return [counts.heavy ?? 0, counts.light ?? 0];
      };
      await assertSplit(count, [3 / 4, 1 / 4], 'heavy and light');
    } finally {
      heavy.kill('SIGKILL');
      light.kill('SIGKILL');
    }
  });

  test('a wrong key: the program keeps serving, the failure is logged', async () => {
    const child = server(
      'other.prod.kw',
      `${KEY.name}:hmac-sha256:d3Jvbmctc2VjcmV0LWZvci10aGUtdGVzdCEhISEhISE=`,
    );
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    try {
      const port = Number(
        await new Promise<string>((resolve) =>
          child.stdout?.once('data', (d) => resolve(String(d))),
        ),
      );
      await until(
        async () => stderr,
        (text) => text.includes('announce other.prod.kw'),
      );
      assert.match(
        stderr,
        new RegExp(
          `announce other\\.prod\\.kw:${port} failed: update to 127\\.0\\.0\\.1:\\d+ refused: NOTAUTH`,
        ),
      );
      const { stdout } = await promisify(execFile)('node', [
        '-e',
        `require('http').get('http://127.0.0.1:${port}/', (r) => r.pipe(process.stdout))`,
      ]);
      assert.equal(stdout, 'self');
      assert.equal(await lookup('other.prod.kw'), 'ENOTFOUND');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
