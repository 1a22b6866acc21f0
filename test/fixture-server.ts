// An in-process DNS server for tests, over UDP and TCP on one loopback port. It answers from a
// list of records like an authoritative server (CNAME chains, glue, NXDOMAIN/NODATA with SOA,
// truncation at the client's EDNS size), counts queries, and misbehaves on demand.
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import * as packet from 'dns-packet';

export type Transport = 'udp' | 'tcp';

export interface SeenQuery {
  name: string;
  type: string;
  transport: Transport;
  id: number;
  /** The client's port. */
  port: number;
  /** The EDNS0 UDP payload size the client advertised, if it sent an OPT record. */
  edns: number | undefined;
}

/** How to treat one query; every field is optional and the default is a correct answer. */
export interface Behaviour {
  /** Send nothing. */
  drop?: boolean;
  /** Wait this long before replying. */
  delayMs?: number;
  /** Reply with this rcode and no records. */
  rcode?: 'SERVFAIL' | 'REFUSED' | 'FORMERR' | 'NOTIMP';
  /** Over UDP, set TC and send no answers ('empty', as BIND and Knot) or those that fit
   * ('partial', as dnsmasq), whatever the size. */
  truncate?: 'empty' | 'partial';
  /** Send these forgeries before the real reply (or instead of it, with `drop`). */
  forge?: ('wrong-id' | 'wrong-port' | 'wrong-question' | 'garbage' | 'not-response')[];
  /** The answer section of the forgeries (default: the real reply's). */
  forgedAnswers?: packet.Answer[];
  /** Replace the reply with these bytes (after the ID is set). */
  raw?: (query: Buffer, reply: Buffer) => Buffer;
  /** Records for the additional section, added to the glue. */
  extraAdditionals?: packet.Answer[];
}

export interface FixtureOptions {
  /** Loopback address to listen on. @default '127.0.0.1' */
  host?: string;
  records?: packet.Answer[];
  /** When a name is not found: the SOA minimum of the synthesised SOA, s. @default 30 */
  negativeTtl?: number;
  /** Truncation style for replies over the client's UDP size. @default 'empty' */
  truncation?: 'empty' | 'partial';
  /** Follow CNAMEs inside the records; false stops at the CNAME, as a server does whose
   * CNAME points into another zone. @default true */
  followCnames?: boolean;
}

