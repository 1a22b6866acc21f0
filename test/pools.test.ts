// Keep-alive pools, installed in this process: the endpoint chosen per request, sockets pooled
// per endpoint, and the drain when an endpoint leaves the SRV set (idle sockets closed at once,
// busy ones after their response, no request failing); other sockets left alone; names outside
// the domains pooled exactly as without svcdisc. The weights and live DNS changes with every
// client are in integration/keepalive.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CHANNELS, type DrainMessage } from '../src/events.js';
import { install, installedResolver, pooledSockets, uninstall } from '../src/patch/install.js';
import { FixtureServer } from './fixture-server.js';
import { a, closedPort, srv } from './records.js';

const ROOT = join(__dirname, '..');
const TLS = join(ROOT, 'fixtures', 'tls');
const NAME = 'pool.prod.kw';

/** How long a backend takes to answer a request to /slow, ms. */
const SLOW_MS = 1800;

/** An HTTP server answering with its label; counts connections and those still open. A
 * request to /slow is answered after SLOW_MS. */
interface Backend {
  label: string;
  port: number;
  accepted: number;
  open: Set<net.Socket>;
  /** Requests to /slow being answered. */
  slow: number;
  server: http.Server | https.Server;
}

/** Over TLS (the fixtures' certificate for *.prod.kw) where `secure`. */
async function startBackend(label: string, secure = false): Promise<Backend> {
  const handler: http.RequestListener = (req, res) => {
    if (req.url !== '/slow') res.end(label);
    else {
      backend.slow++;
      setTimeout(() => {
        backend.slow--;
        res.end(label);
      }, SLOW_MS);
    }
  };
  const server = secure
    ? https.createServer(
        { cert: readFileSync(join(TLS, 'prod.crt')), key: readFileSync(join(TLS, 'prod.key')) },
        handler,
      )
    : http.createServer(handler);
  const backend: Backend = { label, port: 0, accepted: 0, open: new Set(), slow: 0, server };
  server.on('connection', (socket) => {
    backend.accepted++;
    backend.open.add(socket);
    socket.on('close', () => backend.open.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as net.AddressInfo).port;
  return backend;
}

/** The body of a GET; `onResponse` runs as the response starts (the request still holds its
 * socket in the agent). */
function get(url: string, agent: http.Agent, onResponse = () => {}): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        onResponse();
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

async function until(condition: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('keep-alive pools, installed in this process', () => {
  let dns: FixtureServer;
  let one: Backend;
  let two: Backend;
  let agent: http.Agent;
  const drains: DrainMessage[] = [];
  const onDrain = (message: unknown) => drains.push(message as DrainMessage);

  /** Publishes `pool.prod.kw` with these backends, TTL 1 s, equal weights. */
  const publish = (...backends: Backend[]) => {
    dns.records = [
      ...backends.map((b) => srv(NAME, `${b.label}.host.kw`, b.port, 10, 50, 1)),
      a('one.host.kw', '127.0.0.1', 1),
      a('two.host.kw', '127.0.0.1', 1),
    ];
  };
  /** Lets the answer expire and asks again: the change is seen, as a refresh would see it. */
  const requery = async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await installedResolver()?.resolve(NAME);
  };

  before(async () => {
    [one, two] = await Promise.all([startBackend('one'), startBackend('two')]);
    dns = await FixtureServer.start();
    install({ nameservers: [dns.nameserver], domains: ['kw'], connectTimeoutMs: 500 });
    subscribe(CHANNELS.drain, onDrain);
  });
  after(async () => {
    unsubscribe(CHANNELS.drain, onDrain);
    uninstall();
    for (const backend of [one, two]) {
      backend.server.closeAllConnections();
      backend.server.close();
    }
    await dns.close();
  });
  beforeEach(async () => {
    agent = new http.Agent({ keepAlive: true });
    drains.length = 0;
    installedResolver()?.clear();
    publish(one, two);
  });
  afterEach(() => agent.destroy());

  test('each request chooses an endpoint; the agent keeps one pool of sockets per endpoint', async () => {
    await get(`http://${NAME}/`, agent); // cold: the answer is fetched
    const answers = new Set<string>();
    for (let i = 0; i < 40; i++) answers.add(await get(`http://${NAME}/`, agent));
    assert.deepEqual([...answers].sort(), ['one', 'two']);
    const keys = Object.keys(agent.freeSockets).filter((key) => key.includes('|'));
    assert.deepEqual(keys.sort(), [
      `${NAME}:80:|one.host.kw:${one.port}`,
      `${NAME}:80:|two.host.kw:${two.port}`,
    ]);
    // Sequential requests reuse their endpoint's socket: one connection per endpoint (the
    // first request's, made while the cache was cold, closed after its response).
    const stats = pooledSockets().filter((s) => s.name === NAME);
    assert.deepEqual(stats.map((s) => `${s.target} ${s.sockets}`).sort(), [
      'one.host.kw 1',
      'two.host.kw 1',
    ]);
  });

  test("an agent that never reuses a socket keeps Node's pool keys, its endpoint chosen per connection", async () => {
    await installedResolver()?.resolve(NAME); // warm: a pooling agent's requests would choose
    /** While its requests are under way, the agent's pool keys and the sockets svcdisc counts
     * as pooled; and the backends that answered. */
    const requests = async (by: http.Agent) => {
      const keys = new Set<string>();
      const pooled = new Set<number>();
      const answers = new Set<string>();
      const seen = () => {
        for (const key of Object.keys(by.sockets)) keys.add(key);
        pooled.add(pooledSockets().filter((s) => s.name === NAME).length);
      };
      for (let i = 0; i < 20; i++) answers.add(await get(`http://${NAME}/`, by, seen));
      by.destroy();
      return { keys: [...keys].sort(), pooled: [...pooled], answers: [...answers].sort() };
    };
    // Neither keepAlive nor a finite maxSockets: what `agent: false` makes for each request.
    assert.deepEqual(await requests(new http.Agent()), {
      keys: [`${NAME}:80:`],
      pooled: [0],
      answers: ['one', 'two'],
    });
    // With maxSockets Node reuses a socket for a queued request: the pool is per endpoint.
    assert.deepEqual(await requests(new http.Agent({ maxSockets: 1 })), {
      keys: [`${NAME}:80:|one.host.kw:${one.port}`, `${NAME}:80:|two.host.kw:${two.port}`],
      pooled: [1],
      answers: ['one', 'two'],
    });
  });

  test("requests to one endpoint under different pool keys of Node's keep separate pools", async () => {
    publish(one);
    await installedResolver()?.resolve(NAME);
    // Node's key names the connect options (the port asked for, the local address, the
    // family, the host as written): a socket bound to a local address is never reused for a
    // request that asked for none, whatever endpoint both chose. Requests that differ from the
    // one before in one of them alone: the pool key follows each (agent.ts compares them, not
    // Node's key).
    const at = `|one.host.kw:${one.port}`;
    /** Each request: its URL and options, and the pool key of Node's that its socket is in. */
    const variants: [string, http.RequestOptions, string][] = [
      [`http://${NAME}/`, { localAddress: '127.0.0.1' }, `${NAME}:80:127.0.0.1`],
      [`http://${NAME}/`, {}, `${NAME}:80:`],
      [`http://${NAME}/`, { hostname: NAME.toUpperCase() }, `${NAME.toUpperCase()}:80:`],
      [`http://${NAME}/`, {}, `${NAME}:80:`],
      [`http://${NAME}/`, { family: 4 }, `${NAME}:80::4`],
      [`http://${NAME}:8080/`, { family: 4 }, `${NAME}:8080::4`],
    ];
    const sockets: [net.Socket, string][] = [];
    for (let i = 0; i < 12; i++) {
      const [url, options, key] = variants[i % variants.length] as (typeof variants)[0];
      await new Promise<void>((resolve, reject) => {
        http
          .get(url, { agent, ...options }, (res) => {
            sockets.push([res.socket, key + at]);
            res.resume().on('end', resolve);
          })
          .on('error', reject);
      });
    }
    await new Promise((resolve) => setImmediate(resolve));
    const keyOf = (socket: net.Socket) =>
      Object.keys(agent.freeSockets).find((key) => agent.freeSockets[key]?.includes(socket));
    assert.deepEqual(
      sockets.map(([socket]) => keyOf(socket)),
      sockets.map(([, key]) => key),
    );
    assert.equal(Object.keys(agent.freeSockets).length, 5);
  });

  test('an endpoint that leaves: its idle sockets are closed at once, and a drain message says so', async () => {
    for (let i = 0; i < 40; i++) await get(`http://${NAME}/`, agent);
    assert.ok(two.open.size > 0);
    publish(one);
    await requery();
    await until(() => two.open.size === 0, "two's idle connections closed");
    assert.equal(drains.length, 1, JSON.stringify(drains));
    assert.equal(drains[0]?.target, 'two.host.kw');
    assert.equal(drains[0]?.port, two.port);
    assert.ok((drains[0]?.sockets ?? 0) >= 1);
    assert.deepEqual(
      pooledSockets()
        .filter((s) => s.name === NAME)
        .map((s) => s.target),
      ['one.host.kw'],
    );
    for (let i = 0; i < 20; i++) assert.equal(await get(`http://${NAME}/`, agent), 'one');
  });

  test('a busy socket of an endpoint that leaves finishes its response, then is not reused', async () => {
    publish(two);
    await installedResolver()?.resolve(NAME);
    await get(`http://${NAME}/`, agent);
    const slow = get(`http://${NAME}/slow`, agent);
    await until(() => two.slow === 1, 'the slow request under way');
    publish(one);
    await requery();
    assert.equal(two.open.size, 1, 'the busy socket is not closed under its request');
    assert.equal(await slow, 'two');
    await until(() => two.open.size === 0, "two's socket closed after its response");
    assert.equal(await get(`http://${NAME}/`, agent), 'one');
  });

  test("an agent's first socket, connected before any answer was cached, is not kept: the next request chooses its endpoint's pool", async () => {
    // The cache is cold when the agent names the pool: no endpoint is chosen for the request,
    // its socket (under Node's pool key) reaches two through a connection's own choice, and
    // the answer is cached by the time the response ends. No later request uses that key.
    publish(two);
    assert.equal(await get(`http://${NAME}/`, agent), 'two');
    await until(() => two.open.size === 0, "the first request's socket closed");
    assert.deepEqual(Object.keys(agent.freeSockets), []);
    assert.equal(await get(`http://${NAME}/`, agent), 'two');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(Object.keys(agent.freeSockets), [`${NAME}:80:|two.host.kw:${two.port}`]);
    assert.equal(two.open.size, 1);
  });

  test('connections not pooled by an agent are left alone by a drain', async () => {
    publish(two);
    const socket = net.connect(80, NAME);
    await new Promise((resolve) => socket.once('connect', resolve));
    publish(one);
    await requery();
    assert.equal(socket.destroyed, false);
    socket.write(`GET / HTTP/1.1\r\nHost: ${NAME}\r\nConnection: close\r\n\r\n`);
    const reply = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk;
      });
      socket.on('end', () => resolve(text));
    });
    assert.match(reply, /two$/);
  });

  test('fetch: a pool per endpoint, closed when its endpoint leaves', async () => {
    publish(two);
    const ask = async () => (await fetch(`http://${NAME}/`)).text();
    // undici opens a second connection on the second request, with or without svcdisc.
    for (let i = 0; i < 3; i++) assert.equal(await ask(), 'two');
    const accepted = two.accepted;
    for (let i = 0; i < 3; i++) assert.equal(await ask(), 'two');
    assert.equal(two.accepted, accepted, 'the connections are reused');
    publish(one);
    await requery();
    await until(() => two.open.size === 0, "two's idle connection closed");
    assert.equal(await (await fetch(`http://${NAME}/`)).text(), 'one');
    assert.ok(drains.some((d) => d.target === 'two.host.kw'));
  });

  test('fetch: requests to two services and to an address, interleaved, each reach their own', async () => {
    // pool.prod.kw on two, other.prod.kw on one: a request given another origin's endpoint
    // Agent would be connected to that origin's endpoint.
    publish(two);
    dns.records = [...dns.records, srv('other.prod.kw', 'one.host.kw', one.port, 10, 50, 1)];
    const ask = async (url: string) => (await fetch(url)).text();
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      seen.push(await ask(`http://${NAME}/`), await ask('http://other.prod.kw/'));
      seen.push(await ask(`http://127.0.0.1:${two.port}/`), await ask(`http://${NAME}/`));
    }
    assert.deepEqual(seen, Array(3).fill(['two', 'one', 'two', 'two']).flat());
  });

  test('a pooled request whose endpoint refuses fails over; that socket is not pooled under the wrong endpoint', async () => {
    const dead = await closedPort();
    dns.records = [
      srv(NAME, 'dead.host.kw', dead, 10, 50, 1),
      srv(NAME, 'two.host.kw', two.port, 20, 50, 1),
      a('dead.host.kw', '127.0.0.1', 1),
      a('two.host.kw', '127.0.0.1', 1),
    ];
    await installedResolver()?.resolve(NAME);
    const accepted = two.accepted;
    // The choice is dead (priority 10): it fails over to two, and that socket is closed after
    // the response. dead is ejected, so the next requests choose two and pool their socket.
    for (let i = 0; i < 4; i++) assert.equal(await get(`http://${NAME}/`, agent), 'two');
    assert.equal(two.accepted - accepted, 2);
  });
});

