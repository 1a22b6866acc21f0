#!/usr/bin/env node
// svcdisc resolve | serve | announce | withdraw | prune | dock | demo: look at what the preload
// sees, serve a zone file, register instances and Docker containers, show it all.
import { statSync } from 'node:fs';
import { DEFAULT_LISTEN, DEMO_ZONE, help, parseArgs, USAGE } from './cli/args.js';
import { configFromEnv, normalizeOptions, unknownVariableWarnings } from './config.js';
import { createResolver } from './discovery/create-resolver.js';
import { formatServer, hostPort } from './dns/names.js';
import { ConfigError, DnsError, UsageError } from './errors.js';
import { DnsServer } from './server/serve.js';
import type { AnnounceRequest } from './update/announce.js';

function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535)
    throw new UsageError(
      `svcdisc serve: --listen "${text}" is not HOST:PORT (e.g. 127.0.0.1:5300, or [::1]:5300 for IPv6)`,
    );
  return { host: (match[1] ?? match[2]) as string, port };
}

/** NAME as resolve takes it; a URL or a host:port gets a hint instead of EBADNAME. */
function serviceName(text: string): string {
  const name = text.trim();
  if (name === '')
    throw new UsageError('svcdisc resolve: the name is empty; give one, e.g. user.prod.kw');
  const url = /^[a-z][a-z0-9+.-]*:\/\/([^/:?#]+)/i.exec(name);
  if (url)
    throw new UsageError(
      `svcdisc resolve: give the host name alone, without the scheme and path: svcdisc resolve ${url[1]}`,
    );
  const port = /^([^:[\]]+):\d+$/.exec(name);
  if (port)
    throw new UsageError(
      `svcdisc resolve: give the name without a port (the SRV record gives it): svcdisc resolve ${port[1]}\n(--port N says which port a program connects to, where SVCDISC_SRV_NAME depends on it)`,
    );
  return name;
}

async function resolveCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { positional, flags } = parseArgs('resolve', args, {
    json: 'flag',
    port: 'value',
    help: 'flag',
  });
  if (flags.has('help')) return help('resolve', out);
  if (positional.length !== 1)
    throw new UsageError('svcdisc resolve: give one NAME, e.g. svcdisc resolve user.prod.kw');
  const portText = flags.get('port');
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535))
    throw new UsageError(`svcdisc resolve: --port must be 1-65535, not "${portText}"`);
  const resolver = createResolver();
  const resolution = await resolver.resolve(serviceName(positional[0] as string), port);
  const chosen = resolver.order(resolution.endpoints)[0];
  const records = resolution.endpoints.map((e) => ({
    target: e.target,
    port: e.port,
    priority: e.priority,
    weight: e.weight,
    ttl: resolution.ttl,
    addresses: e.addresses.map((a) => a.address),
  }));
  const choice = chosen && {
    target: chosen.target,
    address: chosen.addresses[0]?.address,
    port: chosen.port,
  };
  if (flags.has('json')) {
    out(
      JSON.stringify({
        name: resolution.name,
        query: resolution.query,
        ...(resolution.fallback ? { fallback: true } : {}),
        records,
        chosen: choice,
      }),
    );
    return 0;
  }
  const source = resolution.fallback
    ? `no SRV records at ${resolution.query}: its own addresses, at the program's port (RFC 2782 fallback)`
    : `SRV ${resolution.query}`;
  out(
    `${resolution.name} (${source}), ttl ${resolution.ttl}s, asked ${resolver.settings.nameservers.map(formatServer).join(', ')}`,
  );
  const rows = [
    ['priority', 'weight', 'port', 'target', 'addresses'],
    ...records.map((r) => [
      String(r.priority),
      String(r.weight),
      r.port === 0 ? "program's" : String(r.port),
      r.target,
      r.addresses.join(' '),
    ]),
  ];
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  for (const row of rows)
    out(
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    );
  if (choice)
    out(
      `a connection now would go to ${choice.target} ${choice.port === 0 ? `${choice.address} at the program's port` : hostPort(choice.address ?? choice.target, choice.port)}`,
    );
  return 0;
}

