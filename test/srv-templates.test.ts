// SVCDISC_SRV_NAME per port: `{port}` in the template and a per-port list, so that one host
// offering several services (Postgres on 5432, HTTP on 80) is reached at each by its own SRV
// name — in the resolver, and through the preload for net, http on the default agent and fetch.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ConfigError, createResolver, normalizeOptions } from '../src/index.js';
import { FixtureServer } from './fixture-server.js';
import { a, srv } from './records.js';

const MAP = '5432=_postgresql._tcp.{host},_http._tcp.{host}';

describe('SVCDISC_SRV_NAME per port', () => {
  let dns: FixtureServer;
  let pg: Server;
  let web: HttpServer;
  const ports = { pg: 0, web: 0 };
  before(async () => {
    pg = createServer((socket) => socket.end('pg'));
    web = createHttpServer((_req, res) => res.end('http'));
    await new Promise<void>((resolve) => pg.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    ports.pg = (pg.address() as AddressInfo).port;
    ports.web = (web.address() as AddressInfo).port;
    dns = await FixtureServer.start();
  });
  after(async () => {
    pg.close();
    web.close();
    await dns.close();
  });
  beforeEach(() => {
    dns.records = [
      srv('_postgresql._tcp.db.prod.kw', 'db1.prod.kw', ports.pg),
      srv('_http._tcp.db.prod.kw', 'db1.prod.kw', ports.web),
      srv('_5432._tcp.db.prod.kw', 'db1.prod.kw', ports.pg),
      a('db1.prod.kw', '127.0.0.1'),
    ];
    dns.queries.length = 0;
  });
  const resolver = (srvName: string) =>
    createResolver({ nameservers: [dns.nameserver], srvName, fallback: false });

  test('the settings: {port}, a per-port list with the default last; anything else is refused', () => {
    for (const good of [
      MAP,
      '_{port}._tcp.{host}',
      '80=_http._tcp.{host}, 443=_https._tcp.{host}, {host}',
    ])
      assert.doesNotThrow(() => normalizeOptions({ srvName: good }), good);
    for (const bad of [
      '_http._tcp.{host},5432=_postgresql._tcp.{host}', // the default must come last
      '5432=_postgresql._tcp.{host}', // no default
      '5432=_pg._tcp.{host},5432=_pg2._tcp.{host},{host}', // a port twice
      '0=_pg._tcp.{host},{host}',
      '5432=_pg._tcp.example,{host}', // an entry without {host}
    ]) {
      assert.throws(
        () => normalizeOptions({ srvName: bad }),
        (error: unknown) =>
          error instanceof ConfigError &&
          /a per-port list such as 5432=_postgresql\._tcp\.\{host\},_http\._tcp\.\{host\}/.test(
            error.message,
          ),
        bad,
      );
    }
  });

  test('the port picks the template; ports without an entry share the default answer', async () => {
    const r = resolver(MAP);
    assert.equal((await r.resolve('db.prod.kw', 5432)).query, '_postgresql._tcp.db.prod.kw');
    assert.equal((await r.resolve('db.prod.kw', 80)).query, '_http._tcp.db.prod.kw');
    assert.equal((await r.resolve('db.prod.kw', 8080)).query, '_http._tcp.db.prod.kw');
    assert.equal((await r.resolve('db.prod.kw')).query, '_http._tcp.db.prod.kw');
    assert.equal(r.key('db.prod.kw', 5432), 'db.prod.kw:5432');
    assert.equal(r.key('db.prod.kw', 8080), 'db.prod.kw');
    assert.equal(r.cached('db.prod.kw:5432')?.endpoints[0]?.port, ports.pg);
    assert.deepEqual(
      dns.queries.map((q) => q.name),
      ['_postgresql._tcp.db.prod.kw', '_http._tcp.db.prod.kw'],
    );
  });

  test('{port} in the template: the port is part of the query; without one, EBADNAME', async () => {
    const r = resolver('_{port}._tcp.{host}');
    assert.equal(r.needsPort, true);
    const found = await r.resolve('db.prod.kw', 5432);
    assert.equal(found.query, '_5432._tcp.db.prod.kw');
    assert.equal(found.endpoints[0]?.port, ports.pg);
    await assert.rejects(r.resolve('db.prod.kw'), {
      code: 'EBADNAME',
      message: /SVCDISC_SRV_NAME has \{port\} and no port was given/,
    });
  });

  test('svcdisc resolve --port N asks what a connection to port N would', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        join(__dirname, '..', 'dist', 'cli.js'),
        'resolve',
        'db.prod.kw',
        '--port',
        '5432',
        '--json',
      ],
      {
        env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: dns.nameserver, SVCDISC_SRV_NAME: MAP },
      },
    );
    const json = JSON.parse(stdout);
    assert.equal(json.query, '_postgresql._tcp.db.prod.kw');
    assert.equal(json.chosen.port, ports.pg);
  });

  test('through the preload: net to 5432 reaches Postgres, http.get and fetch to port 80 the web server', async () => {
    const program = `
      const net = require('net'), http = require('http');
      const pg = () => new Promise((resolve, reject) => {
        let data = '';
        net.connect(5432, 'db.prod.kw').on('data', (d) => { data += d; }).on('end', () => resolve(data)).on('error', reject);
      });
      const get = () => new Promise((resolve, reject) => http.get('http://db.prod.kw/', (res) => {
        let body = ''; res.on('data', (d) => { body += d; }).on('end', () => resolve(body));
      }).on('error', reject));
      (async () => {
        const out = [await pg(), await get(), await (await fetch('http://db.prod.kw/')).text(), await get()];
        console.log(out.join(' '));
      })().catch((e) => console.log('failed', e.code ?? e.cause?.code, e.message));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-r', join(__dirname, '..', 'register.cjs'), '-e', program],
      {
        env: {
          PATH: process.env.PATH,
          SVCDISC_NAMESERVERS: dns.nameserver,
          SVCDISC_SRV_NAME: MAP,
        },
      },
    );
    assert.equal(stdout, 'pg http http http\n');
  });
});