test("uninstall() closes the endpoints' fetch pools: their idle connections do not wait for the server's keep-alive timeout", async () => {
  const backend = await startBackend('one');
  const dns = await FixtureServer.start({
    records: [srv(NAME, 'one.host.kw', backend.port, 10, 50), a('one.host.kw', '127.0.0.1')],
  });
  try {
    install({ nameservers: [dns.nameserver], domains: ['kw'] });
    const ask = () => fetch(`http://${NAME}/`).then((response) => response.text());
    assert.deepEqual(await Promise.all([ask(), ask()]), ['one', 'one']);
    assert.ok(backend.open.size > 0, 'kept alive');
    uninstall();
    await until(() => backend.open.size === 0, 'the idle connections closed', 1000);
  } finally {
    uninstall();
    backend.server.closeAllConnections();
    backend.server.close();
    await dns.close();
  }
});

test("the preload adopts fetch's Agent at the first fetch of a service name, after fetches elsewhere: its connections pooled as an origin's", async () => {
  const [one, two] = await Promise.all([startBackend('one'), startBackend('two')]);
  const dns = await FixtureServer.start({
    records: [srv(NAME, 'two.host.kw', two.port, 10, 50), a('two.host.kw', '127.0.0.1')],
  });
  try {
    // Five requests to one by address, then five to the service (two alone): adopted at its
    // first request, the service's connections are reused as one's are; adopted only at its
    // first connect, that first request's connection would stay in the origin's own pool.
    const script = `(async () => {
      const seen = [];
      for (let i = 0; i < 5; i++) seen.push(await (await fetch('http://127.0.0.1:${one.port}/')).text());
      for (let i = 0; i < 5; i++) seen.push(await (await fetch('http://${NAME}/')).text());
      console.log(JSON.stringify(seen));
    })()`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-r', './register.cjs', '-e', script],
      { cwd: ROOT, env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: dns.nameserver } },
    );
    assert.deepEqual(JSON.parse(stdout), [...Array(5).fill('one'), ...Array(5).fill('two')]);
    assert.equal(two.accepted, one.accepted, 'as many connections as to an address');
  } finally {
    for (const backend of [one, two]) {
      backend.server.closeAllConnections();
      backend.server.close();
    }
    await dns.close();
  }
});

