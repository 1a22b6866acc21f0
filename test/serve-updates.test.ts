// svcdisc serve accepting RFC 2136 updates: signed with its key (and its replies signed back),
// or unsigned only when allowed; the changes show in its answers at once.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createResolver } from '../src/index.js';
import { DnsServer } from '../src/server/serve.js';
import { announce, withdraw } from '../src/update/announce.js';

const ZONE = join(__dirname, '..', 'fixtures', 'kw.zone');
const KEY = 'svcdisc-test:hmac-sha256:c3ZjZGlzYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=';

describe('svcdisc serve with updates', () => {
  let signedOnly: DnsServer;
  let open: DnsServer;
  const log: string[] = [];
  before(async () => {
    const key = {
      name: 'svcdisc-test',
      algorithm: 'hmac-sha256',
      secret: 'c3ZjZGlzYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=',
    };
    signedOnly = await DnsServer.start({
      zoneFile: ZONE,
      host: '127.0.0.1',
      port: 0,
      watchIntervalMs: 0,
      updates: { key },
      log: (l) => log.push(l),
    });
    open = await DnsServer.start({
      zoneFile: ZONE,
      host: '127.0.0.1',
      port: 0,
      watchIntervalMs: 0,
      updates: { allowUnsigned: true },
    });
  });
  after(async () => {
    await signedOnly.close();
    await open.close();
  });
  const ports = async (server: DnsServer, name: string) =>
    createResolver({ nameservers: [server.address] })
      .resolve(name)
      .then(
        (r) => r.endpoints.map((e) => e.port).sort(),
        (e: NodeJS.ErrnoException) => e.code,
      );

  test('a signed announce is applied and answered with a signed reply; withdraw removes it alone', async () => {
    const options = { nameservers: [signedOnly.address], tsigKey: KEY };
    const done = await announce(
      { name: 'user.prod.kw', port: 9801, target: 'x1.user.prod.kw', addresses: ['127.0.0.81'] },
      options,
    );
    assert.equal(done.zone, 'kw');
    assert.deepEqual(await ports(signedOnly, 'user.prod.kw'), [8080, 8081, 8082, 9801]);
    assert.match(log.at(-1) ?? '', /^update from 127\.0\.0\.1:\d+: NOERROR, serial 2$/);
    await withdraw({ name: 'user.prod.kw', port: 9801, target: 'x1.user.prod.kw' }, options);
    assert.deepEqual(await ports(signedOnly, 'user.prod.kw'), [8080, 8081, 8082]);
    // A service that was only ever announced disappears entirely when withdrawn.
    await announce({ name: 'fresh.prod.kw', port: 9802, addresses: ['127.0.0.82'] }, options);
    assert.deepEqual(await ports(signedOnly, 'fresh.prod.kw'), [9802]);
  });

  test('a wrong key and an unsigned update are refused, and nothing changes', async () => {
    const wrong = {
      nameservers: [signedOnly.address],
      tsigKey: 'svcdisc-test:hmac-sha256:d3Jvbmctc2VjcmV0LWZvci10aGUtdGVzdCEhISEhISE=',
    };
    await assert.rejects(
      announce({ name: 'user.prod.kw', port: 9803, addresses: ['127.0.0.83'] }, wrong),
      { code: 'ERR_SVCDISC_UPDATE', rcode: 'NOTAUTH' },
    );
    await assert.rejects(
      announce(
        { name: 'user.prod.kw', port: 9803, addresses: ['127.0.0.83'] },
        { nameservers: [signedOnly.address] },
      ),
      { code: 'ERR_SVCDISC_UPDATE', rcode: 'NOTAUTH' },
    );
    assert.deepEqual(await ports(signedOnly, 'user.prod.kw'), [8080, 8081, 8082]);
  });

  test('unsigned updates when allowed; a server without an update policy refuses them', async () => {
    await announce(
      { name: 'user.prod.kw', port: 9804, addresses: ['127.0.0.84'] },
      { nameservers: [open.address] },
    );
    assert.deepEqual(await ports(open, 'user.prod.kw'), [8080, 8081, 8082, 9804]);
    const none = await DnsServer.start({
      zoneFile: ZONE,
      host: '127.0.0.1',
      port: 0,
      watchIntervalMs: 0,
    });
    try {
      await assert.rejects(
        announce(
          { name: 'user.prod.kw', port: 9805, addresses: ['127.0.0.85'] },
          { nameservers: [none.address] },
        ),
        { code: 'ERR_SVCDISC_UPDATE', rcode: 'REFUSED' },
      );
    } finally {
      await none.close();
    }
  });
});
