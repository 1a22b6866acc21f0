// A UDP and TCP proxy in front of a DNS server that loses, delays or refuses traffic on
// demand, for fault tests. UDP: each datagram, either way, is dropped with `loss`; TCP is
// passed through after `delayMs`.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';

export class LossyProxy {
  /** Share of datagrams dropped, each way, from 0 to 1. */
  loss = 0;
  delayMs = 0;
  /** Datagrams seen and dropped, both ways. */
  readonly counts = { forwarded: 0, dropped: 0 };
  readonly #udp: UdpSocket;
  readonly #tcp: Server;
  readonly #upstreams = new Map<string, UdpSocket>();
  readonly #connections = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  private constructor(
    udp: UdpSocket,
    tcp: Server,
    readonly upstreamPort: number,
    readonly random: () => number,
  ) {
    this.#udp = udp;
    this.#tcp = tcp;
    udp.on('message', (bytes, from) => this.#fromClient(bytes, from.address, from.port));
    tcp.on('connection', (client) => this.#pipeTcp(client));
  }

  static async start(
    upstreamPort: number,
    random: () => number = Math.random,
  ): Promise<LossyProxy> {
    for (let tries = 0; tries < 20; tries++) {
      const udp = createSocket('udp4');
      await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
      const tcp = createServer();
      const ok = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => resolve(false));
        tcp.listen(udp.address().port, '127.0.0.1', () => resolve(true));
      });
      if (ok) return new LossyProxy(udp, tcp, upstreamPort, random);
      udp.close();
    }
    throw new Error('no free port for the proxy');
  }

  get nameserver(): string {
    return `127.0.0.1:${this.#udp.address().port}`;
  }

  #later(action: () => void): void {
    if (this.delayMs === 0) {
      action();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closed) action();
    }, this.delayMs);
    this.#timers.add(timer);
  }

  #lost(): boolean {
    const lost = this.random() < this.loss;
    this.counts[lost ? 'dropped' : 'forwarded']++;
    return lost;
  }

  #fromClient(bytes: Buffer, address: string, port: number): void {
    if (this.#lost()) return;
    const key = `${address}:${port}`;
    let upstream = this.#upstreams.get(key);
    if (!upstream) {
      const socket = createSocket('udp4');
      socket.on('message', (reply) => {
        if (!this.#lost()) this.#later(() => this.#udp.send(reply, port, address));
      });
      socket.on('error', () => {});
      this.#upstreams.set(key, socket);
      upstream = socket;
    }
    const target = upstream;
    this.#later(() => target.send(bytes, this.upstreamPort, '127.0.0.1'));
  }

  #pipeTcp(client: Socket): void {
    this.#connections.add(client);
    client.on('close', () => this.#connections.delete(client));
    client.on('error', () => {});
    client.pause();
    this.#later(() => {
      const upstream = connect(this.upstreamPort, '127.0.0.1');
      this.#connections.add(upstream);
      upstream.on('close', () => this.#connections.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.pipe(upstream).pipe(client);
      client.resume();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    for (const socket of this.#connections) socket.destroy();
    for (const socket of this.#upstreams.values()) socket.close();
    this.#udp.close();
    await new Promise<void>((resolve) => this.#tcp.close(() => resolve()));
  }
}