export class FixtureServer {
  records: packet.Answer[];
  readonly queries: SeenQuery[] = [];
  behave: (query: SeenQuery) => Behaviour | undefined = () => undefined;
  truncation: 'empty' | 'partial';
  negativeTtl: number;
  followCnames: boolean;
  /** Answers made up for any name (many names without a list of records); undefined falls
   * back to the records. */
  generate?: (
    name: string,
    type: string,
  ) => { answers: packet.Answer[]; glue: packet.Answer[] } | undefined;
  /** Replies being delayed right now, and the most there have been at once. */
  pending = 0;
  maxPending = 0;
  readonly #udp: UdpSocket;
  readonly #tcp: Server;
  readonly #spoofer: UdpSocket;
  readonly #connections = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(udp: UdpSocket, tcp: Server, spoofer: UdpSocket, options: FixtureOptions) {
    this.#udp = udp;
    this.#tcp = tcp;
    this.#spoofer = spoofer;
    this.records = options.records ?? [];
    this.negativeTtl = options.negativeTtl ?? 30;
    this.truncation = options.truncation ?? 'empty';
    this.followCnames = options.followCnames ?? true;
    udp.on('message', (bytes, from) => this.#onUdp(bytes, from));
    tcp.on('connection', (socket) => this.#onTcp(socket));
  }

  /** Starts on 127.0.0.1 with UDP and TCP on the same free port. */
  static async start(options: FixtureOptions = {}): Promise<FixtureServer> {
    const host = options.host ?? '127.0.0.1';
    const type = host.includes(':') ? 'udp6' : 'udp4';
    for (let tries = 0; tries < 20; tries++) {
      const udp = createSocket(type);
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(0, host, resolve);
      });
      const tcp = createServer();
      const listening = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => resolve(false));
        tcp.listen(udp.address().port, host, () => resolve(true));
      });
      if (!listening) {
        udp.close();
        continue;
      }
      const spoofer = createSocket(type);
      await new Promise<void>((resolve) => spoofer.bind(0, host, resolve));
      return new FixtureServer(udp, tcp, spoofer, options);
    }
    throw new Error('no free port for UDP and TCP together');
  }

  get port(): number {
    return this.#udp.address().port;
  }

  /** `127.0.0.1:PORT` or `[::1]:PORT`, as SVCDISC_NAMESERVERS takes it. */
  get nameserver(): string {
    const { address, port } = this.#udp.address();
    return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  }

  /** Queries seen for a name (any case) and optionally a type. */
  count(name: string, type?: string): number {
    const lower = name.toLowerCase();
    return this.queries.filter((q) => q.name.toLowerCase() === lower && (!type || q.type === type))
      .length;
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    for (const socket of this.#connections) socket.destroy();
    this.#udp.close();
    this.#spoofer.close();
    await new Promise<void>((resolve) => this.#tcp.close(() => resolve()));
  }

  #later(delayMs: number | undefined, action: () => void): void {
    if (!delayMs) {
      action();
      return;
    }
    this.pending++;
    this.maxPending = Math.max(this.maxPending, this.pending);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.pending--;
      action();
    }, delayMs);
    this.#timers.add(timer);
  }

  #onUdp(bytes: Buffer, from: RemoteInfo): void {
    const handled = this.#handle(bytes, 'udp', from.port);
    if (!handled) return;
    const { behaviour, query, reply } = handled;
    this.#later(behaviour.delayMs, () => {
      for (const forgery of behaviour.forge ?? []) {
        const forged = forge(forgery, query, handled.forged);
        const socket = forgery === 'wrong-port' ? this.#spoofer : this.#udp;
        socket.send(forged, from.port, from.address);
      }
      if (!behaviour.drop) this.#udp.send(reply, from.port, from.address);
    });
  }

  #onTcp(socket: Socket): void {
    this.#connections.add(socket);
    socket.on('close', () => this.#connections.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + message.length);
        const handled = this.#handle(message, 'tcp', socket.remotePort ?? 0);
        if (!handled || handled.behaviour.drop) continue;
        const { reply, behaviour } = handled;
        this.#later(behaviour.delayMs, () => {
          const frame = Buffer.alloc(2 + reply.length);
          frame.writeUInt16BE(reply.length, 0);
          reply.copy(frame, 2);
          // Split the frame to prove that the client reassembles it.
          const middle = Math.floor(frame.length / 2);
          socket.write(frame.subarray(0, 1));
          socket.write(frame.subarray(1, middle));
          setImmediate(() => socket.writable && socket.write(frame.subarray(middle)));
        });
      }
    });
  }

  #handle(bytes: Buffer, transport: Transport, port: number) {
    let query: packet.DecodedPacket;
    try {
      query = packet.decode(bytes);
    } catch {
      return undefined;
    }
    const question = query.questions?.[0];
    if (!question) return undefined;
    const opt = query.additionals?.find((record) => record.type === 'OPT') as
      | packet.OptAnswer
      | undefined;
    const seen: SeenQuery = {
      name: question.name,
      type: question.type,
      transport,
      id: query.id ?? 0,
      port,
      edns: opt?.udpPayloadSize,
    };
    this.queries.push(seen);
    const behaviour = this.behave(seen) ?? {};
    let reply = this.#answer(query, question, transport, behaviour);
    if (behaviour.raw) {
      reply = behaviour.raw(bytes, reply);
      if (reply.length >= 2) bytes.copy(reply, 0, 0, 2);
    }
    let forged = reply;
    if (behaviour.forgedAnswers) {
      const decoded = packet.decode(reply);
      forged = packet.encode({ ...decoded, answers: behaviour.forgedAnswers, additionals: [] });
    }
    return { behaviour, query: bytes, reply, forged };
  }

  #answer(
    query: packet.DecodedPacket,
    question: packet.Question,
    transport: Transport,
    behaviour: Behaviour,
  ): Buffer {
    const opt = query.additionals?.find((record) => record.type === 'OPT') as
      | packet.OptAnswer
      | undefined;
    const base = {
      type: 'response' as const,
      id: query.id ?? 0,
      flags: packet.AUTHORITATIVE_ANSWER | (query.flags ?? 0 & packet.RECURSION_DESIRED),
      questions: [question],
      additionals: opt
        ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as never]
        : [],
    };
    if (behaviour.rcode)
      return packet.encode({ ...base, flags: base.flags | rcodeBits(behaviour.rcode) });
    const found = this.lookup(question.name, question.type);
    const response: packet.Packet = {
      ...base,
      flags: base.flags | (found.nxdomain ? rcodeBits('NXDOMAIN') : 0),
      answers: found.answers,
      authorities: found.answers.length === 0 ? [this.#soa()] : [],
      additionals: [
        ...(base.additionals ?? []),
        ...found.glue,
        ...(behaviour.extraAdditionals ?? []),
      ],
    };
    let encoded = packet.encode(response);
    if (transport === 'udp') {
      const limit = opt ? Math.max(512, opt.udpPayloadSize ?? 512) : 512;
      const style = behaviour.truncate ?? (encoded.length > limit ? this.truncation : undefined);
      if (style) encoded = truncateReply(response, style, limit);
    }
    return encoded;
  }

  /** The records for a name and type, following CNAMEs, with glue for SRV targets. */
  lookup(
    name: string,
    type: string,
  ): { answers: packet.Answer[]; glue: packet.Answer[]; nxdomain: boolean } {
    const generated = this.generate?.(name.toLowerCase(), type);
    if (generated) return { ...generated, nxdomain: false };
    const answers: packet.Answer[] = [];
    let current = name.toLowerCase();
    for (let hops = 0; hops < 8; hops++) {
      const owned = this.records.filter((record) => record.name.toLowerCase() === current);
      const matching = owned.filter((record) => record.type === type);
      if (matching.length > 0) {
        answers.push(...matching);
        break;
      }
      const cname = owned.find((record) => record.type === 'CNAME') as
        | packet.StringAnswer
        | undefined;
      if (!cname || type === 'CNAME') {
        const exists =
          owned.length > 0 ||
          this.records.some((r) => r.name.toLowerCase().endsWith(`.${current}`));
        return { answers, glue: [], nxdomain: answers.length === 0 && !exists };
      }
      answers.push(cname);
      if (!this.followCnames) return { answers, glue: [], nxdomain: false };
      current = cname.data.toLowerCase();
    }
    const targets = new Set(
      answers
        .filter((record) => record.type === 'SRV')
        .map((record) => (record as packet.SrvAnswer).data.target.toLowerCase().replace(/\.$/, '')),
    );
    const glue = this.records.filter(
      (record) =>
        (record.type === 'A' || record.type === 'AAAA') && targets.has(record.name.toLowerCase()),
    );
    return { answers, glue, nxdomain: false };
  }

  #soa(): packet.Answer {
    const soa = this.records.find((record) => record.type === 'SOA');
    return (
      soa ?? {
        type: 'SOA',
        name: 'kw',
        ttl: this.negativeTtl,
        data: {
          mname: 'ns.kw',
          rname: 'hostmaster.kw',
          serial: 1,
          refresh: 3600,
          retry: 600,
          expire: 86400,
          minimum: this.negativeTtl,
        },
      }
    );
  }
}

