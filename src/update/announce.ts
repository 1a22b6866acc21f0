// Announcing one instance of a service, and withdrawing it: the zone found from the SOA, the
// instance's target named after this host and port, the update sent to the zone's primary.
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import {
  type Config,
  normalizeOptions,
  type SvcdiscOptions,
  withSystemDefaults,
} from '../config.js';
import { DnsClient, newWireStats, resolveNameservers } from '../dns/client.js';
import { type Nameserver, type NameserverSpec, normalizeName } from '../dns/names.js';
import type { SrvAnswer, StringAnswer } from '../dns/packet.js';
import { readResolvConf } from '../dns/resolv-conf.js';
import { parseKeyFile, type TsigKey } from '../dns/tsig-key.js';
import { AnnounceError, ConfigError } from '../errors.js';
import {
  addChanges,
  deleteChanges,
  type Instance,
  LEASE_PREFIX,
  sendUpdate,
  updateMessage,
} from './dynamic-update.js';

/** The first non-internal address of this host (IPv4 first), else the loopback. */
export function defaultAddress(): string {
  const all = Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && !i.internal);
  return (all.find((i) => i?.family === 'IPv4') ?? all[0])?.address ?? '127.0.0.1';
}

/** A label naming this instance: the host name and the port, as DNS allows. */
export function instanceLabel(port: number, host = hostname()): string {
  const clean =
    host
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 50) || 'host';
  return `${clean}-${port}`;
}

/** The zone a name belongs to: the owner of the SOA in the answer or authority section. */
export async function findZone(
  name: string,
  nameservers: NameserverSpec[],
  timeoutMs: number,
  attempts: number,
): Promise<string> {
  const client = new DnsClient({ nameservers, timeoutMs, attempts, tcp: false }, newWireStats());
  const reply = await client.query({ name, type: 'SOA' }, name);
  const soa = [...(reply.answers ?? []), ...(reply.authorities ?? [])].find(
    (r) => r.type === 'SOA',
  );
  if (!soa)
    throw new AnnounceError(
      `no SOA for ${name} at ${client.servers.join(', ')}: cannot tell its zone`,
    );
  return soa.name.toLowerCase();
}

/** Reads a BIND key file (`key "name" { algorithm hmac-sha256; secret "..."; };`). */
export function readKeyFile(path: string): TsigKey {
  const key = parseKeyFile(readFileSync(path, 'utf8'));
  if (!key) {
    throw new ConfigError(
      'SVCDISC_TSIG_KEYFILE',
      path,
      'a BIND key file (key "name" { algorithm hmac-sha256; secret "..."; };) with a supported algorithm',
    );
  }
  return key;
}

export interface AnnounceRequest {
  name: string;
  port: number;
  /** Until when the registration holds without a refresh (unix time, s): a lease TXT record. */
  leaseUntil?: number;
  /** The instance's target name; by default `<host>-<port>.<name>`. */
  target?: string;
  /** The addresses to publish; by default SVCDISC_ANNOUNCE_ADDRESS, else `boundAddress`,
   * else the first non-internal address of this host. */
  addresses?: string[];
  /** The address the server listens on, when it is not a wildcard (0.0.0.0, ::). */
  boundAddress?: string;
}

interface Plan {
  instance: Instance;
  zone: string;
  server: Nameserver;
  /** Asks the zone's primary, over TCP: what is in the zone now. */
  primary: DnsClient;
  key: TsigKey | undefined;
}

/** A name in lower case without the final dot; a clear error if it is not a DNS name. */
function dnsName(text: string, what: string): string {
  const name = normalizeName(text);
  if (name === undefined) throw new AnnounceError(`${what} "${text}" is not a valid DNS name`);
  return name;
}

/** The zone's primary, by address: a named one resolved with the system resolver. */
async function primaryServer(spec: NameserverSpec): Promise<Nameserver> {
  if (!('host' in spec)) return spec;
  const { servers, failures } = await resolveNameservers([spec]);
  const [server] = servers;
  if (!server)
    throw new AnnounceError(`update server ${[...failures].map((f) => f.join(' ')).join(', ')}`);
  return server;
}

async function plan(request: AnnounceRequest, options: SvcdiscOptions): Promise<Plan> {
  const config: Config = normalizeOptions(options);
  const settings = withSystemDefaults(config, () => readResolvConf());
  const server = await primaryServer(
    config.updateServer ?? (settings.nameservers[0] as NameserverSpec),
  );
  const name = dnsName(request.name, 'the service name');
  const zone = await findZone(name, settings.nameservers, settings.timeoutMs, settings.attempts);
  const key = config.tsigKey ?? (config.tsigKeyFile ? readKeyFile(config.tsigKeyFile) : undefined);
  const instance: Instance = {
    name,
    target: dnsName(request.target ?? `${instanceLabel(request.port)}.${name}`, 'the target'),
    port: request.port,
    priority: config.announcePriority,
    weight: config.announceWeight,
    ttl: config.announceTtl,
    addresses: request.addresses ?? [
      config.announceAddress ?? request.boundAddress ?? defaultAddress(),
    ],
    leaseUntil: request.leaseUntil,
  };
  const primary = new DnsClient(
    { nameservers: [server], timeoutMs: 2000, attempts: 2, tcp: true },
    newWireStats(),
  );
  return { instance, zone, server, primary, key };
}

