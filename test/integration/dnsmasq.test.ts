// Against dnsmasq: SRV with glue from host-record, partial answers with TC over UDP, NXDOMAIN
// without an SOA, the "no service" record.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  missing,
  serveDuringSuite,
  sortEndpoints,
  startDnsmasq,
  USER_ENDPOINTS,
} from './servers.js';

const LINES = [
  'local-ttl=30',
  'srv-host=user.prod.kw,a.user.kw,8080,10,60',
  'srv-host=user.prod.kw,b.user.kw,8081,10,30',
  'srv-host=user.prod.kw,c.user.kw,8082,20,10',
  'host-record=a.user.kw,127.0.0.11',
  'host-record=b.user.kw,127.0.0.12,::1',
  'host-record=c.user.kw,127.0.0.13',
  'srv-host=_http._tcp.web.prod.kw,a.user.kw,8443,10,10',
  'srv-host=none.prod.kw',
  'srv-host=lost.prod.kw,ghost.user.kw,80',
];
// 50 records with long targets overflow 1232 bytes: dnsmasq sends part of them with TC.
for (let i = 1; i <= 50; i++) {
  LINES.push(
    `srv-host=big.prod.kw,instance-${i}.big.kw,${9000 + i},10,10`,
    `host-record=instance-${i}.big.kw,127.0.2.${i}`,
  );
}
// 36 records with short targets fit, but not all their glue: dnsmasq sends what fits of the
// additional section, without TC.
for (let i = 1; i <= 36; i++) {
  LINES.push(
    `srv-host=forty.prod.kw,i${i}.forty.kw,${9100 + i},10,10`,
    `host-record=i${i}.forty.kw,127.0.3.${i}`,
  );
}

describe('against dnsmasq', { skip: missing('dnsmasq', 'dnsmasq-base') }, () => {
  const fresh = serveDuringSuite(() => startDnsmasq(LINES));

  test('user.prod.kw: every endpoint with its glue, in one query', async () => {
    const r = fresh();
    const result = await r.resolve('user.prod.kw');
    assert.equal(result.ttl, 30);
    assert.deepEqual(sortEndpoints(result.endpoints), USER_ENDPOINTS);
    assert.equal(r.stats().queries, 1);
  });

  test('the SRV name template is applied', async () => {
    const result = await fresh({ srvName: '_http._tcp.{host}' }).resolve('web.prod.kw');
    assert.equal(result.endpoints[0]?.port, 8443);
  });

  test('50 records: a partial answer with TC is not used; TCP gives all 50', async () => {
    const r = fresh();
    const result = await r.resolve('big.prod.kw');
    assert.equal(result.endpoints.length, 50);
    for (const endpoint of result.endpoints) {
      assert.deepEqual(endpoint.addresses, [
        { address: `127.0.2.${endpoint.port - 9000}`, family: 4 },
      ]);
    }
    assert.equal(r.stats().truncated, 1);
  });

  test('36 records whose glue only partly fits, without TC: the other targets are asked for', async () => {
    const r = fresh();
    const result = await r.resolve('forty.prod.kw');
    assert.equal(result.endpoints.length, 36);
    for (const endpoint of result.endpoints) {
      assert.deepEqual(endpoint.addresses, [
        { address: `127.0.3.${endpoint.port - 9100}`, family: 4 },
      ]);
    }
    assert.equal(r.stats().truncated, 0);
    // Some glue came with the SRV reply, the rest was asked for (A and AAAA per target).
    const { queries } = r.stats();
    assert.ok(queries > 1 && queries < 1 + 36 * 2, `${queries} queries`);
  });

  test('NXDOMAIN without an SOA is ENOTFOUND, remembered only for the short back-off', async () => {
    const r = fresh();
    await assert.rejects(r.resolve('gone.prod.kw'), {
      code: 'ENOTFOUND',
      reason: 'NXDOMAIN',
      hostname: 'gone.prod.kw',
    });
    await assert.rejects(r.resolve('gone.prod.kw'), { code: 'ENOTFOUND' });
    assert.equal(r.stats().queries, 1);
  });

  test('the "no service" record (target ".") is ENOTFOUND', async () => {
    await assert.rejects(fresh().resolve('none.prod.kw'), {
      code: 'ENOTFOUND',
      reason: 'NO_SERVICE',
    });
  });

  test('a target without an address leaves no endpoint: ENOTFOUND', async () => {
    await assert.rejects(fresh().resolve('lost.prod.kw'), {
      code: 'ENOTFOUND',
      reason: 'NO_ADDRESS',
    });
  });
});
