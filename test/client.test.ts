import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dns from 'node:dns';
import { type AddressInfo, createServer, isIP } from 'node:net';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DnsClient, type WireStats } from '../src/dns/client.js';
import { parseNameserver } from '../src/dns/names.js';
import type { Reply } from '../src/dns/packet.js';
import { DnsError } from '../src/errors.js';
import { FixtureServer } from './fixture-server.js';
import { a, bigSet, closedPort, newStats, srv } from './records.js';

const USER = [srv('user.prod.kw', 'a.kw', 8080), a('a.kw', '127.0.0.2')];

function clientFor(
  servers: (FixtureServer | string)[],
  options: Partial<{ timeoutMs: number; attempts: number; tcp: boolean; maxInFlight: number }> = {},
  stats: WireStats = newStats(),
) {
  const nameservers = servers.map((server) => {
    const parsed = parseNameserver(typeof server === 'string' ? server : server.nameserver);
    assert.ok(parsed);
    return parsed;
  });
  return new DnsClient({ nameservers, timeoutMs: 500, attempts: 2, tcp: false, ...options }, stats);
}

const srvQuestion = (name = 'user.prod.kw') => ({ name, type: 'SRV' as const });
const targets = (reply: Reply) =>
  (reply.answers ?? []).flatMap((r) => (r.type === 'SRV' ? [r.data.target] : []));