/** Publishes one instance of `name`; resolves to what was published. */
export async function announce(
  request: AnnounceRequest,
  options: SvcdiscOptions = {},
): Promise<Instance & { zone: string }> {
  const { instance, zone, server, key } = await plan(request, options);
  await sendUpdate(server, updateMessage(zone, addChanges(instance)), key);
  return { ...instance, zone };
}

/** Removes one instance of `name`: the SRV records that point at its target and port (read
 * from the zone's primary, so whatever priority and weight they were given), and its target's
 * addresses; nothing else of the service. `registered` says whether the primary had it. */
export async function withdraw(
  request: AnnounceRequest,
  options: SvcdiscOptions = {},
): Promise<Instance & { zone: string; registered: boolean }> {
  const { instance, zone, server, primary, key } = await plan(request, options);
  const reply = await primary.query({ name: instance.name, type: 'SRV' }, instance.name);
  const mine = (reply.answers ?? []).filter(
    (r): r is SrvAnswer =>
      r.type === 'SRV' &&
      r.data.target.toLowerCase() === instance.target &&
      r.data.port === instance.port,
  );
  const records =
    mine.length > 0
      ? mine.map((r) => ({ priority: r.data.priority ?? 0, weight: r.data.weight ?? 0 }))
      : [instance];
  // Each SRV record exactly; the target's addresses once.
  const changes = records.flatMap((r, i) =>
    deleteChanges({ ...instance, ...r }).slice(0, i === 0 ? undefined : 1),
  );
  await sendUpdate(server, updateMessage(zone, changes), key);
  return { ...instance, zone, registered: mine.length > 0 };
}

export interface PruneDecision {
  target: string;
  port: number;
  removed: boolean;
  why: string;
}

/** Whether a TCP connect to address:port is refused (true), succeeds or times out (false). */
function refuses(address: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: address, port });
    const done = (refused: boolean) => {
      socket.destroy();
      resolve(refused);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(false));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED'));
  });
}

/** Removes the instances of `name` registered by svcdisc (those with a lease record) whose lease
 * has expired or whose port refuses connections. Instances without a lease are never touched.
 * Idempotent: any number of copies may run. */
export async function prune(
  name: string,
  options: SvcdiscOptions = {},
  now = Date.now(),
): Promise<PruneDecision[]> {
  const { instance, zone, server, primary: client, key } = await plan({ name, port: 1 }, options);
  const service = instance.name;
  const reply = await client.query({ name: service, type: 'SRV' }, service);
  const decisions: PruneDecision[] = [];
  for (const record of (reply.answers ?? []).filter((r): r is SrvAnswer => r.type === 'SRV')) {
    const target = record.data.target.toLowerCase();
    const { port } = record.data;
    const txt = await client.query({ name: target, type: 'TXT' }, service).catch(() => undefined);
    const lease = (txt?.answers ?? [])
      .filter((r) => r.type === 'TXT')
      .flatMap((r) =>
        ([] as (string | Buffer)[]).concat(r.data as string | Buffer | (string | Buffer)[]),
      )
      .map(String)
      .find((text) => text.startsWith(LEASE_PREFIX));
    if (!lease) {
      decisions.push({ target, port, removed: false, why: 'no lease: not registered by svcdisc' });
      continue;
    }
    const until = Number(lease.slice(LEASE_PREFIX.length));
    let why: string | undefined;
    if (until * 1000 < now) why = `lease expired at ${new Date(until * 1000).toISOString()}`;
    else {
      const addresses = await client
        .query({ name: target, type: 'A' }, service)
        .catch(() => undefined);
      const found = (addresses?.answers ?? []).find((r) => r.type === 'A') as
        | StringAnswer
        | undefined;
      const address = found?.data;
      if (address && (await refuses(address, port))) why = `${address}:${port} refuses connections`;
    }
    if (why) {
      const changes = deleteChanges({
        name: service,
        target,
        port,
        priority: record.data.priority ?? 0,
        weight: record.data.weight ?? 0,
      });
      await sendUpdate(server, updateMessage(zone, changes), key);
    }
    decisions.push({
      target,
      port,
      removed: why !== undefined,
      why: why ?? `lease until ${new Date(until * 1000).toISOString()}, port answers`,
    });
  }
  return decisions;
}