test("the global agents' first sockets to a name, made before its answer was cached, are not kept idle under Node's pool key", async () => {
  // Four requests at once, then four more. The first four find no answer cached (the first
  // also patches http.Agent as it connects): their agent pools their sockets under its own
  // key, which the next requests, choosing endpoints, never use. Kept, they would idle until a
  // timeout (8 connections open for 4 requests at a time); an answer with TTL 0, never cached,
  // keeps every request under Node's key, and those sockets are reused. Over http and https
  // (whose connect options reach svcdisc through tls).
  const backends = { http: await startBackend('one'), https: await startBackend('one', true) };
  const dns = await FixtureServer.start();
  /** The global agent's idle sockets per pool key after the two rounds; the connections. */
  const rounds = async (scheme: 'http' | 'https', ttl: number) => {
    const backend = backends[scheme];
    dns.records = [
      srv(NAME, 'one.host.kw', backend.port, 10, 50, ttl),
      a('one.host.kw', '127.0.0.1', ttl),
    ];
    backend.accepted = 0;
    const script = `
      const client = require('${scheme}');
      const get = () => new Promise((resolve, reject) => {
        client.get('${scheme}://${NAME}/', (res) => res.resume().on('end', resolve)).on('error', reject);
      });
      const settled = () => new Promise((resolve) => setTimeout(resolve, 20));
      (async () => {
        for (let round = 0; round < 2; round++) {
          await Promise.all([get(), get(), get(), get()]);
          await settled();
        }
        const idle = {};
        for (const [key, sockets] of Object.entries(client.globalAgent.freeSockets)) {
          idle[key] = sockets.length;
        }
        console.log(JSON.stringify(idle));
        client.globalAgent.destroy();
      })();`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-r', './register.cjs', '-e', script],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          SVCDISC_NAMESERVERS: dns.nameserver,
          NODE_EXTRA_CA_CERTS: join(TLS, 'ca.crt'),
        },
      },
    );
    // Each key less its trailing colons: https.Agent appends its TLS options, empty here.
    const idle = Object.entries(JSON.parse(stdout) as Record<string, number>).map(
      ([key, sockets]) => [key.replace(/:+$/, ''), sockets],
    );
    return { idle: Object.fromEntries(idle), accepted: backend.accepted };
  };
  try {
    for (const [scheme, defaultPort] of [
      ['http', 80],
      ['https', 443],
    ] as const) {
      assert.deepEqual(await rounds(scheme, 30), {
        idle: { [`${NAME}:${defaultPort}:|one.host.kw:${backends[scheme].port}`]: 4 },
        accepted: 8,
      });
      assert.deepEqual(await rounds(scheme, 0), {
        idle: { [`${NAME}:${defaultPort}`]: 4 },
        accepted: 4,
      });
    }
  } finally {
    for (const { server } of Object.values(backends)) {
      server.closeAllConnections();
      server.close();
    }
    await dns.close();
  }
});