async function serveCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { positional, flags, value } = parseArgs('serve', args, {
    zone: 'value',
    listen: 'value',
    origin: 'value',
    'log-queries': 'flag',
    'update-key': 'value',
    'allow-unsigned-updates': 'flag',
    help: 'flag',
  });
  if (flags.has('help')) return help('serve', out);
  if (positional.length > 0)
    throw new UsageError(`svcdisc serve: unexpected argument "${positional[0]}"`);
  const { host, port } = parseListen(String(flags.get('listen') ?? DEFAULT_LISTEN));
  const zoneFile = String(flags.get('zone') ?? DEMO_ZONE);
  if (statSync(zoneFile, { throwIfNoEntry: false })?.isDirectory())
    throw new UsageError(
      `svcdisc serve: --zone ${zoneFile} is a directory; give the zone file in it`,
    );
  const server = await DnsServer.start({
    zoneFile,
    origin: value('origin'),
    host,
    port,
    log: (line) => out(`svcdisc serve: ${line}`),
    logQueries: flags.has('log-queries'),
    updates: {
      key: flags.has('update-key')
        ? normalizeOptions({ tsigKey: String(flags.get('update-key')) }, configFromEnv({})).tsigKey
        : undefined,
      allowUnsigned: flags.has('allow-unsigned-updates'),
    },
  });
  process.on('SIGHUP', () => server.reload('SIGHUP'));
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

