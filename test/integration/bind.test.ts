// Against BIND 9, the reference server: glue, no glue for big sets, empty TC then TCP,
// NXDOMAIN with SOA, TTL 0, CNAME, target ".".
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { missing, serveDuringSuite, sortEndpoints, startBind, USER_ENDPOINTS } from './servers.js';

const ZONE = readFileSync(join(__dirname, '..', '..', 'fixtures', 'kw.zone'), 'utf8');

describe('against BIND 9', { skip: missing('named', 'bind9 bind9utils') }, () => {
  const fresh = serveDuringSuite(() => startBind(ZONE));

  test('user.prod.kw: every endpoint, with the glue addresses, in one query', async () => {
    const r = fresh();
    const result = await r.resolve('user.prod.kw');
    assert.equal(result.name, 'user.prod.kw');
    assert.equal(result.query, 'user.prod.kw');
    assert.equal(result.ttl, 5); // c.user.kw's A record
    assert.deepEqual(sortEndpoints(result.endpoints), USER_ENDPOINTS);
    assert.equal(r.stats().queries, 1);
  });

  test('the SRV name template is applied', async () => {
    const result = await fresh({ srvName: '_http._tcp.{host}' }).resolve('web.prod.kw');
    assert.equal(result.query, '_http._tcp.web.prod.kw');
    assert.equal(result.endpoints[0]?.port, 8443);
  });

  test('more than 13 records come without glue: targets are asked for A and AAAA', async () => {
    const r = fresh();
    const result = await r.resolve('fourteen.prod.kw');
    assert.equal(result.endpoints.length, 14);
    for (const endpoint of result.endpoints) {
      const n = endpoint.port - 9100;
      assert.deepEqual(endpoint.addresses, [{ address: `127.0.3.${n}`, family: 4 }]);
    }
    assert.equal(r.stats().truncated, 0);
    assert.equal(r.stats().queries, 1 + 14 * 2);
  });

  test('40 records: an empty truncated UDP reply, then TCP, then the targets without glue', async () => {
    const r = fresh();
    const result = await r.resolve('big.prod.kw');
    assert.equal(result.endpoints.length, 40);
    assert.deepEqual(new Set(result.endpoints.map((e) => e.addresses[0]?.address)).size, 40);
    const stats = r.stats();
    assert.equal(stats.truncated, 1);
    assert.ok(stats.tcpQueries >= 1);
  });

  test('NXDOMAIN comes with the SOA, is ENOTFOUND and is cached for the SOA minimum', async () => {
    const r = fresh();
    await assert.rejects(r.resolve('gone.prod.kw'), {
      code: 'ENOTFOUND',
      reason: 'NXDOMAIN',
      syscall: 'querySrv',
    });
    await assert.rejects(r.resolve('gone.prod.kw'), { code: 'ENOTFOUND', reason: 'NXDOMAIN' });
    assert.equal(r.stats().queries, 1);
    assert.equal(r.stats().cacheHits, 0);
  });

  test('NODATA (with SVCDISC_FALLBACK=0) and a lone target "." are ENOTFOUND', async () => {
    await assert.rejects(fresh({ fallback: false }).resolve('plain.prod.kw'), {
      code: 'ENOTFOUND',
      reason: 'NODATA',
    });
    await assert.rejects(fresh().resolve('none.prod.kw'), {
      code: 'ENOTFOUND',
      reason: 'NO_SERVICE',
    });
  });

  test('TTL 0 comes back as 0 and is never reused', async () => {
    const r = fresh();
    assert.equal((await r.resolve('zero.prod.kw')).ttl, 0);
    await r.resolve('zero.prod.kw');
    assert.equal(r.stats().queries, 2);
    assert.equal(r.stats().cacheHits, 0);
  });

  test('a CNAME to a service name is followed', async () => {
    const result = await fresh().resolve('alias.prod.kw');
    assert.equal(result.endpoints.length, 3);
  });

  test('SVCDISC_TCP: everything over TCP gives the same endpoints', async () => {
    const r = fresh({ tcp: true });
    const result = await r.resolve('user.prod.kw');
    assert.equal(result.endpoints.length, 3);
    assert.equal(r.stats().tcpQueries, r.stats().queries);
  });
});

describe('svcdisc resolve against BIND 9', { skip: missing('named', 'bind9 bind9utils') }, () => {
  const fresh = serveDuringSuite(() => startBind(ZONE));

  test('prints the endpoints BIND publishes, as JSON', async () => {
    const [server] = fresh().settings.nameservers;
    assert.ok(server && 'address' in server);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(__dirname, '..', '..', 'dist', 'cli.js'), 'resolve', 'user.prod.kw', '--json'],
      {
        env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: `${server.address}:${server.port}` },
      },
    );
    const result = JSON.parse(stdout);
    assert.deepEqual(
      result.records
        .map((r: { target: string; port: number; ttl: number }) => [r.target, r.port, r.ttl])
        .sort(),
      [
        ['a.user.kw', 8080, 5],
        ['b.user.kw', 8081, 5],
        ['c.user.kw', 8082, 5],
      ],
    );
    assert.ok(['a.user.kw', 'b.user.kw'].includes(result.chosen.target));
  });
});
