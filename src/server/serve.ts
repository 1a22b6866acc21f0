// An authoritative DNS server over UDP and TCP for one master file, for development, the demo
// and tests (production uses BIND, Knot, Consul or CoreDNS). Reloads the file on demand and
// when it changes; a file that does not load leaves the previous zone serving.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { basename } from 'node:path';
import { lengthPrefixed, messageReader } from '../dns/framing.js';
import { hostPort } from '../dns/names.js';
import { decode } from '../dns/packet.js';
import { ListenError } from '../errors.js';
import { applyUpdate, type UpdatePolicy } from './accept-update.js';
import { answer } from './authority.js';
import { parseZone, type Zone } from './zone.js';

export interface ServeOptions {
  /** The master file. */
  zoneFile: string;
  /** Its origin when the file has no $ORIGIN: by default its name without `.zone`. */
  origin?: string;
  host: string;
  /** 0 for any free port (the same for UDP and TCP). */
  port: number;
  /** Where lines go: loads, reloads, errors, and queries with `logQueries`. */
  log?: (line: string) => void;
  logQueries?: boolean;
  /** Poll the file for changes every this many ms; 0 never. @default 500 */
  watchIntervalMs?: number;
  /** RFC 2136 updates: accepted with this policy; without one, REFUSED. */
  updates?: UpdatePolicy;
}

/** Closes idle TCP connections after this long (RFC 7766 6.2.3 suggests seconds). */
const TCP_IDLE_MS = 10_000;

export class DnsServer {
  #zone: Zone;
  readonly #udp: UdpSocket;
  readonly #tcp: Server;
  readonly #connections = new Set<Socket>();

  private constructor(
    zone: Zone,
    udp: UdpSocket,
    tcp: Server,
    readonly options: ServeOptions,
  ) {
    this.#zone = zone;
    this.#udp = udp;
    this.#tcp = tcp;
    udp.on('message', (query, from) => {
      const reply = this.#answer(query, 'udp', hostPort(from.address, from.port));
      if (reply) udp.send(reply, from.port, from.address);
    });
    tcp.on('connection', (socket) => this.#serveTcp(socket));
    if ((options.watchIntervalMs ?? 500) > 0) {
      watchFile(options.zoneFile, { interval: options.watchIntervalMs ?? 500 }, (now, before) => {
        if (now.mtimeMs !== before.mtimeMs || now.size !== before.size)
          this.reload('the file changed');
      });
    }
  }

  /** Loads the zone and listens; rejects with a clear message when it cannot. */
  static async start(options: ServeOptions): Promise<DnsServer> {
    const zone = loadZone(options);
    const [udp, tcp] = await bindBoth(options);
    const server = new DnsServer(zone, udp, tcp, options);
    options.log?.(`serving ${describe(zone, options)} on ${server.address} (UDP and TCP)`);
    return server;
  }

  /** `host:port`, `[v6]:port` for IPv6. */
  get address(): string {
    const { address, port } = this.#udp.address();
    return hostPort(address, port);
  }

  get port(): number {
    return this.#udp.address().port;
  }

  get zone(): Zone {
    return this.#zone;
  }

  /** Loads the file again; on error the old zone keeps serving. Returns whether it loaded. */
  reload(why: string): boolean {
    try {
      this.#zone = loadZone(this.options);
      this.options.log?.(`reloaded ${describe(this.#zone, this.options)} (${why})`);
      return true;
    } catch (error) {
      this.options.log?.(
        `reload failed, still serving the previous zone: ${(error as Error).message}`,
      );
      return false;
    }
  }

  async close(): Promise<void> {
    unwatchFile(this.options.zoneFile);
    for (const socket of this.#connections) socket.destroy();
    this.#udp.close();
    await new Promise<void>((resolve) => this.#tcp.close(() => resolve()));
  }

  #answer(query: Buffer, transport: 'udp' | 'tcp', from: string): Buffer | undefined {
    if (query.length >= 12 && ((query[2] ?? 0) & 0xf8) === 5 << 3) {
      // An UPDATE (opcode 5) rather than a query.
      const result = applyUpdate(this.#zone, query, this.options.updates ?? {});
      if (result.zone) this.#zone = result.zone;
      this.options.log?.(
        `update from ${from}: ${result.rcode}${result.zone ? `, serial ${result.zone.soa.data.serial}` : ''}`,
      );
      return result.reply;
    }
    const reply = answer([this.#zone], query, transport);
    if (reply && this.options.logQueries) {
      const question = questionOf(query);
      this.options.log?.(
        `${transport} ${from} ${question} ${reply.rcode}${reply.truncated ? ' TC' : ''}`,
      );
    }
    return reply?.bytes;
  }

  /** DNS over TCP: 2-byte length framing, several queries per connection (RFC 7766). */
  #serveTcp(socket: Socket): void {
    this.#connections.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.#connections.delete(socket));
    socket.on('error', () => {});
    socket.on(
      'data',
      messageReader((query) => {
        const reply = this.#answer(
          query,
          'tcp',
          hostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0),
        );
        if (reply) socket.write(lengthPrefixed(reply));
        return undefined;
      }),
    );
  }
}

/** UDP and TCP on the same port. With port 0 the UDP port is the system's pick, and TCP may
 * find it taken (by an outgoing connection's port): then another pick is tried. */
async function bindBoth(options: ServeOptions): Promise<[UdpSocket, Server]> {
  for (let tries = 1; ; tries++) {
    const udp = createSocket(options.host.includes(':') ? 'udp6' : 'udp4');
    await listen(
      (done) => {
        udp.once('error', done);
        udp.bind(options.port, options.host, () => {
          udp.off('error', done);
          done();
        });
      },
      options,
      'UDP',
    );
    const tcp = createServer();
    try {
      await listen(
        (done) => {
          tcp.once('error', done);
          tcp.listen(udp.address().port, options.host, () => {
            tcp.off('error', done);
            done();
          });
        },
        options,
        'TCP',
      );
      return [udp, tcp];
    } catch (error) {
      udp.close();
      if (
        options.port !== 0 ||
        ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code !== 'EADDRINUSE' ||
        tries >= 20
      )
        throw error;
    }
  }
}

function loadZone(options: ServeOptions): Zone {
  const origin = options.origin ?? basename(options.zoneFile).replace(/\.zone$/, '');
  return parseZone(readFileSync(options.zoneFile, 'utf8'), { file: options.zoneFile, origin });
}

function describe(zone: Zone, options: ServeOptions): string {
  return `zone ${zone.origin || '.'} from ${options.zoneFile} (${zone.records.length} records, serial ${zone.soa.data.serial})`;
}

/** Runs `bind` (which calls `done` with an error or nothing) and turns EADDRINUSE and
 * friends into a message that says what to do. */
async function listen(
  bind: (done: (error?: Error) => void) => void,
  options: ServeOptions,
  what: string,
): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) =>
      bind((error) => (error ? reject(error) : resolve())),
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const where = hostPort(options.host, options.port);
    const hint =
      code === 'EADDRINUSE'
        ? 'is in use: choose another with --listen HOST:PORT'
        : code === 'EACCES'
          ? 'needs privileges (ports below 1024): choose another'
          : `cannot be used (${(error as Error).message})`;
    throw new ListenError(`${what} ${where} ${hint}`, error);
  }
}

function questionOf(query: Buffer): string {
  try {
    const { questions } = decode(query);
    return questions?.[0] ? `${questions[0].name} ${questions[0].type}` : '-';
  } catch {
    return '?';
  }
}
