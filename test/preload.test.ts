// The patches installed in this process: choice, failover, ejection, timeouts, errors, and what
// is left alone. The client matrix (every library, -r, --import, ESM) is in matrix.test.ts.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import dns from 'node:dns';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import stream from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { AlreadyInstalledError, ServiceConnectError } from '../src/errors.js';
import { CHANNELS, type ConnectMessage } from '../src/events.js';
import { install, uninstall } from '../src/patch/install.js';
import { RIDES_NODES_TICK } from '../src/patch/service-connect.js';
import { FixtureServer } from './fixture-server.js';
import { a, aaaa, assertSplit, closedPort, inOrder, srv } from './records.js';

const TLS = join(__dirname, '..', 'fixtures', 'tls');
const CA = readFileSync(join(TLS, 'ca.crt'));
const tlsFiles = (name: string) => ({
  cert: readFileSync(join(TLS, `${name}.crt`)),
  key: readFileSync(join(TLS, `${name}.key`)),
});

/** An HTTP server that answers with its label and counts the connections it accepted. */
interface Backend {
  label: string;
  port: number;
  connections: number;
  server: http.Server;
}

async function startBackend(label: string, secure?: 'prod' | 'other'): Promise<Backend> {
  const handler: http.RequestListener = (_req, res) => res.end(label);
  const server = secure
    ? https.createServer(tlsFiles(secure), handler)
    : http.createServer(handler);
  const backend: Backend = { label, port: 0, connections: 0, server };
  server.on(secure ? 'secureConnection' : 'connection', () => backend.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as net.AddressInfo).port;
  return backend;
}