test("a program's own http.Agent getName that reads more than Node's: its keys still name the pools", async () => {
  // agent.ts keeps an endpoint's pool key for requests with the same fields Node's getName
  // reads; a getName put in its place that reads another option (\`tenant\`) or the agent
  // itself (\`label\`) makes it compare the keys themselves, so requests that differ in that
  // alone keep separate pools.
  const backend = await startBackend('one');
  const dns = await FixtureServer.start({
    records: [srv(NAME, 'one.host.kw', backend.port, 10, 50), a('one.host.kw', '127.0.0.1')],
  });
  /** A program whose getName appends `suffix`: the pool key of each request (the first one,
   * which patches http.Agent as it connects, left out), each made with `{ tenant }` through
   * the agent labelled `label`. */
  const keys = async (suffix: string, requests: [string, string][]) => {
    const script = `
      const http = require('http');
      const { getName } = http.Agent.prototype;
      http.Agent.prototype.getName = function (options) {
        return getName.call(this, options) + ${suffix};
      };
      const agents = {};
      for (const label of ['x', 'y']) {
        agents[label] = Object.assign(new http.Agent({ keepAlive: true }), { label });
      }
      const keyOf = (agent, socket) =>
        Object.keys(agent.freeSockets).find((key) => agent.freeSockets[key].includes(socket));
      (async () => {
        await require('./dist/index.js').installedResolver().resolve('${NAME}');
        const keys = [];
        for (const [label, tenant] of ${JSON.stringify([['x', 'first'], ...requests])}) {
          const agent = agents[label];
          const socket = await new Promise((resolve, reject) => {
            http.get('http://${NAME}/', { agent, tenant }, (res) => {
              const { socket } = res;
              res.resume().on('end', () => resolve(socket));
            }).on('error', reject);
          });
          await new Promise((resolve) => setImmediate(resolve));
          keys.push(keyOf(agent, socket));
        }
        for (const agent of Object.values(agents)) agent.destroy();
        console.log(JSON.stringify(keys.slice(1)));
      })();`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-r', './register.cjs', '-e', script],
      { cwd: ROOT, env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: dns.nameserver } },
    );
    return JSON.parse(stdout) as string[];
  };
  const key = (suffix: string) => `${NAME}:80::${suffix}|one.host.kw:${backend.port}`;
  /** A getName's suffix, two requests ([agent, tenant]) that differ in what it reads, and the
   * suffix each one's key gets. */
  const programs: [string, [string, string][], string[]][] = [
    // Two tenants through one agent, then one tenant through two agents.
    [
      "':' + options.tenant",
      [
        ['x', 'a'],
        ['x', 'b'],
      ],
      ['a', 'b'],
    ],
    [
      "':' + this.label",
      [
        ['x', 'a'],
        ['y', 'a'],
      ],
      ['x', 'y'],
    ],
  ];
  try {
    // Each pair of requests alternating, twice.
    for (const [suffix, requests, suffixes] of programs) {
      assert.deepEqual(
        await keys(suffix, [...requests, ...requests]),
        [...suffixes, ...suffixes].map(key),
      );
    }
  } finally {
    backend.server.closeAllConnections();
    backend.server.close();
    await dns.close();
  }
});

