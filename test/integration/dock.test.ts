// svcdisc dock against a real Docker daemon: containers of an image built here (busybox httpd,
// FROM scratch: nothing is pulled) registered by their image's name, withdrawn when they stop
// or pause, labels, a container without a port, and a dock killed with SIGKILL: its records
// end with their leases (svcdisc prune) and a new dock registers what runs. Every container,
// network and image made here is removed, also when a test fails; dockerd is started only when
// none runs, and then stopped.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createResolver } from '../../src/index.js';
import { DnsServer } from '../../src/server/serve.js';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const ZONE = join(ROOT, 'fixtures', 'kw.zone');
const NETWORK = 'svcdisc-test-dock';
const SUBNET = '172.30.77.0/24';
const IMAGE = 'fabware/grounduser:test';
const PORTLESS = 'fabware/portless:test';
const BUSYBOX = '/bin/busybox';

const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8' });

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

/** An image FROM scratch: busybox, and `command` as its entry point. */
function buildImage(tag: string, expose: number | undefined, command: string[]): void {
  const dir = mkdtempSync(join(tmpdir(), 'svcdisc-image-'));
  copyFileSync(BUSYBOX, join(dir, 'busybox'));
  mkdirSync(join(dir, 'www'));
  writeFileSync(join(dir, 'www', 'index.html'), 'grounduser\n');
  writeFileSync(
    join(dir, 'Dockerfile'),
    `FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\n${expose ? `EXPOSE ${expose}\n` : ''}ENTRYPOINT ${JSON.stringify(command)}\n`,
  );
  const built = docker('build', '-q', '-t', tag, dir);
  assert.equal(built.status, 0, built.stderr);
}

const skip = unavailable();