/** GET with a fresh connection each time; resolves with the body. */
function get(url: string, options: https.RequestOptions = {}): Promise<string> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    client
      .get(url, { agent: false, ...options }, (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** The 'svcdisc:connect' messages published while `run` runs. */
async function connectsDuring(run: () => Promise<unknown>): Promise<ConnectMessage[]> {
  const seen: ConnectMessage[] = [];
  const listener = (message: unknown) => seen.push(message as ConnectMessage);
  subscribe(CHANNELS.connect, listener);
  try {
    await run();
  } finally {
    unsubscribe(CHANNELS.connect, listener);
  }
  return seen;
}

/** Connects with `options` twice, the name cold, then warm; `check` gets each connected socket
 * and its 'lookup' event's arguments. The socket is destroyed whatever the check found. */
async function coldThenWarm(
  options: net.NetConnectOpts,
  check: (socket: net.Socket, lookup: unknown[], state: string) => void,
): Promise<void> {
  for (const state of ['cold', 'warm']) {
    const socket = net.connect(options);
    try {
      const lookup = new Promise<unknown[]>((resolve) =>
        socket.once('lookup', (...args) => resolve(args)),
      );
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      check(socket, await lookup, state);
    } finally {
      socket.destroy();
    }
  }
}

describe('the preload, installed in this process', () => {
  let dnsServer: FixtureServer;
  let one: Backend;
  let two: Backend;
  let secure: Backend;
  let wrongCert: Backend;
  let deadPort: number;
  let blackhole: ChildProcess;
  let blackholePort: number;

  before(async () => {
    [one, two, secure, wrongCert] = await Promise.all([
      startBackend('one'),
      startBackend('two'),
      startBackend('secure', 'prod'),
      startBackend('wrong-cert', 'other'),
    ]);
    deadPort = await closedPort();
    blackhole = spawn('python3', [join(__dirname, 'blackhole.py')], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    blackholePort = Number(
      await new Promise<string>((resolve) =>
        blackhole.stdout?.once('data', (d) => resolve(String(d))),
      ),
    );
    dnsServer = await FixtureServer.start();
    install({ nameservers: [dnsServer.nameserver], connectTimeoutMs: 300, domains: ['kw'] });
  });
  after(async () => {
    uninstall();
    blackhole.stdin?.end();
    for (const backend of [one, two, secure, wrongCert]) backend.server.close();
    await dnsServer.close();
  });
  beforeEach(() => {
    dnsServer.queries.length = 0;
    dnsServer.behave = () => undefined;
    dnsServer.records = [
      srv('user.prod.kw', 'one.host.kw', one.port, 10, 50),
      srv('user.prod.kw', 'two.host.kw', two.port, 10, 50),
      a('one.host.kw', '127.0.0.1'),
      a('two.host.kw', '127.0.0.1'),
    ];
  });

  test('a second install is refused until uninstall', () => {
    assert.throws(() => install(), AlreadyInstalledError);
    assert.throws(() => install(), { code: 'ERR_SVCDISC_INSTALLED' });
    // Another copy of svcdisc in the process (the built package beside these sources) sees it.
    const other = require('../dist/patch/install.js') as typeof import('../src/patch/install.js');
    assert.notEqual(other.install, install);
    assert.throws(() => other.install(), AlreadyInstalledError);
    assert.equal(other.uninstall(), false);
  });

  test('a URL with a wrong port reaches an SRV endpoint at its port', async () => {
    const body = await get('http://user.prod.kw:1/');
    assert.ok(['one', 'two'].includes(body), body);
  });

  test('weights are honoured over 2000 new connections (chi-square)', async () => {
    dnsServer.records = [
      srv('weighted.prod.kw', 'one.host.kw', one.port, 10, 80),
      srv('weighted.prod.kw', 'two.host.kw', two.port, 10, 20),
      a('one.host.kw', '127.0.0.1'),
      a('two.host.kw', '127.0.0.1'),
    ];
    const connect = async () => {
      const counts = { one: 0, two: 0 };
      for (let batch = 0; batch < 20; batch++) {
        const bodies = await Promise.all(
          Array.from({ length: 100 }, () => get('http://weighted.prod.kw/')),
        );
        for (const body of bodies) counts[body as 'one' | 'two']++;
      }
      return [counts.one, counts.two];
    };
    await assertSplit(connect, [0.8, 0.2], 'one and two');
    assert.equal(dnsServer.count('weighted.prod.kw', 'SRV'), 1); // the cache served the rest
  });

  test('priority: the backup is used only when every endpoint of the first priority fails', async () => {
    dnsServer.records = inOrder(
      'backup.prod.kw',
      ['dead.host.kw', deadPort],
      ['two.host.kw', two.port],
    );
    for (let i = 0; i < 5; i++) assert.equal(await get('http://backup.prod.kw/'), 'two');
  });

  test('a refused endpoint fails over with no request failing, then is ejected and skipped', async () => {
    dnsServer.records = inOrder(
      'flaky.prod.kw',
      ['flaky-dead.host.kw', deadPort],
      ['one.host.kw', one.port],
    );
    const first = await connectsDuring(async () =>
      assert.equal(await get('http://flaky.prod.kw/'), 'one'),
    );
    // The dead endpoint (priority 10) is tried first; after its failure it is ejected: the
    // next connections go straight to the healthy one, though its priority is lower.
    const later = await connectsDuring(async () => {
      for (let i = 0; i < 20; i++) assert.equal(await get('http://flaky.prod.kw/'), 'one');
    });
    assert.deepEqual(
      first.map((m) => m.port),
      [deadPort, one.port],
    );
    assert.deepEqual(new Set(later.map((m) => m.port)), new Set([one.port]));
  });

  test("one success clears an ejected endpoint's record: its priority holds again at once", async () => {
    // A port that refuses now and listens later, with its own target (records are per endpoint).
    const port = await closedPort();
    dnsServer.records = [
      srv('revived.prod.kw', 'revived.host.kw', port, 10, 1),
      srv('revived.prod.kw', 'two.host.kw', two.port, 20, 1),
      // The same endpoint alone under another name: tried though it is ejected.
      srv('only-revived.prod.kw', 'revived.host.kw', port, 10, 1),
      a('revived.host.kw', '127.0.0.1'),
      a('two.host.kw', '127.0.0.1'),
    ];
    assert.equal(await get('http://revived.prod.kw/'), 'two'); // refused: ejected for 1 s
    // Refused again, alone: ejected for 2 s, time enough for the steps below on a busy machine.
    await assert.rejects(get('http://only-revived.prod.kw/'), { code: 'ECONNREFUSED' });
    const revived = http.createServer((_req, res) => res.end('revived'));
    await new Promise<void>((resolve) => revived.listen(port, '127.0.0.1', resolve));
    try {
      // Ejected: priority 20 is preferred while the cool-down runs.
      assert.equal(await get('http://revived.prod.kw/'), 'two');
      // A connect to it succeeds (it is the only endpoint of this name): the record is cleared.
      assert.equal(await get('http://only-revived.prod.kw/'), 'revived');
      assert.equal(await get('http://revived.prod.kw/'), 'revived');
    } finally {
      revived.close();
    }
  });

  test("a connect error the program gives destroy() once connected is the program's: no failover", {
    timeout: 5000, // a failover would connect again: no 'error' would come
  }, async () => {
    // A proxy passing on its upstream's failure, say. Cold, then warm.
    dnsServer.records.push(
      srv('proxied.prod.kw', 'one.host.kw', one.port, 10, 1),
      srv('proxied.prod.kw', 'two.host.kw', two.port, 10, 1),
    );
    for (const state of ['cold', 'warm']) {
      const socket = net.connect({ host: 'proxied.prod.kw', port: 80 });
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      const upstream = Object.assign(new Error('connect ECONNREFUSED 127.0.0.9:1'), {
        code: 'ECONNREFUSED',
        syscall: 'connect',
        address: '127.0.0.9',
        port: 1,
      });
      const connects = await connectsDuring(async () => {
        const closed = new Promise((resolve) => socket.once('close', resolve));
        const error = new Promise((resolve) => socket.once('error', resolve));
        socket.destroy(upstream);
        assert.equal(await error, upstream, state);
        await closed;
      });
      assert.deepEqual(connects, [], `${state}: no other endpoint was tried`);
      assert.equal(socket.destroyed, true);
    }
  });

  test('every address of an endpoint is tried before the next endpoint, as happy eyeballs does', async () => {
    dnsServer.records = [
      // one's backend listens on 127.0.0.1 only: ::1 and 127.0.0.2 refuse at its port.
      srv('multi.prod.kw', 'multi.host.kw', one.port, 10, 1),
      srv('multi.prod.kw', 'two.host.kw', two.port, 20, 1),
      aaaa('multi.host.kw', '::1'),
      a('multi.host.kw', '127.0.0.2'),
      a('multi.host.kw', '127.0.0.1'),
      a('two.host.kw', '127.0.0.1'),
    ];
    const connects = await connectsDuring(async () =>
      assert.equal(await get('http://multi.prod.kw/'), 'one'),
    );
    // ::1, then 127.0.0.2 (families alternate), then 127.0.0.1: three attempts, one endpoint.
    assert.deepEqual(
      connects.map((m) => [m.target, m.attempt]),
      [
        ['multi.host.kw', 1],
        ['multi.host.kw', 1],
        ['multi.host.kw', 1],
      ],
    );
  });

  test('a socket whose class has a destroy() of its own, not calling the inherited one, fails over too', async () => {
    dnsServer.records = inOrder(
      'own-destroy.prod.kw',
      ['own-dead.host.kw', deadPort],
      ['one.host.kw', one.port],
    );
    // It passes net.Socket.prototype by: svcdisc must take the socket's own destroy.
    class OwnDestroy extends net.Socket {
      readonly calls: unknown[] = [];
      override destroy(error?: Error): this {
        this.calls.push(error);
        return stream.Duplex.prototype.destroy.call(this, error) as this;
      }
    }
    const socket = new OwnDestroy();
    const connects = await connectsDuring(async () => {
      socket.connect({ host: 'own-destroy.prod.kw', port: 80 });
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    });
    assert.deepEqual(
      connects.map((m) => m.port),
      [deadPort, one.port],
    );
    assert.equal(socket.remotePort, one.port);
    assert.deepEqual(socket.calls, [], "the failed attempt's destroy was svcdisc's");
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.destroy();
    await closed;
    assert.deepEqual(socket.calls, [undefined], "the program's destroy reached the class's");
  });

  test('a socket made on a net.BoundSocket fails over from the address it was bound to', {
    skip: !('BoundSocket' in net) && `this Node (${process.version}) has no net.BoundSocket`,
  }, async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const peer = new Promise<string>((resolve) =>
      server.once('connection', (socket) => {
        resolve(`${socket.remoteAddress}:${socket.remotePort}`);
        socket.destroy();
      }),
    );
    dnsServer.records = inOrder(
      'bound.prod.kw',
      ['bound-dead.host.kw', deadPort],
      ['bound.host.kw', port],
    );
    type Bound = { address(): net.AddressInfo };
    const { BoundSocket } = net as unknown as { BoundSocket: new (options: object) => Bound };
    const bound = new BoundSocket({ host: '127.0.0.2', port: 0 });
    const source = `127.0.0.2:${bound.address().port}`;
    const socket = new net.Socket({ handle: bound } as net.SocketConstructorOpts);
    try {
      const connects = await connectsDuring(
        () =>
          new Promise<void>((resolve, reject) => {
            socket.once('error', reject);
            socket.connect(80, 'bound.prod.kw', resolve);
          }),
      );
      assert.deepEqual(
        connects.map((m) => m.port),
        [deadPort, port],
        'the refused endpoint first, then the next',
      );
      assert.equal(`${socket.localAddress}:${socket.localPort}`, source);
      assert.equal(await peer, source);
    } finally {
      socket.destroy();
      server.close();
    }
  });

  test('a black-holed endpoint is given up after the connect timeout, and the next one is used', async () => {
    dnsServer.records = inOrder(
      'hole.prod.kw',
      ['hole.host.kw', blackholePort],
      ['two.host.kw', two.port],
    );
    const started = Date.now();
    assert.equal(await get('http://hole.prod.kw/'), 'two');
    assert.ok(Date.now() - started >= 250, 'the black hole was not tried first');
  });

  test('when every endpoint fails, the last error is emitted with each address:port tried', async () => {
    dnsServer.records = inOrder(
      'down.prod.kw',
      ['dead.host.kw', deadPort],
      ['hole.host.kw', blackholePort],
    );
    const tried = [`127.0.0.1:${deadPort}`, `127.0.0.1:${blackholePort}`];
    const error = await get('http://down.prod.kw/').catch((e: unknown) => e);
    assert.ok(error instanceof ServiceConnectError);
    assert.equal(error.code, 'ETIMEDOUT');
    assert.deepEqual(error.attempts, tried);
    // A new error: Node's error of each attempt is left as Node made it.
    const first = (error.cause as { cause?: unknown; attempts?: unknown } | undefined) ?? {};
    assert.equal((error.cause as NodeJS.ErrnoException).code, 'ETIMEDOUT');
    assert.equal(first.attempts, undefined);
    // Node's own record of a socket's attempts says the same (undici reports it).
    const socket = net.connect({ host: 'down.prod.kw', port: 80 });
    await new Promise((resolve) => socket.once('error', resolve));
    assert.deepEqual(
      (socket as { autoSelectFamilyAttemptedAddresses?: string[] })
        .autoSelectFamilyAttemptedAddresses,
      tried,
    );
  });

  test('NXDOMAIN reaches the socket as a Node-style ENOTFOUND naming the query', async () => {
    const socket = net.connect({ host: 'gone.prod.kw', port: 80 });
    const error = await new Promise<NodeJS.ErrnoException & { hostname?: string }>((resolve) =>
      socket.on('error', resolve),
    );
    assert.equal(error.code, 'ENOTFOUND');
    assert.equal(error.syscall, 'querySrv');
    assert.equal(error.hostname, 'gone.prod.kw');
    assert.match(error.message, /querySrv ENOTFOUND gone\.prod\.kw: no such name \(NXDOMAIN\)/);
    assert.equal(socket.destroyed, true);
  });

  test('a DNS failure reaches the socket as a Node-style error: SERVFAIL is ESERVFAIL', async () => {
    dnsServer.behave = () => ({ rcode: 'SERVFAIL' });
    const socket = net.connect({ host: 'broken.prod.kw', port: 80 });
    const error = await new Promise<NodeJS.ErrnoException>((resolve) =>
      socket.on('error', resolve),
    );
    assert.equal(error.code, 'ESERVFAIL');
    assert.equal(error.syscall, 'querySrv');
    assert.match(error.message, /^querySrv ESERVFAIL broken\.prod\.kw/);
  });

  test('each resolution, choice, failover and ejection is published on its diagnostics channel', async () => {
    // A target of its own: dead.host.kw is ejected already by the tests above.
    dnsServer.records = inOrder(
      'watched.prod.kw',
      ['watched-dead.host.kw', deadPort],
      ['one.host.kw', one.port],
    );
    const seen: [string, Record<string, unknown>][] = [];
    const listeners = Object.values(CHANNELS).map((name) => {
      const listener = (message: unknown) => seen.push([name, message as Record<string, unknown>]);
      subscribe(name, listener);
      return () => unsubscribe(name, listener);
    });
    try {
      assert.equal(await get('http://watched.prod.kw/'), 'one');
    } finally {
      for (const stop of listeners) stop();
    }
    const summary = seen.map(([name, m]) => [name, m.name, m.port ?? m.endpoints]);
    assert.deepEqual(summary, [
      ['svcdisc:resolve', 'watched.prod.kw', 2],
      ['svcdisc:connect', 'watched.prod.kw', deadPort],
      ['svcdisc:eject', 'watched.prod.kw', deadPort],
      ['svcdisc:failover', 'watched.prod.kw', deadPort],
      ['svcdisc:connect', 'watched.prod.kw', one.port],
    ]);
    // The whole 'connect' message of each attempt: the endpoint tried and its rank.
    assert.deepEqual(
      seen.filter(([name]) => name === 'svcdisc:connect').map(([, message]) => message),
      [
        { name: 'watched.prod.kw', target: 'watched-dead.host.kw', port: deadPort, attempt: 1 },
        { name: 'watched.prod.kw', target: 'one.host.kw', port: one.port, attempt: 2 },
      ],
    );
    const failover = seen.find(([name]) => name === 'svcdisc:failover')?.[1];
    assert.equal((failover?.error as NodeJS.ErrnoException | undefined)?.code, 'ECONNREFUSED');
    assert.equal(seen.find(([name]) => name === 'svcdisc:eject')?.[1].coolDownMs, 1000);
  });

  test('TLS verifies the certificate against the service name; a certificate for another name fails', async () => {
    dnsServer.records.push(
      srv('secure.prod.kw', 'one.host.kw', secure.port),
      srv('impostor.prod.kw', 'one.host.kw', wrongCert.port),
    );
    assert.equal(await get('https://secure.prod.kw/', { ca: CA }), 'secure');
    await assert.rejects(get('https://impostor.prod.kw/', { ca: CA }), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    assert.equal(wrongCert.connections, 0); // no handshake completed
  });

  test('destroy during resolution: nothing connects, no error, the socket stays closed', async () => {
    dnsServer.behave = () => ({ delayMs: 150 });
    const before = one.connections + two.connections;
    const socket = net.connect({ host: 'user.prod.kw', port: 80 });
    let errored = false;
    socket.on('error', () => {
      errored = true;
    });
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(socket.destroyed, true);
    assert.equal(errored, false);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(one.connections + two.connections, before);
  });

  test('data written before the connect is delivered, and end() waits for it', async () => {
    const echo = net.createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    dnsServer.records.push(
      srv('echo.prod.kw', 'one.host.kw', (echo.address() as net.AddressInfo).port),
    );
    try {
      const socket = net.connect(1, 'echo.prod.kw');
      socket.write('hello ');
      socket.end('world');
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk;
      });
      await new Promise((resolve) => socket.on('close', resolve));
      assert.equal(received, 'hello world');
    } finally {
      echo.close();
    }
  });

  test('a closed socket can connect again', async () => {
    const socket = new net.Socket();
    await new Promise<void>((resolve) => socket.connect(1, 'user.prod.kw', resolve));
    socket.destroy();
    await new Promise((resolve) => socket.once('close', resolve));
    await new Promise<void>((resolve) => socket.connect(1, 'user.prod.kw', resolve));
    assert.ok([one.port, two.port].includes(socket.remotePort ?? 0));
    socket.destroy();
  });

  test("a destroy() taken from a socket during its connect destroys whichever socket it is called on, as Node's", async () => {
    const socket = net.connect(1, 'user.prod.kw');
    const taken = socket.destroy;
    await new Promise((resolve) => socket.once('connect', resolve));
    taken.call(socket);
    assert.equal(socket.destroyed, true);
    // Called on other sockets once that connect is over: each one's own destroy.
    const plain = net.connect(one.port, '127.0.0.1');
    await new Promise((resolve) => plain.once('connect', resolve));
    const failed = new Promise((resolve) => plain.once('error', resolve));
    taken.call(plain, new Error('the program gave up'));
    assert.equal(((await failed) as Error).message, 'the program gave up');
    assert.equal(plain.destroyed, true);
  });

  test('a warm connect promotes no more to the old generation than a connect by address', async () => {
    // A destroy() closure per intercepted socket kept each connection's objects alive through
    // V8's young-generation collections: 0.5-1.4 KB a connect promoted on Node 20 to 26
    // (bench/README.md, the fortieth pass). In a child: gc() needs --expose-gc.
    const script = `
      const net = require('net'), v8 = require('v8');
      const connect = (host, port) => new Promise((resolve, reject) => {
        const s = net.connect(port, host, () => { s.destroy(); resolve(); });
        s.on('error', reject);
      });
      const old = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
      async function promoted(host, port) {
        gc();
        const before = old();
        for (let i = 0; i < 1000; i++) {
          await connect(host, port);
          if (i % 20 === 19) gc({ type: 'minor' });
        }
        return (old() - before) / 1000;
      }
      (async () => {
        for (let i = 0; i < 200; i++) { await connect('user.prod.kw', 1); await connect('127.0.0.1', ${one.port}); }
        const bytes = { address: 0, name: 0 };
        for (let i = 0; i < 2; i++) {
          bytes.address += await promoted('127.0.0.1', ${one.port}) / 2;
          bytes.name += await promoted('user.prod.kw', 1) / 2;
        }
        console.log(JSON.stringify(bytes));
      })();`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', '-r', join(__dirname, '..', 'register.cjs'), '-e', script],
      { env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: dnsServer.nameserver } },
    );
    const bytes = JSON.parse(stdout) as { address: number; name: number };
    // Without the closure: within -300 to +60 bytes of the connect by address on this machine.
    assert.ok(bytes.name < bytes.address + 250, `bytes promoted a connect: ${stdout}`);
  });

  test("Node's 'lookup' event is emitted and the caller's options are not changed", async () => {
    const options = { host: 'user.prod.kw', port: 1 };
    const socket = net.connect(options);
    const lookup = await new Promise<unknown[]>((resolve) =>
      socket.once('lookup', (...args) => resolve(args)),
    );
    await new Promise((resolve) => socket.once('connect', resolve));
    assert.deepEqual(lookup, [null, '127.0.0.1', 4, 'user.prod.kw']);
    assert.deepEqual(options, { host: 'user.prod.kw', port: 1 });
    socket.destroy();
  });

  test("a warm connect's 'lookup' comes after connect() returns, in the tick of Node's attempt, before it", async () => {
    const warmUp = net.connect(1, 'user.prod.kw');
    await new Promise((resolve) => warmUp.once('connect', resolve));
    warmUp.destroy();
    // A program's own process.nextTick (as an APM agent wraps it), counting the ticks asked for
    // inside connect(): Node's attempt's alone, which the 'lookup' event rides on from Node 24
    // on; before, the event's own too.
    const nodeTick = process.nextTick;
    let ticks = 0;
    const counting = function (this: unknown, ...args: Parameters<typeof process.nextTick>) {
      ticks++;
      return nodeTick.apply(this, args);
    } as typeof process.nextTick;
    const events: string[] = [];
    process.nextTick = counting;
    let socket: net.Socket;
    try {
      socket = net.connect(1, 'user.prod.kw', () => events.push('connect'));
      events.push(`returned after ${ticks} tick`);
      assert.equal(process.nextTick, counting, "the program's process.nextTick is in place");
    } finally {
      process.nextTick = nodeTick;
    }
    socket.once('lookup', (_error, address, family, host) =>
      events.push(`lookup ${address} ${family} ${host}`),
    );
    socket.once('connectionAttempt', () => events.push('attempt'));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.destroy();
    assert.deepEqual(events, [
      `returned after ${RIDES_NODES_TICK ? 1 : 2} tick`,
      'lookup 127.0.0.1 4 user.prod.kw',
      'attempt',
      'connect',
    ]);
  });

  test("a warm connect that a 'lookup' listener destroys makes no connection attempt", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    /** The client port of the next connection the server accepts. */
    const accepted = () =>
      new Promise<number | undefined>((resolve) =>
        server.once('connection', (socket) => {
          resolve(socket.remotePort);
          socket.destroy();
        }),
      );
    dnsServer.records.push(srv('stopped.prod.kw', 'one.host.kw', port));
    try {
      const warmUp = net.connect(1, 'stopped.prod.kw');
      const first = accepted();
      await new Promise((resolve) => warmUp.once('connect', resolve));
      assert.equal(await first, warmUp.localPort);
      warmUp.destroy();
      const events: string[] = [];
      const socket = net.connect(1, 'stopped.prod.kw');
      socket.once('lookup', () => {
        events.push('lookup');
        socket.destroy();
      });
      socket.once('connectionAttempt', () => events.push('attempt'));
      socket.once('connect', () => events.push('connect'));
      socket.once('error', (error) => events.push(`error ${error.message}`));
      await new Promise((resolve) => socket.once('close', resolve));
      // The next connection the server accepts is one by address made after: none came before.
      const next = accepted();
      const probe = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => probe.once('connect', resolve));
      assert.equal(await next, probe.localPort);
      probe.destroy();
      assert.deepEqual(events, ['lookup']);
    } finally {
      server.close();
    }
  });

  test("with a process.nextTick that cannot be replaced, a warm connect emits 'lookup' and connects", async () => {
    const warmUp = net.connect(1, 'user.prod.kw');
    await new Promise((resolve) => warmUp.once('connect', resolve));
    warmUp.destroy();
    const descriptor = Object.getOwnPropertyDescriptor(process, 'nextTick') as PropertyDescriptor;
    Object.defineProperty(process, 'nextTick', { ...descriptor, writable: false });
    try {
      const socket = net.connect(1, 'user.prod.kw');
      const lookup = new Promise<unknown[]>((resolve) =>
        socket.once('lookup', (...args) => resolve(args)),
      );
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      socket.destroy();
      assert.deepEqual(await lookup, [null, '127.0.0.1', 4, 'user.prod.kw']);
      assert.equal(process.nextTick, descriptor.value);
    } finally {
      Object.defineProperty(process, 'nextTick', descriptor);
    }
  });

  test("the program's own lookup option is not asked for a service name, cold or warm", async () => {
    dnsServer.records.push(srv('own-lookup.prod.kw', 'one.host.kw', one.port));
    const asked: string[] = [];
    const options = {
      host: 'own-lookup.prod.kw',
      port: 1,
      lookup: ((hostname: string) => asked.push(hostname)) as unknown as net.LookupFunction,
    };
    await coldThenWarm(options, (socket, lookup, state) => {
      assert.deepEqual(lookup, [null, '127.0.0.1', 4, 'own-lookup.prod.kw'], state);
      assert.equal(socket.remotePort, one.port, state);
    });
    assert.deepEqual(asked, []);
    assert.equal(dnsServer.queries.length, 1);
    assert.equal(options.host, 'own-lookup.prod.kw');
  });

  test('connect options the program passes by inheritance reach the connect, as Node reads them', async () => {
    dnsServer.records.push(srv('inherited.prod.kw', 'one.host.kw', one.port));
    // 127.0.0.2 is loopback too: only an option that reached Node's connect binds it.
    const options = Object.create({ localAddress: '127.0.0.2' }) as net.NetConnectOpts;
    Object.assign(options, { host: 'inherited.prod.kw', port: 1 });
    await coldThenWarm(options, (socket, _lookup, state) => {
      assert.equal(socket.localAddress, '127.0.0.2', state);
      assert.equal(socket.remotePort, one.port, state);
    });
  });

  test('a cold connect prepares the socket at once: connecting, and its timeout runs during resolution', {
    timeout: 5000,
  }, async () => {
    dnsServer.behave = () => ({ delayMs: 400 });
    dnsServer.records.push(srv('slow.prod.kw', 'one.host.kw', one.port));
    const started = performance.now();
    const socket = net.connect({ host: 'slow.prod.kw', port: 1 });
    // As for any connect: the socket is connecting before connect() returns.
    assert.equal(socket.connecting, true);
    assert.equal(socket.pending, true);
    socket.setTimeout(50);
    await new Promise((resolve) => socket.once('timeout', resolve));
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 350, `the timeout came after ${elapsed} ms, not during the 400 ms query`);
    assert.equal(socket.connecting, true);
    assert.equal(socket.remotePort, undefined);
    socket.destroy();
  });

  test('valid autoSelectFamily options, as the MongoDB driver passes them, connect cold and warm', async () => {
    // Node checks them after the port: only values it refuses take the never-answering lookup.
    for (const autoSelectFamily of [true, false]) {
      const host = `family-${autoSelectFamily}.prod.kw`;
      dnsServer.records.push(srv(host, 'one.host.kw', one.port));
      const options = { host, port: 1, autoSelectFamily, autoSelectFamilyAttemptTimeout: 250 };
      await coldThenWarm(options, (socket, lookup, state) => {
        assert.equal(socket.remotePort, one.port, state);
        assert.deepEqual(lookup.slice(0, 3), [null, '127.0.0.1', 4], state);
      });
      assert.equal(dnsServer.count(host, 'SRV'), 1);
    }
  });

  test("connect() throws for the options Node refuses, cold or warm, and keeps the program's localAddress", async () => {
    dnsServer.records.push(srv('fresh.prod.kw', 'one.host.kw', one.port));
    // What Node checks inside connect(): the program gets its error from the call.
    const refused = () => {
      assert.throws(() => net.connect({ host: 'fresh.prod.kw', port: 1, localAddress: 'nope' }), {
        code: 'ERR_INVALID_IP_ADDRESS',
      });
      assert.throws(
        () => net.connect({ host: 'fresh.prod.kw', port: 1, localPort: 'x' as never }),
        {
          code: 'ERR_INVALID_ARG_TYPE',
        },
      );
      assert.throws(
        () => net.connect({ host: 'fresh.prod.kw', port: 1, autoSelectFamily: 'yes' as never }),
        { code: 'ERR_INVALID_ARG_TYPE' },
      );
      for (const [timeout, code] of [
        [0, 'ERR_OUT_OF_RANGE'],
        [1.5, 'ERR_OUT_OF_RANGE'],
        [2 ** 31, 'ERR_OUT_OF_RANGE'],
        ['10', 'ERR_INVALID_ARG_TYPE'],
      ] as const) {
        const options = { host: 'fresh.prod.kw', port: 1, autoSelectFamilyAttemptTimeout: timeout };
        assert.throws(() => net.connect(options as net.NetConnectOpts), { code }, String(timeout));
      }
    };
    refused(); // cold
    assert.equal(dnsServer.queries.length, 0);
    const socket = net.connect({ host: 'fresh.prod.kw', port: 1, localAddress: '127.0.0.1' });
    assert.equal(socket.readyState, 'opening');
    await new Promise((resolve) => socket.once('connect', resolve));
    assert.equal(socket.localAddress, '127.0.0.1');
    assert.equal(socket.remotePort, one.port);
    socket.destroy();
    const tick = process.nextTick;
    refused(); // warm
    assert.equal(process.nextTick, tick, "Node's process.nextTick, after its connect threw");
    assert.equal(dnsServer.queries.length, 1);
  });

  test('names outside the domains and IP literals are left alone: no SRV query', async () => {
    assert.equal(await get(`http://127.0.0.1:${one.port}/`), 'one');
    assert.equal(await get(`http://localhost:${two.port}/`), 'two');
    assert.equal(dnsServer.queries.length, 0);
  });

  test('dns.lookup gives an address that reaches the service at its SRV port', async () => {
    const lookup = promisify(dns.lookup);
    const { address, family } = await lookup('user.prod.kw');
    assert.equal(family, 4);
    assert.match(address, /^198\.18\./);
    assert.ok(['one', 'two'].includes(await get(`http://${address}:9/`)));
    const all = await dns.promises.lookup('user.prod.kw', { all: true });
    assert.deepEqual(all, [{ address, family: 4 }]);
    const v6 = await dns.promises.lookup('user.prod.kw', { family: 6 });
    assert.equal(v6.family, 6);
    assert.match(v6.address, /^2001:2::/);
    const viaCallback = await new Promise<unknown[]>((resolve) =>
      dns.lookup('user.prod.kw', 4, (...args) => resolve(args)),
    );
    assert.deepEqual(viaCallback, [null, address, 4]);
    await assert.rejects(lookup('gone.prod.kw'), { code: 'ENOTFOUND' });
    assert.equal((await lookup('localhost')).address.startsWith('198.18.'), false);
  });
});

