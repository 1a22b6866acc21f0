// Announcing one instance of a service, and withdrawing it: the zone found from the SOA, the
// instance's target named after this host and port, the update sent to the zone's primary.
// An Announcer works out what does not change between updates once (the system's
// nameservers, the key, the primary's address, each name's zone) and finds a zone again only
// when the primary answers that it is not the zone's (NOTAUTH, NOTZONE).
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { Config } from '../config.js';
import { type ResolverSettings, withSystemDefaults } from '../discovery/settings.js';
import { DnsClient, newWireStats, resolveNameservers } from '../dns/client.js';
import {
  canonicalName,
  hostPort,
  type Nameserver,
  type NameserverSpec,
  normalizeName,
} from '../dns/names.js';
import type { SrvAnswer, StringAnswer } from '../dns/packet.js';
import { readResolvConf } from '../dns/resolv-conf.js';
import { parseKeyFile, type TsigKey } from '../dns/tsig-key.js';
import { AnnounceError, ConfigError, UpdateError } from '../errors.js';
import {
  addChanges,
  addTxtChange,
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
async function findZone(name: string, client: DnsClient): Promise<string> {
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
  /** Who holds the lease, written beside it (svcdisc dock: its Docker host). */
  leaseHolder?: string;
  /** The SRV record's priority and weight; by default SVCDISC_ANNOUNCE_PRIORITY and _WEIGHT. */
  priority?: number;
  weight?: number;
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

/** The zone's primary: where updates go, and what is asked (over TCP) what the zone holds. */
interface Primary {
  server: Nameserver;
  client: DnsClient;
}

/** Answers of the primary that say the update went to the wrong zone: find it again. */
const WRONG_ZONE = new Set(['NOTAUTH', 'NOTZONE']);

/** Announces, withdraws and prunes instances with one set of validated settings. */
export class Announcer {
  #settings: ResolverSettings | undefined;
  #key: TsigKey | null | undefined;
  #primary: Promise<Primary> | undefined;
  #resolver: DnsClient | undefined;
  readonly #zones = new Map<string, Promise<string>>();

  constructor(readonly config: Config) {}

  /** The nameservers and query timing, resolv.conf read the first time only. */
  get #resolverSettings(): ResolverSettings {
    this.#settings ??= withSystemDefaults(this.config, () => readResolvConf());
    return this.#settings;
  }

  /** The TSIG key; a key file is read once. */
  #tsigKey(): TsigKey | undefined {
    if (this.#key === undefined) {
      const { tsigKey, tsigKeyFile } = this.config;
      this.#key = tsigKey ?? (tsigKeyFile ? readKeyFile(tsigKeyFile) : null);
    }
    return this.#key ?? undefined;
  }

  #primaryOf(): Promise<Primary> {
    const settings = this.#resolverSettings;
    this.#primary ??= primaryServer(
      this.config.updateServer ?? (settings.nameservers[0] as NameserverSpec),
    ).then((server) => ({
      server,
      client: new DnsClient(
        {
          nameservers: [server],
          timeoutMs: settings.timeoutMs,
          attempts: settings.attempts,
          tcp: true,
        },
        newWireStats(),
      ),
    }));
    // A primary not found now may be found later (a container starting).
    const primary = this.#primary;
    primary.catch(() => {
      if (this.#primary === primary) this.#primary = undefined;
    });
    return primary;
  }

  /** The zone of `name`, asked once of the nameservers and kept. */
  #zoneOf(name: string): Promise<string> {
    let zone = this.#zones.get(name);
    if (!zone) {
      this.#resolver ??= new DnsClient({ ...this.#resolverSettings, tcp: false }, newWireStats());
      const found = findZone(name, this.#resolver);
      this.#zones.set(name, found);
      found.catch(() => {
        if (this.#zones.get(name) === found) this.#zones.delete(name);
      });
      zone = found;
    }
    return zone;
  }

  /** Sends the changes for `name`'s zone; when the primary says it is not that zone's, the
   * zone is found again and the update sent once more. A primary that could not be reached is
   * looked up again the next time. Resolves to the zone. */
  async #update(name: string, changes: Parameters<typeof updateMessage>[1]): Promise<string> {
    const primary = await this.#primaryOf();
    for (let attempt = 0; ; attempt++) {
      const zone = await this.#zoneOf(name);
      try {
        await sendUpdate(primary.server, updateMessage(zone, changes), this.#tsigKey());
        return zone;
      } catch (error) {
        if (error instanceof UpdateError && WRONG_ZONE.has(error.rcode) && attempt === 0) {
          this.#zones.delete(name);
          continue;
        }
        if (error instanceof UpdateError && !error.reached) this.#primary = undefined;
        throw error;
      }
    }
  }

  /** The instance a request publishes: its name and target checked, the settings' priority,
   * weight, TTL and address filled in. */
  #instance(request: AnnounceRequest): Instance {
    const name = dnsName(request.name, 'the service name');
    return {
      name,
      target: dnsName(request.target ?? `${instanceLabel(request.port)}.${name}`, 'the target'),
      port: request.port,
      priority: request.priority ?? this.config.announcePriority,
      weight: request.weight ?? this.config.announceWeight,
      ttl: this.config.announceTtl,
      addresses: request.addresses ?? [
        this.config.announceAddress ?? request.boundAddress ?? defaultAddress(),
      ],
      leaseUntil: request.leaseUntil,
      leaseHolder: request.leaseHolder,
    };
  }

  /** Adds the TXT record `text` at `name` (idempotent). */
  async addTxt(name: string, text: string): Promise<void> {
    const owner = dnsName(name, 'the record name');
    await this.#update(owner, [addTxtChange(owner, text, this.config.announceTtl)]);
  }

  /** The strings of the TXT records at `name`, as the zone's primary has them now. */
  async txt(name: string): Promise<string[]> {
    return txtAt((await this.#primaryOf()).client, name, name);
  }

  /** The SRV records of `name` at the zone's primary now. */
  async srv(name: string): Promise<SrvRecord[]> {
    return srvAt((await this.#primaryOf()).client, name);
  }

  /** Publishes one instance; resolves to what was published. */
  async announce(request: AnnounceRequest): Promise<Instance & { zone: string }> {
    const instance = this.#instance(request);
    const zone = await this.#update(instance.name, addChanges(instance));
    return { ...instance, zone };
  }

  /** Removes one instance: the SRV records that point at its target and port (read from the
   * zone's primary, so whatever priority and weight they were given), and its target's
   * addresses; nothing else of the service. `registered` says whether the primary had it.
   * `announced`: the instance as this Announcer published it, removed exactly, without
   * asking the primary first (one round trip, for a withdrawal at shutdown). */
  async withdraw(
    request: AnnounceRequest,
    announced?: Instance,
  ): Promise<Instance & { zone: string; registered: boolean }> {
    const instance = announced ?? this.#instance(request);
    let records: Pick<Instance, 'priority' | 'weight'>[] = [instance];
    let registered = announced !== undefined;
    if (!announced) {
      const mine = (await this.srv(instance.name)).filter(
        (r) => r.target === instance.target && r.port === instance.port,
      );
      registered = mine.length > 0;
      if (registered) records = mine;
    }
    // Each SRV record exactly; the target's addresses once.
    const changes = records.flatMap((r, i) =>
      deleteChanges({ ...instance, ...r }).slice(0, i === 0 ? undefined : 1),
    );
    const zone = await this.#update(instance.name, changes);
    return { ...instance, zone, registered };
  }

  /** Removes the instances of `name` registered by svcdisc (those with a lease record) whose
   * lease has expired or whose port refuses connections. Instances without a lease are never
   * touched. Idempotent: any number of copies may run. */
  async prune(name: string, now = Date.now()): Promise<PruneDecision[]> {
    const service = dnsName(name, 'the service name');
    const { client } = await this.#primaryOf();
    const decisions: PruneDecision[] = [];
    for (const record of await srvAt(client, service)) {
      const { target, port } = record;
      const until = await leaseOf(client, service, target);
      if (until === undefined) {
        decisions.push({
          target,
          port,
          removed: false,
          why: 'no lease: not registered by svcdisc',
        });
        continue;
      }
      let why: string | undefined;
      if (until * 1000 < now) why = `lease expired at ${new Date(until * 1000).toISOString()}`;
      else {
        const address = await addressOf(client, service, target);
        if (address && (await refuses(address, port)))
          why = `${hostPort(address, port)} refuses connections`;
      }
      if (why) {
        await this.#update(service, deleteChanges({ name: service, ...record }));
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
}

/** An SRV record as the primary has it: the target in lower case, without the final dot. */
export interface SrvRecord {
  target: string;
  port: number;
  priority: number;
  weight: number;
}

/** The SRV records of `name` at the primary. */
async function srvAt(client: DnsClient, name: string): Promise<SrvRecord[]> {
  const reply = await client.query({ name, type: 'SRV' }, name);
  return (reply.answers ?? [])
    .filter((r): r is SrvAnswer => r.type === 'SRV')
    .map(({ data }) => ({
      target: canonicalName(data.target),
      port: data.port,
      priority: data.priority ?? 0,
      weight: data.weight ?? 0,
    }));
}

/** Every string of the TXT records of `name` at the primary (`asker`: the name it is for). */
async function txtAt(client: DnsClient, name: string, asker: string): Promise<string[]> {
  const reply = await client.query({ name, type: 'TXT' }, asker);
  return (reply.answers ?? [])
    .filter((r) => r.type === 'TXT')
    .flatMap((r) =>
      ([] as (string | Buffer)[]).concat(r.data as string | Buffer | (string | Buffer)[]),
    )
    .map(String);
}

/** Until when `target`'s lease holds (unix time, s); undefined without a lease record. */
async function leaseOf(
  client: DnsClient,
  service: string,
  target: string,
): Promise<number | undefined> {
  const strings = await txtAt(client, target, service).catch(() => []);
  const lease = strings.find((text) => text.startsWith(LEASE_PREFIX));
  return lease === undefined ? undefined : Number(lease.slice(LEASE_PREFIX.length));
}

/** `target`'s first IPv4 address at the primary. */
async function addressOf(
  client: DnsClient,
  service: string,
  target: string,
): Promise<string | undefined> {
  const reply = await client.query({ name: target, type: 'A' }, service).catch(() => undefined);
  const found = (reply?.answers ?? []).find((r) => r.type === 'A') as StringAnswer | undefined;
  return found?.data;
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
