// svcdisc dock against a real Docker daemon. Images are built here (FROM scratch: busybox
// httpd answering with its container's id, and an image of this machine's node with the
// packed svcdisc): nothing is pulled. Into svcdisc serve: containers registered by their
// image's name, withdrawn when they stop or pause, labels, health checks, a container
// without a port, a dock killed with SIGKILL (its records end with their leases: svcdisc
// prune) and a new dock, two docks at once, a dockerd restart, stale records. Into BIND 9
// with a TSIG key, seen by dig. End to end: an unmodified Node client in a container, with
// the preload, calling the containers by name. Every container, network and image made here
// is removed, also when a test fails; dockerd is started only when none runs, and then
// stopped.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createResolver } from '../../src/index.js';
import { DnsServer } from '../../src/server/serve.js';
import { tempDir } from '../temp-dir.js';
import { missing, type RunningServer, startBind } from './servers.js';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const ZONE = join(ROOT, 'fixtures', 'kw.zone');
const NETWORK = 'svcdisc-test-dock';
const SUBNET = '172.30.77.0/24';
const GATEWAY = '172.30.77.1';
const IMAGE = 'fabware/grounduser:test';
const PORTLESS = 'fabware/portless:test';
const CLIENT = 'svcdisc-test/client:test';
const BUSYBOX = '/bin/busybox';
/** How soon a container's start, stop or pause shows in DNS. */
const BOUND_MS = 1000;
const KEY = {
  name: 'svcdisc-dock',
  algorithm: 'hmac-sha256',
  secret: 'c3ZjZGlzYy1kb2NrLXRlc3Qta2V5LTMyLWJ5dGVzISE=',
};

const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8' });
const execFileAsync = promisify(execFile);

let startedDaemon: ChildProcess | undefined;

/** Starts dockerd (live restore: its containers outlive a restart of the daemon) and waits
 * until it answers; undefined when it does not. */
function startDaemon(): ChildProcess | undefined {
  const daemon = spawn('dockerd', ['--live-restore'], { stdio: 'ignore' });
  for (let i = 0; i < 150 && docker('info').status !== 0; i++) spawnSync('sleep', ['0.2']);
  return docker('info').status === 0 ? daemon : undefined;
}

async function stopDaemon(daemon: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => daemon.once('exit', resolve));
  daemon.kill('SIGTERM');
  await exited;
}

/** Why Docker cannot be used here; under CI an error, never a skip. Starts dockerd (as root)
 * when none answers. */
function unavailable(): string | undefined {
  let reason: string | undefined;
  if (spawnSync('sh', ['-c', 'command -v docker && command -v dockerd']).status !== 0)
    reason = 'docker is not installed (Debian: apt-get install docker.io; .ci/run does it)';
  else if (spawnSync('test', ['-x', BUSYBOX]).status !== 0)
    reason = `${BUSYBOX} is missing (Debian: apt-get install busybox-static; .ci/run does it)`;
  else if (docker('info').status !== 0) {
    startedDaemon = startDaemon();
    if (!startedDaemon) reason = 'dockerd does not start here (needs root)';
  }
  if (reason && process.env.CI) throw new Error(reason);
  return reason;
}

/** An image FROM scratch with busybox (also as /bin/sh, for health checks) and `command` as
 * its entry point. */
function buildImage(tag: string, expose: number | undefined, command: string[]): void {
  const dir = tempDir('image');
  copyFileSync(BUSYBOX, join(dir, 'busybox'));
  mkdirSync(join(dir, 'www'));
  writeFileSync(
    join(dir, 'Dockerfile'),
    `FROM scratch\nCOPY busybox /bin/busybox\nCOPY busybox /bin/sh\nCOPY www /www\n${expose ? `EXPOSE ${expose}\n` : ''}ENTRYPOINT ${JSON.stringify(command)}\n`,
  );
  const built = docker('build', '-q', '-t', tag, dir);
  assert.equal(built.status, 0, built.stderr);
}