describe("a connect's hold on its socket", () => {
  // An installation of its own: no endpoint has a failure on record (the tests above leave
  // some), so nothing listens for 'connect' and the connect's deadline is what ends the hold.
  let dnsServer: FixtureServer;
  let one: Backend;
  let deadPort: number;
  const options = { connectTimeoutMs: 300, domains: ['kw'] };
  before(async () => {
    one = await startBackend('one');
    deadPort = await closedPort();
    dnsServer = await FixtureServer.start({
      records: [
        srv('held.prod.kw', 'one.host.kw', one.port),
        ...inOrder('inflight.prod.kw', ['dead.host.kw', deadPort], ['one.host.kw', one.port]),
      ],
    });
    install({ nameservers: [dnsServer.nameserver], ...options });
  });
  after(async () => {
    uninstall();
    one.server.close();
    await dnsServer.close();
  });

  test("a connected socket that stays open is the program's own again once its connect timeout has passed", async () => {
    // svcdisc keeps the socket's destroy (for failover) until its first destroy() or until the
    // connect's deadline would have fallen due (300 ms), whichever comes first.
    for (const state of ['cold', 'warm']) {
      const socket = net.connect({ host: 'held.prod.kw', port: 80 });
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      assert.notEqual(socket.destroy, net.Socket.prototype.destroy, `${state}: held`);
      await new Promise((resolve) => setTimeout(resolve, 800)); // a timer late on a busy machine
      assert.equal(socket.destroy, net.Socket.prototype.destroy, `${state}: let go`);
      socket.destroy();
    }
  });

  test('a connect under way when svcdisc is uninstalled still fails over, cold or warm', async () => {
    uninstall(); // this describe's installation: each state below has one of its own
    for (const state of ['cold', 'warm']) {
      install({ nameservers: [dnsServer.nameserver], ...options });
      if (state === 'warm') await dns.promises.lookup('inflight.prod.kw'); // the SRV answer cached
      const socket = new net.Socket();
      const connects = await connectsDuring(() => {
        socket.connect({ host: 'inflight.prod.kw', port: 80 });
        uninstall();
        return new Promise((resolve, reject) =>
          socket.once('connect', resolve).once('error', reject),
        );
      });
      assert.deepEqual(
        connects.map((m) => m.port),
        [deadPort, one.port],
        `${state}: the refused endpoint, then the next`,
      );
      assert.equal(socket.remotePort, one.port, state);
      socket.destroy();
    }
  });
});