async function registrationCommand(
  command: 'announce' | 'withdraw',
  args: string[],
  out: (line: string) => void,
): Promise<number> {
  const { positional, flags, value } = parseArgs(command, args, {
    port: 'value',
    target: 'value',
    address: 'value',
    help: 'flag',
    ...(command === 'announce' ? ({ ttl: 'value', keep: 'flag' } as const) : {}),
  });
  if (flags.has('help')) return help(command, out);
  if (positional.length !== 1)
    throw new UsageError(
      `svcdisc ${command}: give one NAME, e.g. svcdisc ${command} user.prod.kw --port 8080`,
    );
  const port = Number(flags.get('port'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(
      `svcdisc ${command}: --port must be 1-65535, not "${flags.get('port') ?? ''}"`,
    );
  }
  const request = {
    name: positional[0] as string,
    port,
    target: value('target'),
    addresses: value('address')?.split(','),
  };
  if (command === 'announce') return announceCommand(request, flags, out);
  const { Announcer } = await import('./update/announce.js');
  const done = await new Announcer(normalizeOptions({})).withdraw(request);
  // Idempotent: nothing registered is no failure, but it is said.
  out(
    done.registered
      ? `withdrew ${done.name}: ${done.target}:${done.port}, zone ${done.zone}`
      : `not registered: ${done.name} has no ${done.target}:${done.port} in zone ${done.zone}; nothing to withdraw`,
  );
  return 0;
}

/** Lease of a one-shot `svcdisc announce`, s: run it again within this time (cron). */
const CLI_LEASE_S = 3600;

/** announce, with a lease: `--ttl S` (0: none, permanent), or `--keep` in the foreground,
 * refreshed until SIGTERM/SIGINT and then withdrawn. */
async function announceCommand(
  request: AnnounceRequest,
  flags: Map<string, string | true>,
  out: (line: string) => void,
): Promise<number> {
  const keep = flags.has('keep');
  const ttlText = flags.get('ttl');
  let ttl: number | undefined;
  if (ttlText !== undefined) {
    ttl = Number(ttlText);
    if (!Number.isInteger(ttl) || ttl < (keep ? 15 : 0) || ttl > 2 ** 31 - 1) {
      throw new UsageError(
        `svcdisc announce: --ttl is the lease in seconds, ${keep ? '15 or more with --keep' : 'an integer ≥ 0 (0: no lease)'}, not "${ttlText === true ? '' : ttlText}"`,
      );
    }
  }
  const { Announcer } = await import('./update/announce.js');
  const { Registrar } = await import('./update/registrar.js');
  const config = normalizeOptions({});
  const announcer = new Announcer(config);
  // --keep refreshes every third of the lease, as the preload does.
  const registrar = new Registrar(config, {
    announcer,
    ttl: ttl === undefined ? config.announceTtl : ttl / 3,
  });
  const leaseUntil = keep
    ? registrar.leaseUntil()
    : ttl === 0
      ? undefined
      : Math.floor(Date.now() / 1000) + (ttl ?? CLI_LEASE_S);
  const done = await announcer.announce({ ...request, leaseUntil });
  const lease =
    leaseUntil === undefined
      ? 'no lease'
      : keep
        ? 'kept until SIGTERM'
        : `lease until ${new Date(leaseUntil * 1000).toISOString()}`;
  out(
    `announced ${done.name}: ${done.target}:${done.port} (${done.addresses.join(', ')}), zone ${done.zone}, ${lease}`,
  );
  if (!keep) return 0;
  registrar.keep({ ...request, target: done.target, addresses: done.addresses }, done);
  // The refresh timers do not hold the process; this does, until a signal.
  const alive = setInterval(() => {}, 2 ** 30);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(alive);
  // A failure was said on stderr; the record then stays until its lease ends.
  if (!(await registrar.withdrawAll())) return 1;
  out(`withdrew ${done.name}: ${done.target}:${done.port}, zone ${done.zone}`);
  return 0;
}

async function pruneCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { positional, flags } = parseArgs('prune', args, { help: 'flag' });
  if (flags.has('help')) return help('prune', out);
  if (positional.length !== 1)
    throw new UsageError('svcdisc prune: give one NAME, e.g. svcdisc prune user.prod.kw');
  const { Announcer } = await import('./update/announce.js');
  for (const d of await new Announcer(normalizeOptions({})).prune(positional[0] as string))
    out(`${d.removed ? 'removed' : 'kept'} ${d.target}:${d.port} (${d.why})`);
  return 0;
}

/** Runs the CLI; returns the exit status. Errors are printed on `err`, never thrown. */
export async function main(
  argv: string[],
  out = (line: string) => console.log(line),
  err = (line: string) => console.error(line),
): Promise<number> {
  const [command, ...args] = argv;
  for (const line of unknownVariableWarnings()) err(`svcdisc: warning: ${line}`);
  try {
    switch (command) {
      case 'resolve':
        return await resolveCommand(args, out);
      case 'serve':
        return await serveCommand(args, out);
      case 'announce':
      case 'withdraw':
        return await registrationCommand(command, args, out);
      case 'prune':
        return await pruneCommand(args, out);
      case 'dock': {
        const { dockCommand } = await import('./cli/dock.js');
        return await dockCommand(args, out, err);
      }
      case 'demo': {
        const { demoCommand } = await import('./cli/demo.js');
        return await demoCommand(args, out);
      }
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        return help('main', out);
      case '--version':
      case '-v':
      case 'version':
        out(require('../package.json').version);
        return 0;
      default:
        throw new UsageError(`svcdisc: unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      err(`${error.message}\n\n${USAGE[command ?? ''] ?? USAGE.main}`);
      // dock runs as a service: a bad option is told apart from a failure (2, as sysexits).
      return command === 'dock' ? 2 : 1;
    }
    if (error instanceof DnsError) {
      err(`svcdisc ${command}: ${error.message}`);
      return error.code === 'ENOTFOUND' ? 2 : 1;
    }
    if (error instanceof ConfigError) err(`svcdisc: ${error.message}`);
    else err(`svcdisc ${command}: ${(error as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}