/** An image FROM scratch of this machine's node, the libraries ldd lists for it, and the
 * packed svcdisc installed as a user installs it, running examples/watch-backends.js under
 * the preload. What `FROM node` and `npm install svcdisc` make where a registry is reachable. */
function buildClientImage(): void {
  const dir = tempDir('client');
  const rootfs = join(dir, 'rootfs');
  const put = (from: string, to: string) => {
    mkdirSync(dirname(join(rootfs, to)), { recursive: true });
    copyFileSync(from, join(rootfs, to));
  };
  put(process.execPath, '/usr/local/bin/node');
  const libraries = execFileSync('ldd', [process.execPath], { encoding: 'utf8' }).match(/\/\S+/gm);
  for (const library of libraries ?? []) put(library, library);
  execFileSync('npm', ['pack', '--pack-destination', dir, '--ignore-scripts'], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz')) as string;
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{"name":"client","version":"1.0.0","private":true}');
  execFileSync(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball)],
    { cwd: app, stdio: 'ignore' },
  );
  copyFileSync(join(ROOT, 'examples', 'watch-backends.js'), join(app, 'watch-backends.js'));
  cpSync(app, join(rootfs, 'app'), { recursive: true });
  writeFileSync(
    join(dir, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY rootfs/ /',
      'WORKDIR /app',
      'ENV NODE_OPTIONS="--require svcdisc/register"',
      'ENTRYPOINT ["/usr/local/bin/node", "watch-backends.js"]',
      '',
    ].join('\n'),
  );
  const built = docker('build', '-q', '-t', CLIENT, dir);
  assert.equal(built.status, 0, built.stderr);
}

/** Polls until `check` holds; returns how long it took, ms; fails after `ms`. */
async function within(
  ms: number,
  what: string | (() => string),
  check: () => Promise<boolean>,
): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > ms)
      assert.fail(`${typeof what === 'string' ? what : what()}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - started;
}

/** Polls `get` until it gives `want` (the same JSON); fails after `ms`, saying what it gave. */
async function becomes(
  ms: number,
  what: string,
  get: () => Promise<unknown>,
  want: unknown,
): Promise<void> {
  const wanted = JSON.stringify(want);
  let seen = '';
  await within(
    ms,
    () => `${what} (${seen}, not ${wanted})`,
    async () => {
      seen = JSON.stringify(await get());
      return seen === wanted;
    },
  );
}

/** The SRV records of `name` at `nameserver` now: `shortid address:port weight`, sorted; or
 * the error code. */
async function srvAt(nameserver: string, name: string): Promise<string[] | string> {
  const resolver = createResolver({ nameservers: [nameserver], maxTtl: 0 });
  return resolver.resolve(name).then(
    (r) =>
      r.endpoints
        .map((e) => `${e.target.split('.')[0]} ${e.addresses[0]?.address}:${e.port} ${e.weight}`)
        .sort(),
    (error: NodeJS.ErrnoException) => error.code ?? 'error',
  );
}

/** What dig says: `dig @host -p port name type +short`, one line per record, sorted. */
async function dig(nameserver: string, name: string, type: string): Promise<string[]> {
  const [host, port] = nameserver.split(':') as [string, string];
  const { stdout } = await execFileAsync('dig', [`@${host}`, '-p', port, name, type, '+short']);
  return stdout.split('\n').filter(Boolean).sort();
}

const short = (id: string) => id.slice(0, 12);
const ip = (id: string) =>
  docker(
    'inspect',
    '-f',
    `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`,
    id,
  ).stdout.trim();
const running = (id: string) =>
  docker('inspect', '-f', '{{.State.Running}}', id).stdout.trim() === 'true';

/** The containers and docks of one suite, and what the docks said; all removed by `clear`. */
function scene() {
  const containers: string[] = [];
  const docks: ChildProcess[] = [];
  const output = { out: '', err: '' };
  return {
    containers,
    docks,
    output,
    /** `svcdisc dock --network NETWORK --ttl 1`, with `env` beside PATH. */
    startDock(env: Record<string, string>): ChildProcess {
      const child = spawn(process.execPath, [CLI, 'dock', '--network', NETWORK, '--ttl', '1'], {
        env: { PATH: process.env.PATH, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (chunk) => {
        output.out += chunk;
      });
      child.stderr?.on('data', (chunk) => {
        output.err += chunk;
      });
      docks.push(child);
      return child;
    },
    /** `docker run -d --network NETWORK ...args`: the container's id. */
    run(...args: string[]): string {
      const started = docker('run', '-d', '--network', NETWORK, ...args);
      assert.equal(started.status, 0, started.stderr);
      const id = started.stdout.trim();
      containers.push(id);
      return id;
    },
    /** Waits until the docks printed a line matching `line` (DNS may show a change before
     * the dock prints it: it prints when the update is answered). */
    async said(line: RegExp, stream: 'out' | 'err' = 'out'): Promise<void> {
      await within(2000, `the dock's line ${line}`, async () => line.test(output[stream]));
    },
    clear(): void {
      for (const child of docks) child.kill('SIGKILL');
      if (containers.length > 0) docker('rm', '-f', ...containers);
    },
  };
}

