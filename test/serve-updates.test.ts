// svcdisc serve accepting RFC 2136 updates: signed with its key (and its replies signed back),
// or unsigned only when allowed; the changes show in its answers at once.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { normalizeOptions, type SvcdiscOptions } from '../src/config.js';
import { createResolver } from '../src/index.js';
import { DnsServer } from '../src/server/serve.js';
import { type AnnounceRequest, Announcer } from '../src/update/announce.js';
import { tempDir } from './temp-dir.js';

const announce = (request: AnnounceRequest, options: SvcdiscOptions) =>
  new Announcer(normalizeOptions(options)).announce(request);
const withdraw = (request: AnnounceRequest, options: SvcdiscOptions) =>
  new Announcer(normalizeOptions(options)).withdraw(request);

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

  test('an Announcer finds the zone once: refreshes and a withdrawal at shutdown ask no SOA again', async () => {
    const queries: string[] = [];
    const server = await DnsServer.start({
      zoneFile: ZONE,
      host: '127.0.0.1',
      port: 0,
      watchIntervalMs: 0,
      updates: { allowUnsigned: true },
      logQueries: true,
      log: (line) => queries.push(line),
    });
    try {
      const announcer = new Announcer(normalizeOptions({ nameservers: [server.address] }));
      const request = { name: 'once.prod.kw', port: 9806, addresses: ['127.0.0.86'] };
      const first = await announcer.announce(request);
      await announcer.announce({ ...request, leaseUntil: Math.floor(Date.now() / 1000) + 60 });
      await announcer.withdraw(request, first);
      assert.equal(queries.filter((line) => / SOA /.test(line)).length, 1, queries.join('\n'));
      assert.equal(queries.filter((line) => / SRV /.test(line)).length, 0, queries.join('\n'));
      assert.equal(await ports(server, 'once.prod.kw'), 'ENOTFOUND');
    } finally {
      await server.close();
    }
  });

  test('an Announcer finds the zone again when the primary says it is not the zone (NOTAUTH)', async () => {
    const dir = tempDir('zone');
    const prod = join(dir, 'prod.kw.zone');
    writeFileSync(
      prod,
      '$TTL 30\n@ IN SOA ns.kw. hostmaster.kw. 1 3600 600 86400 10\n@ IN NS ns.kw.\n',
    );
    const updates = { allowUnsigned: true };
    const whole = await DnsServer.start({
      zoneFile: ZONE,
      host: '127.0.0.1',
      port: 0,
      watchIntervalMs: 0,
      updates,
    });
    const port = whole.port;
    const announcer = new Announcer(normalizeOptions({ nameservers: [whole.address] }));
    const request = { name: 'moved.prod.kw', port: 9807, addresses: ['127.0.0.87'] };
    assert.equal((await announcer.announce(request)).zone, 'kw');
    // prod.kw is delegated to a zone of its own, served at the same address.
    await whole.close();
    const split = await DnsServer.start({
      zoneFile: prod,
      host: '127.0.0.1',
      port,
      watchIntervalMs: 0,
      updates,
    });
    try {
      assert.equal((await announcer.announce(request)).zone, 'prod.kw');
      assert.deepEqual(await ports(split, 'moved.prod.kw'), [9807]);
    } finally {
      await split.close();
    }
  });
});