const RCODES: Record<string, number> = {
  NXDOMAIN: 3,
  SERVFAIL: 2,
  REFUSED: 5,
  FORMERR: 1,
  NOTIMP: 4,
};

function rcodeBits(rcode: string): number {
  return RCODES[rcode] ?? 0;
}

/** A reply with TC set: no answers, or as many as fit in `limit` bytes. */
function truncateReply(response: packet.Packet, style: 'empty' | 'partial', limit: number): Buffer {
  const flags = (response.flags ?? 0) | packet.TRUNCATED_RESPONSE;
  const opt = (response.additionals ?? []).filter((record) => record.type === 'OPT');
  const answers = style === 'partial' ? [...(response.answers ?? [])] : [];
  if (style === 'partial') answers.pop(); // at least one record short, even when all would fit
  for (;;) {
    const encoded = packet.encode({
      ...response,
      flags,
      answers,
      authorities: [],
      additionals: opt,
    });
    if (encoded.length <= limit || answers.length === 0) return encoded;
    answers.pop();
  }
}

/** A reply that must not be used, of the given kind. */
function forge(
  kind: NonNullable<Behaviour['forge']>[number],
  query: Buffer,
  reply: Buffer,
): Buffer {
  const forged = Buffer.from(reply);
  switch (kind) {
    case 'wrong-id':
      forged.writeUInt16BE((query.readUInt16BE(0) + 1) & 0xffff, 0);
      return forged;
    case 'wrong-port':
      return forged;
    case 'not-response':
      forged[2] = (forged[2] ?? 0) & 0x7f;
      return forged;
    case 'wrong-question': {
      const decoded = packet.decode(reply);
      const question = decoded.questions?.[0];
      if (question) question.name = `forged.${question.name}`;
      return packet.encode(decoded);
    }
    case 'garbage': {
      const garbage = Buffer.alloc(40, 0xff);
      query.copy(garbage, 0, 0, 2);
      return garbage;
    }
  }
}