test('the preload loads neither http nor undici for a program that does not', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '-r',
      './register.cjs',
      '-e',
      'console.log(JSON.stringify(process.moduleLoadList.filter((m) => /undici|NativeModule _?https?\\b/.test(m))))',
    ],
    { cwd: ROOT, env: { PATH: process.env.PATH } },
  );
  assert.deepEqual(JSON.parse(stdout), []);
});

describe('names outside the domains: pooled exactly as without svcdisc', () => {
  let dns: FixtureServer;
  let backend: Backend;
  before(async () => {
    backend = await startBackend('service');
    dns = await FixtureServer.start({
      records: [srv('svc.prod.kw', 'svc.host.kw', backend.port), a('svc.host.kw', '127.0.0.1')],
    });
  });
  after(async () => {
    backend.server.close();
    await dns.close();
  });

  test('127.0.0.1:PORT and localhost:PORT: the same pool keys, reused sockets, connections and headers', async () => {
    const run = async (args: string[], env: Record<string, string> = {}) => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [...args, 'test/pools/passthrough.cjs'],
        { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, timeout: 30_000 },
      );
      return JSON.parse(stdout) as { same: unknown; adopted: boolean };
    };
    const without = await run([]);
    const withPreload = await run(['-r', './register.cjs'], {
      SVCDISC_NAMESERVERS: dns.nameserver,
      PASSTHROUGH_SERVICE: 'svc.prod.kw',
    });
    assert.equal(without.adopted, false);
    assert.equal(withPreload.adopted, true, 'the pools were adopted');
    assert.deepEqual(withPreload.same, without.same);
  });
});