describe('DnsClient', () => {
  let server: FixtureServer;
  let second: FixtureServer;
  before(async () => {
    server = await FixtureServer.start();
    second = await FixtureServer.start();
  });
  after(async () => {
    await server.close();
    await second.close();
  });
  beforeEach(() => {
    for (const s of [server, second]) {
      s.records = [...USER];
      s.queries.length = 0;
      s.behave = () => undefined;
      s.truncation = 'empty';
    }
  });

  test('a query goes over UDP, advertises EDNS0 with a 1232-byte payload and returns the reply', async () => {
    const stats = newStats();
    const reply = await clientFor([server], {}, stats).query(srvQuestion(), 'user.prod.kw');
    assert.deepEqual(targets(reply), ['a.kw']);
    assert.equal(reply.rcode, 'NOERROR');
    assert.deepEqual(
      server.queries.map((q) => [q.transport, q.type, q.edns]),
      [['udp', 'SRV', 1232]],
    );
    assert.deepEqual(stats, {
      queries: 1,
      tcpQueries: 0,
      answers: 1,
      ignoredReplies: 0,
      truncated: 0,
    });
  });

  test('each query has a random ID; the source port changes: a socket serves at most 100 queries, and none after a second unused', async () => {
    const client = clientFor([server]);
    for (let i = 0; i < 250; i++) await client.query(srvQuestion(), 'user.prod.kw');
    // A few equal IDs among 250 draws of 16 bits happen (about one pair in two runs); ten never.
    const ids = server.queries.map((q) => q.id);
    assert.ok(new Set(ids).size >= 240);
    // Not a counter or any fixed stride: the steps from one ID to the next differ too.
    assert.ok(
      new Set(ids.slice(1).map((id, i) => (id - (ids[i] ?? 0) + 0x10000) % 0x10000)).size >= 240,
    );
    const perPort = new Map<number, number>();
    for (const { port } of server.queries) perPort.set(port, (perPort.get(port) ?? 0) + 1);
    assert.ok(perPort.size >= 3, `${perPort.size} ports`);
    assert.ok(Math.max(...perPort.values()) <= 100, JSON.stringify([...perPort]));
    // Sequential queries share the socket: not one per query (that cost 50 µs each).
    assert.ok(perPort.size <= 10, `${perPort.size} ports`);
    const last = server.queries.at(-1)?.port;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await client.query(srvQuestion(), 'user.prod.kw');
    assert.notEqual(server.queries.at(-1)?.port, last);
  });

  /** A fresh process's first query to the fixture server, after `prelude` (a module loaded once
   * stays loaded): whether `cluster` was loaded before it and once it was answered, and the
   * reply's rcode. (`child_process` is tsx's already.) */
  async function firstQuery(prelude = '') {
    const program = `
      ${prelude}
      const { DnsClient, newWireStats } = require('./src/dns/client.ts');
      const { parseNameserver } = require('./src/dns/names.ts');
      const client = new DnsClient(
        { nameservers: [parseNameserver(${JSON.stringify(server.nameserver)})], timeoutMs: 500, attempts: 1, tcp: false },
        newWireStats(),
      );
      const loaded = () => process.moduleLoadList.includes('NativeModule cluster');
      const before = loaded();
      client.query({ name: 'user.prod.kw', type: 'SRV' }, 'user.prod.kw').then((reply) =>
        console.log(JSON.stringify({ before, after: loaded(), rcode: reply.rcode })),
      );
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '-e', program],
      { cwd: join(__dirname, '..') },
    );
    return JSON.parse(stdout) as { before: boolean; after: boolean; rcode: string };
  }

  test("a process's first query loads no cluster module (dgram's connectSync, or a handle bound for bind())", async () => {
    // dgram's bind() loads `cluster` (and `child_process`) to ask whether the process is a
    // worker: connectSync() (Node 24.22, 26) binds without it, and where dgram has none (Node 20,
    // 22) bind() is given a handle bound already. Answered: the socket is bound and connected.
    assert.deepEqual(await firstQuery(), { before: false, after: false, rcode: 'NOERROR' });
    assert.equal(server.queries.at(-1)?.name, 'user.prod.kw');
  });

  for (const binds of [true, false]) {
    test(`without connectSync (Node 20, 22), a UDP socket ${binds ? 'binds a handle of its own, without cluster' : 'whose own handle does not bind binds through connect(), as before'}: the query is answered`, async () => {
      // Every line runs the path of Node 20 and 22: connectSync is taken away. Where the
      // handle's first bind fails (EADDRINUSE), the socket is left as it was and connect()
      // binds it, loading cluster.
      const prelude = `
        const dgram = require('node:dgram');
        delete dgram.Socket.prototype.connectSync;
        if (${!binds}) {
          const probe = dgram.createSocket('udp4');
          const Udp = require('./src/dns/transport.ts').udpHandleClass(probe);
          probe.close();
          const bind = Udp.prototype.bind;
          Udp.prototype.bind = function () { Udp.prototype.bind = bind; return -98; };
        }
      `;
      assert.deepEqual(await firstQuery(prelude), {
        before: false,
        after: !binds,
        rcode: 'NOERROR',
      });
    });
  }

  test('NXDOMAIN is an answer, not a failure', async () => {
    const reply = await clientFor([server]).query(srvQuestion('gone.prod.kw'), 'gone.prod.kw');
    assert.equal(reply.rcode, 'NXDOMAIN');
    assert.equal(reply.authorities?.[0]?.type, 'SOA');
  });

  for (const style of ['empty', 'partial'] as const) {
    test(`a truncated reply (${style}) is never used: the query is repeated over TCP`, async () => {
      server.records = bigSet('big.prod.kw', 40);
      server.truncation = style;
      const stats = newStats();
      const reply = await clientFor([server], {}, stats).query(
        srvQuestion('big.prod.kw'),
        'big.prod.kw',
      );
      assert.equal(targets(reply).length, 40);
      assert.equal((reply.additionals ?? []).filter((r) => r.type === 'A').length, 40);
      assert.deepEqual(
        server.queries.map((q) => q.transport),
        ['udp', 'tcp'],
      );
      assert.equal(stats.truncated, 1);
      assert.equal(stats.tcpQueries, 1);
    });
  }

  test('TC on a small reply is honoured too (servers that truncate early)', async () => {
    server.behave = (q) => (q.transport === 'udp' ? { truncate: 'partial' } : undefined);
    const reply = await clientFor([server]).query(srvQuestion(), 'user.prod.kw');
    assert.deepEqual(targets(reply), ['a.kw']);
    assert.deepEqual(
      server.queries.map((q) => q.transport),
      ['udp', 'tcp'],
    );
  });

  test('tcp: true goes straight to TCP, and a reply in several chunks is reassembled', async () => {
    server.records = bigSet('big.prod.kw', 40);
    const reply = await clientFor([server], { tcp: true }).query(
      srvQuestion('big.prod.kw'),
      'big.prod.kw',
    );
    assert.equal(targets(reply).length, 40);
    assert.deepEqual(
      server.queries.map((q) => q.transport),
      ['tcp'],
    );
  });

  test('a reply truncated even over TCP is a failed attempt', async () => {
    server.behave = () => ({
      raw: (_query, reply) => {
        const copy = Buffer.from(reply);
        copy[2] = (copy[2] ?? 0) | 0x02; // TC
        return copy;
      },
    });
    await assert.rejects(
      clientFor([server], { tcp: true, attempts: 1 }).query(srvQuestion(), 'user.prod.kw'),
      {
        code: 'EBADRESP',
        message: /truncated over TCP/,
      },
    );
  });

  for (const forgery of [
    'wrong-id',
    'wrong-port',
    'wrong-question',
    'not-response',
    'garbage',
  ] as const) {
    test(`a forged reply (${forgery}) arriving before the real one is not used`, async () => {
      server.records = [srv('user.prod.kw', 'real.kw', 80), a('real.kw', '127.0.0.9')];
      // If the forgery were used, the target would be evil.kw.
      server.behave = () => ({
        forge: [forgery],
        forgedAnswers: [srv('user.prod.kw', 'evil.kw', 666)],
      });
      const stats = newStats();
      const reply = await clientFor([server], {}, stats).query(srvQuestion(), 'user.prod.kw');
      assert.deepEqual(targets(reply), ['real.kw']);
      // The kernel drops a datagram from another port (connected socket); the rest are counted.
      assert.equal(stats.ignoredReplies, forgery === 'wrong-port' ? 0 : 1);
    });

    test(`a forged reply (${forgery}) alone never answers: the attempt fails`, async () => {
      server.behave = () => ({ forge: [forgery], drop: true });
      const error = await clientFor([server], { attempts: 1, timeoutMs: 200 })
        .query(srvQuestion(), 'user.prod.kw')
        .then(
          () => assert.fail('a forgery was used'),
          (e: unknown) => e,
        );
      assert.ok(error instanceof DnsError);
      assert.equal(error.code, forgery === 'garbage' ? 'EBADRESP' : 'ETIMEOUT');
    });
  }

  for (const rcode of ['SERVFAIL', 'REFUSED', 'FORMERR', 'NOTIMP'] as const) {
    test(`${rcode} from the first nameserver moves on to the second`, async () => {
      server.behave = () => ({ rcode });
      second.records = [srv('user.prod.kw', 'second.kw', 9090), a('second.kw', '127.0.0.3')];
      const reply = await clientFor([server, second]).query(srvQuestion(), 'user.prod.kw');
      assert.deepEqual(targets(reply), ['second.kw']);
      assert.equal(server.queries.length, 1);
    });
  }

  test('a silent first nameserver costs one timeout, then the second answers', async () => {
    server.behave = () => ({ drop: true });
    const reply = await clientFor([server, second], { timeoutMs: 200 }).query(
      srvQuestion(),
      'user.prod.kw',
    );
    assert.deepEqual(targets(reply), ['a.kw']);
    assert.equal(server.queries.length, 1);
    assert.equal(second.queries.length, 1);
  });

  test('a nameserver on IPv6 is asked over UDP6 and TCP6', async (t) => {
    const v6 = await FixtureServer.start({ host: '::1', records: [...USER] }).catch(
      (error: Error) => error,
    );
    if (v6 instanceof Error) return t.skip(`no IPv6 loopback here: ${v6.message}`);
    try {
      for (const tcp of [false, true]) {
        const reply = await clientFor([v6.nameserver], { tcp }).query(
          srvQuestion(),
          'user.prod.kw',
        );
        assert.deepEqual(targets(reply), ['a.kw']);
      }
      assert.deepEqual(
        v6.queries.map((q) => q.transport),
        ['udp', 'tcp'],
      );
    } finally {
      await v6.close();
    }
  });

  test('a closed nameserver port is ECONNREFUSED at once, and the next server is asked', async () => {
    const closed = `127.0.0.1:${await closedPort()}`;
    const reply = await clientFor([closed, second], { timeoutMs: 5000 }).query(
      srvQuestion(),
      'user.prod.kw',
    );
    assert.deepEqual(targets(reply), ['a.kw']);
    await assert.rejects(
      clientFor([closed], { timeoutMs: 5000, attempts: 1 }).query(srvQuestion(), 'user.prod.kw'),
      {
        code: 'ECONNREFUSED',
        message: new RegExp(`${closed} ECONNREFUSED`),
      },
    );
  });

  test('a nameserver that closes the TCP connection before the reply is EOF, not ECONNREFUSED', async () => {
    const closer = createServer((socket) => socket.once('data', () => socket.end()));
    await new Promise<void>((resolve) => closer.listen(0, '127.0.0.1', resolve));
    const { port } = closer.address() as AddressInfo;
    try {
      await assert.rejects(
        clientFor([`127.0.0.1:${port}`], { tcp: true, attempts: 1 }).query(
          srvQuestion(),
          'user.prod.kw',
        ),
        { code: 'EOF', message: /closed the connection before the reply/ },
      );
    } finally {
      closer.close();
    }
  });

  test('when every attempt fails, the error is Node-shaped and names the query, each failure and the servers', async () => {
    server.behave = () => ({ rcode: 'SERVFAIL' });
    second.behave = () => ({ drop: true });
    const error = await clientFor([server, second], { timeoutMs: 100, attempts: 2 })
      .query(srvQuestion('_http._tcp.user.prod.kw'), 'user.prod.kw')
      .catch((e: unknown) => e);
    assert.ok(error instanceof DnsError);
    assert.equal(error.code, 'ETIMEOUT'); // the last failure
    assert.equal(error.syscall, 'querySrv');
    assert.equal(error.hostname, 'user.prod.kw');
    assert.equal(error.query, '_http._tcp.user.prod.kw');
    assert.deepEqual(error.servers, [server.nameserver, second.nameserver]);
    assert.equal(
      error.message,
      `querySrv ETIMEOUT _http._tcp.user.prod.kw: no usable reply after 2 attempt(s): ${server.nameserver} SERVFAIL, ${second.nameserver} timeout (asked ${server.nameserver}, ${second.nameserver})`,
    );
    // Attempts outer, servers inner: each server asked twice.
    assert.equal(server.queries.length, 2);
    assert.equal(second.queries.length, 2);
  });

  test('a reply with the query ID that cannot be decoded fails the attempt (EBADRESP), over UDP and TCP', async () => {
    server.behave = () => ({ raw: () => Buffer.from('0000ffffffffffffffffffff01', 'hex') });
    for (const tcp of [false, true]) {
      await assert.rejects(
        clientFor([server], { attempts: 1, timeoutMs: 200, tcp }).query(
          srvQuestion(),
          'user.prod.kw',
        ),
        {
          code: 'EBADRESP',
          message: /malformed reply/,
        },
      );
    }
  });

  test('a compression pointer loop is malformed, not a hang', async () => {
    server.behave = () => ({
      raw: (query) => {
        // Header with one question whose name is a pointer to itself (offset 12).
        const reply = Buffer.alloc(18);
        query.copy(reply, 0, 0, 2);
        reply.writeUInt16BE(0x8180, 2);
        reply.writeUInt16BE(1, 4);
        reply.writeUInt16BE(0xc00c, 12);
        reply.writeUInt16BE(33, 14);
        reply.writeUInt16BE(1, 16);
        return reply;
      },
    });
    await assert.rejects(
      clientFor([server], { attempts: 1, tcp: true }).query(srvQuestion(), 'user.prod.kw'),
      {
        code: 'EBADRESP',
      },
    );
  });

  test('sockets open at once are bounded: further queries wait their turn', async () => {
    server.behave = () => ({ delayMs: 50 });
    server.maxPending = 0;
    const client = clientFor([server], { maxInFlight: 4 });
    const replies = await Promise.all(
      Array.from({ length: 40 }, () => client.query(srvQuestion(), 'user.prod.kw')),
    );
    assert.equal(replies.length, 40);
    assert.equal(server.queries.length, 40);
    assert.equal(server.maxPending, 4);
  });

  describe('nameservers by host name', () => {
    const port = () => Number(server.nameserver.split(':')[1]);
    const named = (host: string, more: Partial<{ attempts: number }> = {}) =>
      new DnsClient(
        { nameservers: [{ host, port: port() }], timeoutMs: 300, attempts: 1, tcp: false, ...more },
        newStats(),
      );

    test('a name from /etc/hosts is resolved by the system resolver, once', async () => {
      server.records = USER;
      const client = named('localhost');
      assert.deepEqual(client.servers, [`localhost:${port()}`]);
      const reply = await client.query(srvQuestion(), 'user.prod.kw');
      assert.deepEqual(targets(reply), ['a.kw']);
      assert.ok(client.servers.includes(`127.0.0.1:${port()}`), client.servers.join(' '));
      await client.query(srvQuestion(), 'user.prod.kw');
      assert.equal(server.queries.length, 2);
    });

    // The system resolver replaced by one the test controls: a name that does not resolve,
    // then a server that moves. (Real getaddrinfo would ask the host's DNS for them.)
    async function withLookup<T>(
      answer: (host: string) => string | undefined,
      run: (calls: string[]) => Promise<T>,
    ): Promise<T> {
      const original = dns.lookup;
      const calls: string[] = [];
      dns.lookup = ((host: string, options: unknown, callback: (...args: unknown[]) => void) => {
        // Sockets look up their own addresses (dgram binds 0.0.0.0): Node's answer for those.
        if (isIP(host)) return Reflect.apply(original, dns, [host, options, callback]);
        calls.push(host);
        const address = answer(host);
        if (address) process.nextTick(callback, null, [{ address, family: 4 }]);
        else
          process.nextTick(
            callback,
            Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }),
          );
      }) as typeof dns.lookup;
      try {
        return await run(calls);
      } finally {
        dns.lookup = original;
      }
    }

    test('a name that does not resolve is ECONNREFUSED ("could not contact DNS servers"), naming it', async () => {
      await withLookup(
        () => undefined,
        async () => {
          const error = await named('nowhere')
            .query(srvQuestion(), 'user.prod.kw')
            .catch((e: unknown) => e);
          assert.ok(error instanceof DnsError);
          assert.equal(error.code, 'ECONNREFUSED');
          assert.equal(
            error.message,
            `querySrv ECONNREFUSED user.prod.kw: no nameserver to ask: nowhere:${port()} host name not found by the system resolver (ENOTFOUND) (asked nowhere:${port()})`,
          );
        },
      );
    });

    test('when every server fails, the names are resolved again (at most once a second)', async () => {
      server.records = USER;
      let address = '127.0.0.9'; // where nothing answers
      await withLookup(
        () => address,
        async (calls) => {
          const client = named('dns');
          await assert.rejects(client.query(srvQuestion(), 'user.prod.kw'), {
            servers: [`127.0.0.9:${port()}`],
          });
          address = '127.0.0.1'; // the server moved
          // Within a second of the lookup: not asked again.
          await assert.rejects(client.query(srvQuestion(), 'user.prod.kw'));
          assert.deepEqual(calls, ['dns']);
          await new Promise((resolve) => setTimeout(resolve, 1000));
          await assert.rejects(client.query(srvQuestion(), 'user.prod.kw'));
          const reply = await client.query(srvQuestion(), 'user.prod.kw');
          assert.deepEqual(targets(reply), ['a.kw']);
          assert.deepEqual(calls, ['dns', 'dns']);
          assert.deepEqual(client.servers, [`127.0.0.1:${port()}`]);
        },
      );
    });
  });
});