const skip = unavailable();

describe('svcdisc dock (real dockerd)', { skip }, () => {
  before(() => {
    docker('network', 'rm', NETWORK);
    const network = docker('network', 'create', '--subnet', SUBNET, '--gateway', GATEWAY, NETWORK);
    assert.equal(network.status, 0, network.stderr);
    // Each answers with its container's id (its host name): the client says who answered.
    buildImage(IMAGE, 8080, [
      '/bin/sh',
      '-c',
      'busybox hostname > /www/index.html && exec busybox httpd -f -p 8080 -h /www',
    ]);
    buildImage(PORTLESS, undefined, ['/bin/busybox', 'sleep', '600']);
  });
  after(async () => {
    docker('network', 'rm', NETWORK);
    docker('rmi', '-f', IMAGE, PORTLESS, CLIENT);
    if (startedDaemon && startedDaemon.exitCode === null) await stopDaemon(startedDaemon);
  });

  describe('into svcdisc serve', () => {
    let dns: DnsServer;
    const s = scene();
    const { run, containers, docks, output } = s;
    before(async () => {
      dns = await DnsServer.start({
        zoneFile: ZONE,
        host: '127.0.0.1',
        port: 0,
        watchIntervalMs: 0,
        updates: { allowUnsigned: true },
      });
    });
    after(async () => {
      s.clear();
      await dns?.close();
    });

    const env = () => ({ SVCDISC_NAMESERVERS: `127.0.0.1:${dns.port}` });
    const startDock = () => s.startDock(env());
    const records = (name: string) => srvAt(`127.0.0.1:${dns.port}`, name);

    test('two containers of fabware/grounduser: two SRV records of grounduser.dev.kw; stop, pause and unpause', async () => {
      startDock();
      await within(5000, 'dock started', async () => output.out.includes('svcdisc dock:'));
      const one = run(IMAGE);
      const two = run(IMAGE);
      const both = [
        `${short(one)} ${ip(one)}:8080 100`,
        `${short(two)} ${ip(two)}:8080 100`,
      ].sort();
      await becomes(BOUND_MS, 'both registered', () => records('grounduser.dev.kw'), both);
      await s.said(new RegExp(`\\+ grounduser\\.dev\\.kw ${short(one)} ${ip(one)}:8080`));
      // What any DNS client sees: dig, the SRV records and the targets' addresses.
      assert.deepEqual(
        await dig(`127.0.0.1:${dns.port}`, 'grounduser.dev.kw', 'SRV'),
        [one, two].map((id) => `10 100 8080 ${short(id)}.grounduser.dev.kw.`).sort(),
      );
      assert.deepEqual(await dig(`127.0.0.1:${dns.port}`, `${short(one)}.grounduser.dev.kw`, 'A'), [
        ip(one),
      ]);
      // The records' TTL is the dock's --ttl (1 s): a withdrawal leaves caches within it.
      const resolver = createResolver({ nameservers: [`127.0.0.1:${dns.port}`] });
      assert.equal((await resolver.resolve('grounduser.dev.kw')).ttl, 1);

      assert.equal(docker('stop', '-t', '0', two).status, 0);
      await becomes(BOUND_MS, 'the stopped one withdrawn', () => records('grounduser.dev.kw'), [
        both.find((r) => r.startsWith(short(one))),
      ]);
      // docker stop -t 0: SIGTERM, then SIGKILL at once; the withdrawal may see either.
      await s.said(
        new RegExp(`- grounduser\\.dev\\.kw ${short(two)} .*\\((stopping|not running)\\)`),
      );

      assert.equal(docker('pause', one).status, 0);
      await becomes(
        BOUND_MS,
        'the paused one withdrawn',
        () => records('grounduser.dev.kw'),
        'ENOTFOUND',
      );
      assert.equal(docker('unpause', one).status, 0);
      await within(BOUND_MS, 'the unpaused one back', async () =>
        Array.isArray(await records('grounduser.dev.kw')),
      );
    });

    test('labels name the service and set its port and weight; a container without a port is skipped, said once', async () => {
      const cache = run(
        '--label',
        'svcdisc.name=cache',
        '--label',
        'svcdisc.weight=7',
        '--label',
        'svcdisc.port=8080',
        IMAGE,
      );
      await becomes(2000, 'cache registered', () => records('cache.dev.kw'), [
        `${short(cache)} ${ip(cache)}:8080 7`,
      ]);
      const portless = run(PORTLESS);
      const ignored = run('--label', 'svcdisc.ignore=true', IMAGE);
      await within(2000, 'the portless one said', async () =>
        output.err.includes(`skipped ${short(portless)}: no exposed TCP port`),
      );
      assert.ok(output.err.includes(`skipped ${short(ignored)}: label svcdisc.ignore`));
      assert.equal(await records('portless.dev.kw'), 'ENOTFOUND');
      assert.equal(
        ((await records('grounduser.dev.kw')) as string[]).some((r) =>
          r.startsWith(short(ignored)),
        ),
        false,
      );
    });

    test('a container with a health check is in DNS only while healthy', async () => {
      const checked = run(
        '--label',
        'svcdisc.name=checked',
        '--health-cmd',
        'busybox test -f /www/healthy',
        '--health-interval',
        '200ms',
        '--health-retries',
        '1',
        IMAGE,
      );
      const health = () =>
        docker('inspect', '-f', '{{.State.Health.Status}}', checked).stdout.trim();
      await within(5000, 'unhealthy', async () => health() === 'unhealthy');
      assert.equal(await records('checked.dev.kw'), 'ENOTFOUND');
      assert.equal(docker('exec', checked, 'busybox', 'touch', '/www/healthy').status, 0);
      await becomes(5000, 'healthy, registered', () => records('checked.dev.kw'), [
        `${short(checked)} ${ip(checked)}:8080 100`,
      ]);
      assert.equal(docker('exec', checked, 'busybox', 'rm', '/www/healthy').status, 0);
      await becomes(
        5000,
        'unhealthy again, withdrawn',
        () => records('checked.dev.kw'),
        'ENOTFOUND',
      );
      assert.equal(running(checked), true);
      await s.said(new RegExp(`- checked\\.dev\\.kw ${short(checked)} .*\\(unhealthy\\)`));
    });

    test('docker stop with a grace period: withdrawn at the stop signal, while the container still serves', async () => {
      const leaving = run('--label', 'svcdisc.name=leaving', IMAGE);
      await within(2000, 'registered', async () => Array.isArray(await records('leaving.dev.kw')));
      // SIGTERM first (busybox httpd, the container's process 1, ignores it), SIGKILL 4 s later.
      const stopped = execFileAsync('docker', ['stop', '-t', '4', leaving]);
      await becomes(
        2000,
        'withdrawn at the stop signal',
        () => records('leaving.dev.kw'),
        'ENOTFOUND',
      );
      assert.equal(running(leaving), true);
      await s.said(new RegExp(`- leaving\\.dev\\.kw ${short(leaving)} .*\\(stopping\\)`));
      await stopped;
    });

    test('a dock killed with SIGKILL: records stay until their leases end and prune removes them; a new dock registers what runs', async () => {
      for (const child of docks) child.kill('SIGKILL');
      const running = await records('grounduser.dev.kw');
      assert.ok(Array.isArray(running) && running.length === 1, String(running));
      const [survivor] = containers.filter(
        (id) =>
          docker('inspect', '-f', '{{.State.Running}}', id).stdout.trim() === 'true' &&
          running.some((r) => r.startsWith(short(id))),
      );
      assert.ok(survivor);
      assert.equal(docker('stop', '-t', '0', survivor).status, 0);
      // Nobody withdraws it: it stays, with its lease (3 s).
      assert.deepEqual(await records('grounduser.dev.kw'), running);
      const late = run(IMAGE);
      await new Promise((resolve) => setTimeout(resolve, 3500));
      // Asynchronously: the DNS server answering it runs in this process.
      const prune = await promisify(execFile)(
        process.execPath,
        [CLI, 'prune', 'grounduser.dev.kw'],
        {
          env: env(),
        },
      );

      assert.match(
        prune.stdout,
        new RegExp(`removed ${short(survivor)}\\.grounduser\\.dev\\.kw:8080 \\(lease expired`),
      );
      assert.equal(await records('grounduser.dev.kw'), 'ENOTFOUND');
      startDock();
      await becomes(5000, 'the new dock registers what runs', () => records('grounduser.dev.kw'), [
        `${short(late)} ${ip(late)}:8080 100`,
      ]);
    });

    test('two docks at once: one record per container, the same set at every look while leases are refreshed', async () => {
      startDock(); // beside the one of the test before
      const more = run(IMAGE);
      const expected = () =>
        containers
          .filter(
            (id) => docker('inspect', '-f', '{{.State.Running}}', id).stdout.trim() === 'true',
          )
          .filter((id) => docker('inspect', '-f', '{{.Config.Image}}', id).stdout.trim() === IMAGE)
          .filter(
            (id) =>
              !docker('inspect', '-f', '{{json .Config.Labels}}', id).stdout.includes('svcdisc'),
          )
          .map((id) => `${short(id)} ${ip(id)}:8080 100`)
          .sort();
      const want = expected();
      assert.ok(want.some((r) => r.startsWith(short(more))));
      await becomes(2000, 'registered by both', () => records('grounduser.dev.kw'), want);
      // Three lease periods of both docks refreshing: no duplicate, nothing missing, ever.
      for (const until = performance.now() + 3500; performance.now() < until; ) {
        assert.deepEqual(await records('grounduser.dev.kw'), want);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });

    test('dockerd restarted under running docks: they reconnect, resync, and follow its events again', {
      skip: startedDaemon
        ? undefined
        : 'dockerd was not started by this test (it restarts only its own)',
    }, async () => {
      const before = await records('grounduser.dev.kw');
      assert.ok(Array.isArray(before) && before.length >= 2);
      await stopDaemon(startedDaemon as ChildProcess);
      await within(5000, 'the broken stream said', async () => /reconnecting in/.test(output.err));
      startedDaemon = startDaemon();
      assert.ok(startedDaemon, 'dockerd did not start again');
      await within(10_000, 'reconnected', async () => /reconnected; resyncing/.test(output.err));
      // Live restore kept the containers: the records are the same.
      assert.deepEqual(await records('grounduser.dev.kw'), before);
      const [first] = before as string[];
      const id = containers.find((c) => first?.startsWith(short(c))) as string;
      assert.equal(docker('stop', '-t', '0', id).status, 0);
      await within(2000, 'the stopped one withdrawn after the restart', async () => {
        const now = await records('grounduser.dev.kw');
        return (
          Array.isArray(now) && now.length === before.length - 1 && !now.includes(first as string)
        );
      });
    });

    test("a dock that starts removes its host's records of containers that stopped while no dock ran, and only those", async () => {
      for (const child of docks) child.kill('SIGKILL');
      // An instance registered otherwise (no holder in its lease): never the dock's to remove.
      const other = await promisify(execFile)(
        process.execPath,
        [
          CLI,
          'announce',
          'grounduser.dev.kw',
          '--port',
          '9',
          '--target',
          'other.grounduser.dev.kw',
          '--address',
          '127.0.0.9',
        ],
        { env: env() },
      );
      assert.match(other.stdout, /announced grounduser\.dev\.kw/);
      const before = (await records('grounduser.dev.kw')) as string[];
      const gone = containers.find((id) => before.some((r) => r.startsWith(short(id)))) as string;
      assert.ok(gone);
      assert.equal(docker('stop', '-t', '0', gone).status, 0);
      assert.deepEqual(await records('grounduser.dev.kw'), before); // nobody withdrew it
      startDock();
      await within(2000, 'the stale record removed by the new dock', async () => {
        const now = await records('grounduser.dev.kw');
        return Array.isArray(now) && !now.some((r) => r.startsWith(short(gone)));
      });
      await s.said(new RegExp(`- grounduser\\.dev\\.kw ${short(gone)} 8080 \\(no longer runs\\)`));
      const after = (await records('grounduser.dev.kw')) as string[];
      assert.deepEqual(
        after,
        before.filter((r) => !r.startsWith(short(gone))),
      );
      assert.ok(after.some((r) => r.startsWith('other ')));
    });
  });

  describe('into BIND 9 with a TSIG key', { skip: missing('named', 'bind9 bind9utils') }, () => {
    let bind: RunningServer;
    const s = scene();
    before(async () => {
      bind = await startBind(readFileSync(ZONE, 'utf8'), 'user.prod.kw', KEY);
    });
    after(async () => {
      s.clear();
      await bind?.stop();
    });

    test('two containers: their records in BIND, seen by dig; one stopped, its records gone; unsigned updates refused', async () => {
      s.startDock({
        SVCDISC_NAMESERVERS: bind.nameserver,
        SVCDISC_TSIG_KEY: `${KEY.name}:${KEY.algorithm}:${KEY.secret}`,
      });
      const one = s.run(IMAGE);
      const two = s.run(IMAGE);
      const srv = (ids: string[]) =>
        ids.map((id) => `10 100 8080 ${short(id)}.grounduser.dev.kw.`).sort();
      await becomes(
        BOUND_MS,
        'both in BIND',
        () => dig(bind.nameserver, 'grounduser.dev.kw', 'SRV'),
        srv([one, two]),
      );
      const target = `${short(two)}.grounduser.dev.kw`;
      assert.deepEqual(await dig(bind.nameserver, target, 'A'), [ip(two)]);
      // Beside the address, the lease, naming the Docker host.
      const lease = (await dig(bind.nameserver, target, 'TXT')).join(' ');
      assert.match(lease, /"svcdisc-lease=\d+"/);
      assert.match(lease, /"svcdisc-holder=[^"]+"/);

      assert.equal(docker('stop', '-t', '0', two).status, 0);
      await becomes(
        BOUND_MS,
        'the stopped one gone',
        () => dig(bind.nameserver, 'grounduser.dev.kw', 'SRV'),
        srv([one]),
      );
      assert.deepEqual(await dig(bind.nameserver, target, 'A'), []);
      assert.deepEqual(await dig(bind.nameserver, target, 'TXT'), []);

      // The same dock without the key: BIND turns its updates down, and it says so.
      s.startDock({ SVCDISC_NAMESERVERS: bind.nameserver });
      await s.said(/svcdisc dock: .*REFUSED/, 'err');
    });
  });

  describe('end to end: an unmodified Node client in a container', () => {
    const s = scene();
    let serve: ChildProcess | undefined;
    let nameserver = '';
    before(async () => {
      buildClientImage();
      // The nameserver on the network's gateway: the host, as the containers reach it.
      serve = spawn(
        process.execPath,
        [CLI, 'serve', '--zone', ZONE, '--listen', `${GATEWAY}:0`, '--allow-unsigned-updates'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let said = '';
      serve.stdout?.on('data', (chunk) => {
        said += chunk;
      });
      const listening = new RegExp(` on ${GATEWAY.replaceAll('.', '\\.')}:(\\d+) `);
      await within(5000, 'svcdisc serve listening', async () => listening.test(said));
      nameserver = `${GATEWAY}:${listening.exec(said)?.[1]}`;
    });
    after(() => {
      s.clear();
      serve?.kill();
    });

    test('its requests are split by the SRV weights; a container stopped, it goes on with the other and no request fails', async () => {
      s.startDock({ SVCDISC_NAMESERVERS: nameserver });
      const light = s.run('--label', 'svcdisc.weight=25', IMAGE);
      const heavy = s.run('--label', 'svcdisc.weight=75', IMAGE);
      await within(5000, 'both registered', async () => {
        const now = await srvAt(nameserver, 'grounduser.dev.kw');
        return Array.isArray(now) && now.length === 2;
      });

      const name = 'svcdisc-test-client';
      s.containers.push(name);
      const client = spawn(
        'docker',
        [
          'run',
          '--rm',
          '--name',
          name,
          '--network',
          NETWORK,
          '-e',
          `SVCDISC_NAMESERVERS=${nameserver}`,
          CLIENT,
          'http://grounduser.dev.kw/',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const answers: string[] = [];
      const arrivals: number[] = []; // when each answer was read, ms
      let partial = '';
      let errors = '';
      client.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() as string;
        answers.push(...lines);
        for (const _ of lines) arrivals.push(performance.now());
      });
      client.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        errors += chunk;
      });
      await within(60_000, `400 answers (stderr: ${errors})`, async () => answers.length >= 400);
      const first = answers.slice(0, 400);
      const count = (id: string) => first.filter((answer) => answer === short(id)).length;
      const split = `light ${count(light)}, heavy ${count(heavy)}: ${[...new Set(first)]}`;
      assert.equal(count(light) + count(heavy), 400, split);
      // Weights 25 and 75: 300 of 400 expected for the heavy one, σ ≈ 8.7; five σ either way.
      assert.ok(Math.abs(count(heavy) - 300) <= 45, split);

      // With a grace, as `docker stop` gives one by default: the dock withdraws it at the stop
      // signal, the client leaves it within the records' TTL (1 s), it ends 6 s later. From
      // 3 s on, while it still runs, every answer is the other's.
      const stopAt = performance.now();
      const stopped = execFileAsync('docker', ['stop', '-t', '6', heavy]);
      await new Promise((resolve) => setTimeout(resolve, 4500));
      assert.equal(running(heavy), true, 'the grace has ended: the test is too slow here');
      const late = answers.filter((_, i) => (arrivals[i] as number) > stopAt + 3000);
      assert.ok(late.length >= 10, `${late.length} answers 3 to 4.5 s after the stop signal`);
      assert.deepEqual([...new Set(late)], [short(light)]);
      await stopped;
      const mark = answers.length;
      await within(30_000, '200 answers after the stop', async () => answers.length >= mark + 200);
      assert.deepEqual([...new Set(answers.slice(mark))], [short(light)]);
      // Not one request failed, before, during or after the stop.
      assert.deepEqual(
        answers.filter((answer) => answer !== short(light) && answer !== short(heavy)),
        [],
      );
      assert.equal(errors, '');
    });
  });
});
