// Real DNS servers (Debian packages) started on free loopback ports for integration tests.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Endpoint } from '../../src/discovery/service.js';
import { DnsClient } from '../../src/dns/client.js';
import { parseNameserver } from '../../src/dns/names.js';
import { createResolver, type Resolver, type ResolverOptions } from '../../src/index.js';
import { closedPort, newStats } from '../records.js';
import { tempDir } from '../temp-dir.js';

export interface RunningServer {
  nameserver: string;
  dir: string;
  stop(): Promise<void>;
}

/** Why the tests of a server cannot run (`command` not installed), for `describe`'s `skip`;
 * under CI a missing server is an error, never a skip. */
export function missing(command: string, packages: string): string | undefined {
  const found =
    spawnSync('sh', ['-c', `command -v ${command} || test -x /usr/sbin/${command}`]).status === 0;
  if (found) return undefined;
  const reason = `${command} is not installed (Debian: apt-get install ${packages}; .ci/run does it)`;
  if (process.env.CI) throw new Error(reason);
  return reason;
}

/** Waits until the server answers an SRV query for `probe` over UDP and TCP. */
async function waitUntilServing(
  nameserver: string,
  probe: string,
  child: ChildProcess,
  log: () => string,
): Promise<void> {
  const server = parseNameserver(nameserver);
  if (!server) throw new Error(`bad nameserver ${nameserver}`);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new ExitedEarly(`server exited with ${child.exitCode}:\n${log()}`);
    try {
      for (const tcp of [false, true]) {
        const client = new DnsClient(
          { nameservers: [server], timeoutMs: 200, attempts: 1, tcp },
          newStats(),
        );
        await client.query({ name: probe, type: 'SRV' }, probe);
      }
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`server not answering: ${error}\n${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function start(
  command: string,
  args: (dir: string, port: number) => string[],
  files: (port: number) => Record<string, string>,
  probe: string,
): Promise<RunningServer> {
  // The port was free a moment ago (closedPort: below the ephemeral range, so only an explicit
  // bind can take it); should another process take it first (the server then exits at once),
  // start again on another, a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(command, args, files, probe);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof ExitedEarly)) throw error;
    }
  }
}

/** The server exited before it answered (its log in the message). */
class ExitedEarly extends Error {}

async function startOnce(
  command: string,
  args: (dir: string, port: number) => string[],
  files: (port: number) => Record<string, string>,
  probe: string,
): Promise<RunningServer> {
  const dir = tempDir(command);
  const port = await closedPort();
  for (const [name, text] of Object.entries(files(port)))
    writeFileSync(join(dir, name), text.replaceAll('@DIR@', dir));
  const child = spawn(command, args(dir, port), {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` },
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const nameserver = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilServing(nameserver, probe, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { nameserver, dir, stop };
}

/** dnsmasq with `srv-host` and `host-record` lines; names under kw answered locally. */
export function startDnsmasq(lines: string[], probe = 'user.prod.kw'): Promise<RunningServer> {
  return start(
    'dnsmasq',
    (dir) => ['--keep-in-foreground', `--conf-file=${join(dir, 'dnsmasq.conf')}`],
    (port) => ({
      'dnsmasq.conf': [
        `port=${port}`,
        'listen-address=127.0.0.1',
        'bind-interfaces',
        'no-resolv',
        'no-hosts',
        'local=/kw/',
        'user=root',
        'pid-file=',
        ...lines,
        '',
      ].join('\n'),
    }),
    probe,
  );
}

/** BIND 9 serving the zone `kw` from a master file, with full additional sections; with
 * `updateKey`, dynamic updates signed with that TSIG key are allowed. */
export function startBind(
  zone: string,
  probe = 'user.prod.kw',
  updateKey?: { name: string; algorithm: string; secret: string },
): Promise<RunningServer> {
  const key = updateKey
    ? `key "${updateKey.name}" { algorithm ${updateKey.algorithm}; secret "${updateKey.secret}"; };\n`
    : '';
  const allowUpdate = updateKey ? ` allow-update { key "${updateKey.name}"; };` : '';
  return start(
    'named',
    (dir) => ['-g', '-n', '1', '-c', join(dir, 'named.conf')],
    (port) => ({
      'named.conf': `options {
  directory "@DIR@";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  pid-file none;
  session-keyfile none;
  dnssec-validation no;
  minimal-responses no;
  notify no;
};
controls { };
${key}zone "kw" { type primary; file "@DIR@/kw.zone";${allowUpdate} };
`,
      'kw.zone': zone,
    }),
    probe,
  );
}

/** The endpoints both servers publish for user.prod.kw, sorted as `sortEndpoints` sorts. */
export const USER_ENDPOINTS: Endpoint[] = [
  {
    target: 'a.user.kw',
    port: 8080,
    priority: 10,
    weight: 60,
    addresses: [{ address: '127.0.0.11', family: 4 }],
  },
  {
    target: 'b.user.kw',
    port: 8081,
    priority: 10,
    weight: 30,
    addresses: [
      { address: '127.0.0.12', family: 4 },
      { address: '::1', family: 6 },
    ],
  },
  {
    target: 'c.user.kw',
    port: 8082,
    priority: 20,
    weight: 10,
    addresses: [{ address: '127.0.0.13', family: 4 }],
  },
];

/** Endpoints by port, addresses IPv4 first: servers may rotate the order of records. */
export function sortEndpoints(endpoints: readonly Endpoint[]): Endpoint[] {
  return [...endpoints]
    .sort((x, y) => x.port - y.port)
    .map((e) => ({ ...e, addresses: [...e.addresses].sort((x, y) => x.family - y.family) }));
}

/** Starts a server before the suite's tests and stops it after them; returns a factory of
 * fresh resolvers (each with its own cache) that ask it. */
export function serveDuringSuite(
  start: () => Promise<RunningServer>,
): (options?: ResolverOptions) => Resolver {
  let server: RunningServer | undefined;
  let failure: unknown;
  // A start that fails fails each test with its reason (a failed hook would only cancel them,
  // and the reporter would not say why).
  before(async () => {
    server = await start().catch((error: unknown) => {
      failure = error;
      return undefined;
    });
  });
  after(() => server?.stop());
  return (options = {}) => {
    if (!server) throw failure ?? new Error('the server did not start');
    return createResolver({
      nameservers: [server.nameserver],
      timeoutMs: 1000,
      attempts: 2,
      ...options,
    });
  };
}

/** Knot DNS serving the zone `kw`; with `updateKey`, updates signed with it are allowed. */
export function startKnot(
  zone: string,
  probe = 'user.prod.kw',
  updateKey?: { name: string; algorithm: string; secret: string },
): Promise<RunningServer> {
  const key = updateKey
    ? `key:\n  - id: ${updateKey.name}\n    algorithm: ${updateKey.algorithm}\n    secret: ${updateKey.secret}\nacl:\n  - id: update\n    key: ${updateKey.name}\n    action: update\n`
    : '';
  return start(
    'knotd',
    (dir) => ['-c', join(dir, 'knot.conf')],
    (port) => ({
      'knot.conf': `server:
    listen: 127.0.0.1@${port}
    rundir: @DIR@
    user: root
database:
    storage: @DIR@
${key}template:
  - id: default
    storage: @DIR@
zone:
  - domain: kw
    file: kw.zone
${updateKey ? '    acl: update\n' : ''}`,
      'kw.zone': zone,
    }),
    probe,
  );
}
