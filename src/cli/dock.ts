// svcdisc dock: options checked (a bad one exits 2), the Docker host's name taken as the
// leases' holder, then the Dock runs until SIGTERM or SIGINT.
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { normalizeOptions } from '../config.js';
import { normalizeName } from '../dns/names.js';
import { Dock } from '../dock/dock.js';
import { DockerApi, parseDockerUrl } from '../dock/docker.js';
import { UsageError } from '../errors.js';
import { Announcer } from '../update/announce.js';
import { help, parseArgs } from './args.js';

export async function dockCommand(
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const { positional, flags, value } = parseArgs('dock', args, {
    environment: 'value',
    domain: 'value',
    docker: 'value',
    network: 'value',
    ttl: 'value',
    'publish-address': 'value',
    'withdraw-on-exit': 'flag',
    help: 'flag',
  });
  if (flags.has('help')) return help('dock', out);
  if (positional.length > 0)
    throw new UsageError(`svcdisc dock: unexpected argument "${positional[0]}"`);
  const config = normalizeOptions({});
  const environment = value('environment') ?? 'dev';
  const domain = value('domain') ?? config.domains[0] ?? 'kw';
  const zoneSuffix = normalizeName(`${environment}.${domain}`);
  if (!zoneSuffix || environment.includes('.'))
    throw new UsageError(
      `svcdisc dock: --environment "${environment}" and --domain "${domain}" do not make a DNS name (e.g. dev and kw: NAME.dev.kw)`,
    );
  const url = value('docker') ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const endpoint = parseDockerUrl(url);
  if (!endpoint)
    throw new UsageError(
      `svcdisc dock: the Docker daemon "${url}" is not unix:///PATH or tcp://HOST:PORT`,
    );
  const ttlText = value('ttl') ?? '30';
  const ttl = /^\d+$/.test(ttlText) ? Number(ttlText) : 0;
  if (ttl < 1 || ttl > 86_400)
    throw new UsageError(
      `svcdisc dock: --ttl is the records' TTL and the lease refresh period, 1-86400 s, not "${ttlText}"`,
    );
  const publishAddress = value('publish-address');
  if (publishAddress !== undefined && isIP(publishAddress) === 0)
    throw new UsageError(
      `svcdisc dock: --publish-address "${publishAddress}" is not an IP address`,
    );

  const docker = new DockerApi(endpoint, url);
  // The leases name the Docker host (the daemon's name), so every dock of a host agrees.
  const info = await docker.get<{ Name?: string }>('/info').catch(() => null);
  const holder = info?.Name || hostname();
  const dock = new Dock({
    docker,
    // The records' TTL is the refresh period: a withdrawal reaches clients within one.
    announcer: new Announcer({ ...config, announceTtl: ttl }),
    ttl,
    holder,
    zoneSuffix,
    network: value('network'),
    publishAddress,
    out,
    err,
  });
  out(`svcdisc dock: ${url} (${holder}) -> *.${zoneSuffix}, TTL ${ttl} s, leases of ${3 * ttl} s`);
  dock.start();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await dock.stop(flags.has('withdraw-on-exit'));
  return 0;
}