describe('uninstall', () => {
  test("restores Node's own connect and lookup", async () => {
    const connect = net.Socket.prototype.connect;
    const lookup = dns.lookup;
    assert.equal(install({ nameservers: ['127.0.0.1:1'] }), true);
    assert.notEqual(net.Socket.prototype.connect, connect);
    assert.equal(uninstall(), true);
    assert.equal(net.Socket.prototype.connect, connect);
    assert.equal(dns.lookup, lookup);
    assert.equal(uninstall(), false);
    assert.equal(install({ disable: true }), false);
    assert.equal(net.Socket.prototype.connect, connect);
  });

  test('changes no property of net.Socket.prototype but connect, and leaves no mark', () => {
    // A property added to and deleted from the prototype of every socket at each install and
    // uninstall slowed the process's sockets after it (bench/README.md, the twenty-first pass).
    const own = () => Reflect.ownKeys(net.Socket.prototype);
    const before = own();
    const globals = Reflect.ownKeys(globalThis);
    assert.equal(install({ nameservers: ['127.0.0.1:1'] }), true);
    try {
      assert.deepEqual(own(), before);
    } finally {
      uninstall();
    }
    assert.deepEqual(own(), before);
    assert.deepEqual(Reflect.ownKeys(globalThis), globals);
  });
});