describe('svcdisc dock (real dockerd)', { skip }, () => {
  let dns: DnsServer;
  const containers: string[] = [];
  const docks: ChildProcess[] = [];
  const output = { out: '', err: '' };

  before(async () => {
    docker('network', 'rm', NETWORK);
    const network = docker('network', 'create', '--subnet', SUBNET, NETWORK);
    assert.equal(network.status, 0, network.stderr);
    buildImage(IMAGE, 8080, ['/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', '/www']);
    buildImage(PORTLESS, undefined, ['/bin/busybox', 'sleep', '600']);
    dns = await DnsServer.start({
      zoneFile: ZONE,
      host: '127.0.0.1',
      port: 0,
      watchIntervalMs: 0,
      updates: { allowUnsigned: true },
    });
  });
  after(async () => {
    for (const child of docks) child.kill('SIGKILL');
    if (containers.length > 0) docker('rm', '-f', ...containers);
    docker('network', 'rm', NETWORK);
    docker('rmi', '-f', IMAGE, PORTLESS);
    await dns?.close();
    if (startedDaemon && startedDaemon.exitCode === null) await stopDaemon(startedDaemon);
  });

  const env = () => ({
    PATH: process.env.PATH,
    SVCDISC_NAMESERVERS: `127.0.0.1:${dns.port}`,
  });

  function startDock(): ChildProcess {
    const child = spawn(process.execPath, [CLI, 'dock', '--network', NETWORK, '--ttl', '1'], {
      env: env(),
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
  }

  function run(...args: string[]): string {
    const started = docker('run', '-d', '--network', NETWORK, ...args);
    assert.equal(started.status, 0, started.stderr);
    const id = started.stdout.trim();
    containers.push(id);
    return id;
  }

  /** The SRV records of `name` now: `target port weight`, sorted; or the error code. */
  async function records(name: string): Promise<string[] | string> {
    const resolver = createResolver({ nameservers: [`127.0.0.1:${dns.port}`], maxTtl: 0 });
    return resolver.resolve(name).then(
      (r) =>
        r.endpoints
          .map((e) => `${e.target.split('.')[0]} ${e.addresses[0]?.address}:${e.port} ${e.weight}`)
          .sort(),
      (error: NodeJS.ErrnoException) => error.code ?? 'error',
    );
  }

  /** Polls until `check` holds; returns how long it took, ms; fails after `ms`. */
  async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<number> {
    const started = performance.now();
    while (!(await check())) {
      if (performance.now() - started > ms) assert.fail(`${what}: not within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return performance.now() - started;
  }

  const short = (id: string) => id.slice(0, 12);
  const ip = (id: string) =>
    docker(
      'inspect',
      '-f',
      `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`,
      id,
    ).stdout.trim();

  test('two containers of fabware/grounduser: two SRV records of grounduser.dev.kw; stop, pause and unpause', async () => {
    startDock();
    await within(5000, 'dock started', async () => output.out.includes('svcdisc dock:'));
    const one = run(IMAGE);
    const two = run(IMAGE);
    const both = [`${short(one)} ${ip(one)}:8080 100`, `${short(two)} ${ip(two)}:8080 100`].sort();
    await within(
      2000,
      'both registered',
      async () => JSON.stringify(await records('grounduser.dev.kw')) === JSON.stringify(both),
    );
    // The dock prints its line after the update is answered: DNS may show it first.
    await within(2000, "the dock's line", async () =>
      new RegExp(`\\+ grounduser\\.dev\\.kw ${short(one)} ${ip(one)}:8080`).test(output.out),
    );
    assert.match(output.out, new RegExp(`\\+ grounduser\\.dev\\.kw ${short(one)} ${ip(one)}:8080`));

    assert.equal(docker('stop', '-t', '0', two).status, 0);
    await within(
      2000,
      'the stopped one withdrawn',
      async () =>
        JSON.stringify(await records('grounduser.dev.kw')) ===
        JSON.stringify([both.find((r) => r.startsWith(short(one)))]),
    );
    // The dock prints its line after the update is answered: DNS may show it first.
    await within(2000, "the dock's line", async () =>
      new RegExp(`- grounduser\\.dev\\.kw ${short(two)} .*\\(not running\\)`).test(output.out),
    );
    assert.match(
      output.out,
      new RegExp(`- grounduser\\.dev\\.kw ${short(two)} .*\\(not running\\)`),
    );

    assert.equal(docker('pause', one).status, 0);
    await within(
      2000,
      'the paused one withdrawn',
      async () => (await records('grounduser.dev.kw')) === 'ENOTFOUND',
    );
    assert.equal(docker('unpause', one).status, 0);
    await within(2000, 'the unpaused one back', async () =>
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
    await within(
      2000,
      'cache registered',
      async () =>
        JSON.stringify(await records('cache.dev.kw')) ===
        JSON.stringify([`${short(cache)} ${ip(cache)}:8080 7`]),
    );
    const portless = run(PORTLESS);
    const ignored = run('--label', 'svcdisc.ignore=true', IMAGE);
    await within(2000, 'the portless one said', async () =>
      output.err.includes(`skipped ${short(portless)}: no exposed TCP port`),
    );
    assert.ok(output.err.includes(`skipped ${short(ignored)}: label svcdisc.ignore`));
    assert.equal(await records('portless.dev.kw'), 'ENOTFOUND');
    assert.equal(
      ((await records('grounduser.dev.kw')) as string[]).some((r) => r.startsWith(short(ignored))),
      false,
    );
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
    const prune = await promisify(execFile)(process.execPath, [CLI, 'prune', 'grounduser.dev.kw'], {
      env: env(),
    });

    assert.match(
      prune.stdout,
      new RegExp(`removed ${short(survivor)}\\.grounduser\\.dev\\.kw:8080 \\(lease expired`),
    );
    assert.equal(await records('grounduser.dev.kw'), 'ENOTFOUND');
    startDock();
    await within(
      5000,
      'the new dock registers what runs',
      async () =>
        JSON.stringify(await records('grounduser.dev.kw')) ===
        JSON.stringify([`${short(late)} ${ip(late)}:8080 100`]),
    );
  });

  test('two docks at once: one record per container, the same set at every look while leases are refreshed', async () => {
    startDock(); // beside the one of the test before
    const more = run(IMAGE);
    const expected = () =>
      containers
        .filter((id) => docker('inspect', '-f', '{{.State.Running}}', id).stdout.trim() === 'true')
        .filter((id) => docker('inspect', '-f', '{{.Config.Image}}', id).stdout.trim() === IMAGE)
        .filter(
          (id) =>
            !docker('inspect', '-f', '{{json .Config.Labels}}', id).stdout.includes('svcdisc'),
        )
        .map((id) => `${short(id)} ${ip(id)}:8080 100`)
        .sort();
    const want = JSON.stringify(expected());
    assert.ok(want.includes(short(more)));
    await within(
      2000,
      'registered by both',
      async () => JSON.stringify(await records('grounduser.dev.kw')) === want,
    );
    // Three lease periods of both docks refreshing: no duplicate, nothing missing, ever.
    for (const until = performance.now() + 3500; performance.now() < until; ) {
      assert.equal(JSON.stringify(await records('grounduser.dev.kw')), want);
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
    // The dock prints its line after the update is answered: DNS may show it first.
    await within(2000, "the dock's line", async () =>
      new RegExp(`- grounduser\\.dev\\.kw ${short(gone)} 8080 \\(no longer runs\\)`).test(
        output.out,
      ),
    );
    assert.match(
      output.out,
      new RegExp(`- grounduser\\.dev\\.kw ${short(gone)} 8080 \\(no longer runs\\)`),
    );
    const after = (await records('grounduser.dev.kw')) as string[];
    assert.deepEqual(
      after,
      before.filter((r) => !r.startsWith(short(gone))),
    );
    assert.ok(after.some((r) => r.startsWith('other ')));
  });
});
