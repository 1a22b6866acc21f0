// The svcdisc command as users run it (dist/cli.js, built by npm test): resolve, serve, demo.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { Resolver as DnsResolver } from 'node:dns/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DEMO_ZONE } from '../src/cli/args.js';
import { createResolver } from '../src/index.js';
import { DnsServer } from '../src/server/serve.js';
import { closedPort } from './records.js';

const CLI = join(__dirname, '..', 'dist', 'cli.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in a child process (asynchronously: servers of this process must answer). */
async function svcdisc(args: string[], env: Record<string, string> = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('svcdisc', () => {
  let dns: DnsServer;
  let env: Record<string, string>;
  before(async () => {
    dns = await DnsServer.start({
      zoneFile: DEMO_ZONE,
      host: '127.0.0.1',
      port: 0,
      watchIntervalMs: 0,
    });
    env = { SVCDISC_NAMESERVERS: dns.address };
  });
  after(() => dns.close());

  test('--help for every command; an unknown command or option is refused with a message', async () => {
    for (const args of [
      ['--help'],
      ['resolve', '--help'],
      ['serve', '--help'],
      ['demo', '--help'],
    ]) {
      const run = await svcdisc(args);
      assert.equal(run.code, 0, args.join(' '));
      assert.match(run.stdout, /^Usage: svcdisc/);
    }
    const unknownOption = await svcdisc(['resolve', 'user.prod.kw', '--bogus']);
    assert.equal(unknownOption.code, 1);
    assert.match(
      unknownOption.stderr,
      /^svcdisc resolve: unknown option --bogus\n\nUsage: svcdisc resolve/,
    );
    const unknownCommand = await svcdisc(['frobnicate']);
    assert.equal(unknownCommand.code, 1);
    assert.match(unknownCommand.stderr, /unknown command "frobnicate"/);
  });

  test('manners: -h as --help, -v and --version, single-dash and valued flags refused, hints for a URL, a port, an empty name, a directory', async () => {
    for (const args of [
      ['-h'],
      ['resolve', '-h'],
      ['serve', '-h'],
      ['announce', '-h'],
      ['prune', '-h'],
    ]) {
      const run = await svcdisc(args);
      assert.equal(run.code, 0, args.join(' '));
      assert.match(run.stdout, /^Usage: svcdisc/, args.join(' '));
    }
    const { version } = require('../package.json') as { version: string };
    for (const flag of ['--version', '-v'])
      assert.equal((await svcdisc([flag])).stdout, `${version}\n`);
    const refused: [string[], RegExp][] = [
      [['resolve', 'user.prod.kw', '-x'], /^svcdisc resolve: unknown option -x\n/],
      [['resolve', 'user.prod.kw', '--json=false'], /--json takes no value \(not --json=false\)/],
      [
        ['resolve', 'http://user.prod.kw/'],
        /without the scheme and path: svcdisc resolve user\.prod\.kw\n/,
      ],
      [
        ['resolve', 'user.prod.kw:8080'],
        /without a port \(the SRV record gives it\): svcdisc resolve user\.prod\.kw\n/,
      ],
      [['resolve', ''], /the name is empty/],
      [['serve', '--zone', __dirname], /--zone \S+ is a directory; give the zone file in it/],
      [['serve', '--listen', '::1'], /\[::1\]:5300 for IPv6/],
    ];
    for (const [args, message] of refused) {
      const run = await svcdisc(args, env);
      assert.equal(run.code, 1, args.join(' '));
      assert.match(run.stderr, message, args.join(' '));
    }
    // demo --help names the service the demo really asks for.
    assert.match((await svcdisc(['demo', '--help'])).stdout, /http:\/\/api\.prod\.kw\//);
  });

  test('dock: a bad option exits 2 with what is expected, before any Docker call', async () => {
    for (const [args, message] of [
      [
        ['--ttl', '0'],
        /--ttl is the records' TTL and the lease refresh period, 1-86400 s, not "0"/,
      ],
      [
        ['--docker', 'ssh://host'],
        /the Docker daemon "ssh:\/\/host" is not unix:\/\/\/PATH or tcp:\/\/HOST:PORT/,
      ],
      [['--environment', 'a.b'], /do not make a DNS name/],
      [['--frobnicate'], /unknown option --frobnicate/],
    ] as const) {
      const run = await svcdisc(['dock', ...args], env);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /Usage: svcdisc dock/);
    }
  });

  test("resolve --json prints the contract's schema, and the choice is of the lowest priority", async () => {
    const run = await svcdisc(['resolve', 'user.prod.kw', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.deepEqual(Object.keys(result), ['name', 'query', 'records', 'chosen']);
    assert.equal(result.name, 'user.prod.kw');
    assert.equal(result.query, 'user.prod.kw');
    assert.deepEqual(result.records.map((r: { target: string }) => r.target).sort(), [
      'alpha.user.prod.kw',
      'backup.user.prod.kw',
      'beta.user.prod.kw',
      'gamma.user.prod.kw',
    ]);
    assert.deepEqual(
      result.records.find((r: { target: string }) => r.target === 'alpha.user.prod.kw'),
      {
        target: 'alpha.user.prod.kw',
        port: 28081,
        priority: 10,
        weight: 60,
        ttl: 5,
        addresses: ['127.0.0.1'],
      },
    );
    assert.ok(
      ['alpha.user.prod.kw', 'beta.user.prod.kw', 'gamma.user.prod.kw'].includes(
        result.chosen.target,
      ),
    );
    assert.equal(result.chosen.address, '127.0.0.1');
  });

  test('resolve prints a table and the endpoint a connection would choose', async () => {
    const run = await svcdisc(['resolve', '_http._tcp.user.prod.kw'], env);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.match(
      lines[0] ?? '',
      /^_http\._tcp\.user\.prod\.kw \(SRV _http\._tcp\.user\.prod\.kw\), ttl 5s, asked 127\.0\.0\.1:\d+$/,
    );
    assert.match(lines[1] ?? '', /^priority +weight +port +target +addresses$/);
    assert.equal(
      lines.filter((line) => /^\d+ +\d+ +\d+ +\S+\.user\.prod\.kw +127\.0\.0\.1$/.test(line))
        .length,
      4,
    );
    assert.match(
      lines.at(-1) ?? '',
      /^a connection now would go to (alpha|beta|gamma)\.user\.prod\.kw 127\.0\.0\.1:2808[123]$/,
    );
  });

  test('a nameserver given by host name (from /etc/hosts) is found with the system resolver', async () => {
    const port = dns.address.split(':')[1];
    const run = await svcdisc(['resolve', 'user.prod.kw'], {
      SVCDISC_NAMESERVERS: `localhost:${port}`,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(
        `^user\\.prod\\.kw \\(SRV user\\.prod\\.kw\\), ttl \\d+s, asked localhost:${port}\\n`,
      ),
    );
    // Through the preload too: a connection to a service name.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '-r',
        join(__dirname, '..', 'register.cjs'),
        '-e',
        "require('dns').lookup('user.prod.kw', (e, a) => console.log(e ? e.code : a.startsWith('198.18.') ? 'synthetic' : a))",
      ],
      { env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: `localhost:${port}` } },
    );
    assert.equal(stdout, 'synthetic\n');
  });

  test('resolve exits 2 for no such service, 1 for other failures, the reason on stderr', async () => {
    const nx = await svcdisc(['resolve', 'gone.prod.kw'], env);
    assert.equal(nx.code, 2);
    assert.match(
      nx.stderr,
      /^svcdisc resolve: querySrv ENOTFOUND gone\.prod\.kw: no such name \(NXDOMAIN\)/,
    );
    const nodata = await svcdisc(['resolve', 'ns.kw'], { ...env, SVCDISC_FALLBACK: '0' });
    assert.equal(nodata.code, 2);
    assert.match(nodata.stderr, /querySrv ENOTFOUND ns\.kw: no SRV records \(NODATA\)/);
    // RFC 2782's fallback: the name's own address, at the port the program connects to.
    const fallback = await svcdisc(['resolve', 'ns.kw'], env);
    assert.equal(fallback.code, 0, fallback.stderr);
    const lines = fallback.stdout.trim().split('\n');
    assert.match(
      lines[0] ?? '',
      /^ns\.kw \(no SRV records at ns\.kw: its own addresses, at the program's port \(RFC 2782 fallback\)\), ttl \d+s, asked /,
    );
    assert.match(lines[2] ?? '', /^0 +0 +program's +ns\.kw +127\.0\.0\.1$/);
    assert.equal(lines[3], "a connection now would go to ns.kw 127.0.0.1 at the program's port");
    const json = JSON.parse((await svcdisc(['resolve', 'ns.kw', '--json'], env)).stdout);
    assert.equal(json.fallback, true);
    assert.deepEqual(json.chosen, { target: 'ns.kw', address: '127.0.0.1', port: 0 });
    const dead = await svcdisc(['resolve', 'user.prod.kw'], {
      SVCDISC_NAMESERVERS: `127.0.0.1:${await closedPort()}`,
      SVCDISC_ATTEMPTS: '1',
    });
    assert.equal(dead.code, 1);
    assert.match(dead.stderr, /querySrv ECONNREFUSED user\.prod\.kw/);
    const badEnv = await svcdisc(['resolve', 'user.prod.kw'], { SVCDISC_TIMEOUT_MS: 'soon' });
    assert.equal(badEnv.code, 1);
    assert.match(badEnv.stderr, /^svcdisc: SVCDISC_TIMEOUT_MS="soon" is not valid/);
  });

  describe('serve', () => {
    let child: ChildProcess;
    const lines: string[] = [];
    before(async () => {
      child = spawn(
        process.execPath,
        [CLI, 'serve', '--zone', DEMO_ZONE, '--listen', '127.0.0.1:0', '--log-queries'],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) =>
        lines.push(line),
      );
      await until(() => lines.some((line) => line.includes('serving')));
    });
    after(() => {
      child.kill('SIGTERM');
    });

    test('serves the zone given, logs queries, reloads on SIGHUP and stops on SIGTERM', async () => {
      const port = /on 127\.0\.0\.1:(\d+)/.exec(lines[0] ?? '')?.[1];
      assert.match(
        lines[0] ?? '',
        /^svcdisc serve: serving zone kw from .*demo\.zone \(\d+ records, serial 1\) on 127\.0\.0\.1:\d+ \(UDP and TCP\)$/,
      );
      const resolver = createResolver({ nameservers: [`127.0.0.1:${port}`] });
      assert.equal((await resolver.resolve('user.prod.kw')).endpoints.length, 4);
      await until(() =>
        lines.some((line) =>
          /^svcdisc serve: udp 127\.0\.0\.1:\d+ user\.prod\.kw SRV NOERROR$/.test(line),
        ),
      );
      child.kill('SIGHUP');
      await until(() =>
        lines.some((line) => line.includes('reloaded zone kw') && line.endsWith('(SIGHUP)')),
      );
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    });

    test('a port in use is a clear error', async () => {
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as { port: number }).port;
      try {
        const run = await svcdisc(['serve', '--listen', `127.0.0.1:${port}`]);
        assert.equal(run.code, 1);
        assert.match(
          run.stderr,
          new RegExp(
            `TCP 127\\.0\\.0\\.1:${port} is in use: choose another with --listen HOST:PORT`,
          ),
        );
      } finally {
        taken.close();
      }
    });

    test('a bad zone file is refused with file:line', async () => {
      const run = await svcdisc(['serve', '--zone', __filename, '--listen', '127.0.0.1:0']);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /cli\.test\.ts:\d+: /);
    });
  });

  describe('announce leases', () => {
    let zone: DnsServer;
    let live: Server;
    let livePort: number;
    let leaseEnv: Record<string, string>;
    before(async () => {
      zone = await DnsServer.start({
        zoneFile: join(__dirname, '..', 'fixtures', 'kw.zone'),
        host: '127.0.0.1',
        port: 0,
        watchIntervalMs: 0,
        updates: { allowUnsigned: true },
      });
      leaseEnv = { SVCDISC_NAMESERVERS: zone.address };
      live = createServer((socket) => socket.end());
      await new Promise<void>((resolve) => live.listen(0, '127.0.0.1', resolve));
      livePort = (live.address() as { port: number }).port;
    });
    after(async () => {
      live.close();
      await zone.close();
    });
    const ports = (name: string) =>
      createResolver({ nameservers: [zone.address] })
        .resolve(name)
        .then(
          (r) => r.endpoints.map((e) => e.port).sort((x, y) => x - y),
          (e: NodeJS.ErrnoException) => e.code,
        );
    const lease = async (target: string) => {
      const resolver = new DnsResolver();
      resolver.setServers([zone.address]);
      return (await resolver.resolveTxt(target)).flat().join('');
    };

    test('bug fix: a CLI announcement has a lease (--ttl, default 1 h; 0: none), so prune can remove it', async () => {
      const dead = await closedPort();
      const announce = (port: number, ...more: string[]) =>
        svcdisc(
          ['announce', 'leased.prod.kw', '--port', String(port), '--address', '127.0.0.1', ...more],
          leaseEnv,
        );
      const gone = await announce(dead);
      assert.equal(gone.code, 0, gone.stderr);
      const until = /lease until (\S+)\n$/.exec(gone.stdout)?.[1];
      assert.ok(until, gone.stdout);
      const hours = (Date.parse(until) - Date.now()) / 3_600_000;
      assert.ok(hours > 0.99 && hours <= 1, `lease of ${hours} h`);
      const permanent = await announce(livePort, '--ttl', '0', '--target', 'static.leased.prod.kw');
      assert.match(permanent.stdout, /, no lease\n$/);
      const short = await announce(livePort, '--ttl', '1');
      assert.match(short.stdout, /, lease until /);
      assert.deepEqual(
        await ports('leased.prod.kw'),
        [livePort, livePort, dead].sort((x, y) => x - y),
      );

      // The dead port goes at once (leased, refuses connections); the static one stays.
      const first = await svcdisc(['prune', 'leased.prod.kw'], leaseEnv);
      assert.equal(first.code, 0, first.stderr);
      assert.match(
        first.stdout,
        new RegExp(`^removed \\S+:${dead} \\(127\\.0\\.0\\.1:${dead} refuses connections\\)$`, 'm'),
      );
      assert.match(
        first.stdout,
        /^kept static\.leased\.prod\.kw:\d+ \(no lease: not registered by svcdisc\)$/m,
      );
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const second = await svcdisc(['prune', 'leased.prod.kw'], leaseEnv);
      // The one-second lease (counted from a whole second) may already have ended at the first.
      assert.match(
        first.stdout + second.stdout,
        new RegExp(`^removed \\S+:${livePort} \\(lease expired at `, 'm'),
      );
      assert.deepEqual(await ports('leased.prod.kw'), [livePort]);

      for (const [args, message] of [
        [
          ['--ttl', '-1'],
          /--ttl is the lease in seconds, an integer ≥ 0 \(0: no lease\), not "-1"/,
        ],
        [
          ['--ttl', '10', '--keep'],
          /--ttl is the lease in seconds, 15 or more with --keep, not "10"/,
        ],
      ] as const) {
        const run = await announce(livePort, ...args);
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stderr, message);
      }
      const withdraw = await svcdisc(
        ['withdraw', 'leased.prod.kw', '--port', '1', '--ttl', '5'],
        leaseEnv,
      );
      assert.match(withdraw.stderr, /svcdisc withdraw: unknown option --ttl/);
    });

    test('announce --keep refreshes its lease in the foreground and withdraws on SIGTERM', async () => {
      const child = spawn(
        process.execPath,
        [
          CLI,
          'announce',
          'kept.prod.kw',
          '--port',
          String(livePort),
          '--address',
          '127.0.0.1',
          '--keep',
          '--ttl',
          '15',
        ],
        { env: { PATH: process.env.PATH, ...leaseEnv }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const lines: string[] = [];
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
      try {
        await until(() => lines.length > 0);
        assert.match(
          lines[0] ?? '',
          new RegExp(
            `^announced kept\\.prod\\.kw: (\\S+):${livePort} \\(127\\.0\\.0\\.1\\), zone kw, kept until SIGTERM$`,
          ),
        );
        const target = /: (\S+):/.exec(lines[0] ?? '')?.[1] ?? '';
        assert.deepEqual(await ports('kept.prod.kw'), [livePort]);
        const before = await lease(target);
        // Refreshed every third of the lease: 5 s.
        await new Promise((resolve) => setTimeout(resolve, 6000));
        const after = await lease(target);
        assert.match(after, /^svcdisc-lease=\d+$/);
        assert.ok(after > before, `${before} then ${after}`);
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        assert.equal(await exited, 0, stderr);
        assert.equal(lines[1], `withdrew kept.prod.kw: ${target}:${livePort}, zone kw`);
        assert.equal(await ports('kept.prod.kw'), 'ENOTFOUND');
        assert.equal(stderr, '');
      } finally {
        child.kill('SIGKILL');
      }
    });
  });

  test('demo: every request answered, weights honoured, failover when a backend stops', async () => {
    const run = await svcdisc(['demo', '--seconds', '4']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /failed requests: 0 /);
    const row = (label: string) =>
      new RegExp(`^${label} +\\d+ +\\d+ +\\S+ +(\\d+) \\(\\d+%\\) +(\\d+) \\(\\d+%\\)`, 'm').exec(
        run.stdout,
      );
    const [alpha, beta, gamma, backup] = ['alpha', 'beta', 'gamma', 'backup'].map((label) =>
      row(label)?.slice(1).map(Number),
    );
    assert.ok(alpha && beta && gamma && backup, run.stdout);
    // First half: weights 60/30/10 (alpha the most); second half: alpha stopped, none fail.
    assert.ok(alpha[0]! > beta[0]! && beta[0]! > gamma[0]!, run.stdout);
    // Stopped, it serves on until the client has moved: within the record's TTL (1 s).
    const last = /^alpha answered its last request (\d+\.\d) s after the stop$/m.exec(run.stdout);
    assert.ok(last && Number(last[1]) <= 2, run.stdout);
    assert.ok(beta[1]! > gamma[1]! && gamma[1]! > 0, run.stdout);
    assert.deepEqual(backup, [0, 0]);
    assert.match(run.stdout, /^alpha, beta, gamma, backup registered themselves in /m);
    assert.match(run.stdout, /alpha was stopped at \d+\.\d s and withdrew its record/);
  });
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  assert.ok(check(), 'condition not reached in 5 s');
}
