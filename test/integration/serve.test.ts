// svcdisc serve answering dig (bind9-dnsutils), the reference client: SRV with glue, truncation
// over UDP and the full set over TCP, NXDOMAIN and NODATA with the SOA, REFUSED outside the
// zone, reload when the file changes (and a bad file keeping the old zone).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DnsServer } from '../../src/server/serve.js';
import { tempDir } from '../temp-dir.js';
import { missing } from './servers.js';

function zoneText(port: number, extra = ''): string {
  const lines = [
    '$ORIGIN kw.',
    '$TTL 30',
    '@ IN SOA ns.kw. hostmaster.kw. 7 3600 600 86400 15',
    '@ IN NS ns',
    'ns IN A 127.0.0.1',
    `user.prod IN SRV 10 60 ${port} a.user`,
    'user.prod IN SRV 20 0 8081 b.user',
    'a.user IN A 127.0.0.11',
    'b.user IN A 127.0.0.12',
    'b.user IN AAAA ::1',
    'alias.prod IN CNAME user.prod',
    'web.prod IN A 127.0.0.30',
  ];
  for (let i = 1; i <= 40; i++)
    lines.push(
      `big.prod IN SRV 10 10 ${9000 + i} instance-${i}.big`,
      `instance-${i}.big IN A 127.0.2.${i}`,
    );
  return `${lines.join('\n')}\n${extra}`;
}

interface Dig {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
}

/** Runs dig and splits its output into the header status, flags and sections. */
async function dig(server: DnsServer, ...args: string[]): Promise<Dig> {
  const { stdout } = await promisify(execFile)('dig', [
    `@127.0.0.1`,
    '-p',
    String(server.port),
    '+norec',
    '+ignore',
    ...args,
  ]);
  const section = (name: string) => {
    const match = new RegExp(`;; ${name} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(stdout);
    return match
      ? (match[1] ?? '')
          .split('\n')
          .map((line) => line.split(/\s+/).join(' '))
          .filter(Boolean)
      : [];
  };
  return {
    status: /status: (\w+)/.exec(stdout)?.[1] ?? '',
    flags: (/;; flags: ([^;]*);/.exec(stdout)?.[1] ?? '').trim().split(' '),
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL').filter((line) => !line.startsWith(';')),
  };
}

describe('svcdisc serve answers dig', { skip: missing('dig', 'bind9-dnsutils') }, () => {
  let server: DnsServer;
  let file: string;
  const log: string[] = [];
  before(async () => {
    file = join(tempDir('serve'), 'kw.zone');
    writeFileSync(file, zoneText(8080));
    server = await DnsServer.start({
      zoneFile: file,
      host: '127.0.0.1',
      port: 0,
      log: (line) => log.push(line),
      watchIntervalMs: 50,
    });
  });
  after(() => server.close());

  test("SRV with the targets' addresses in the additional section, authoritative", async () => {
    const reply = await dig(server, 'user.prod.kw', 'SRV');
    assert.equal(reply.status, 'NOERROR');
    assert.ok(reply.flags.includes('aa'));
    assert.deepEqual(reply.answer.sort(), [
      'user.prod.kw. 30 IN SRV 10 60 8080 a.user.kw.',
      'user.prod.kw. 30 IN SRV 20 0 8081 b.user.kw.',
    ]);
    assert.deepEqual(reply.additional.sort(), [
      'a.user.kw. 30 IN A 127.0.0.11',
      'b.user.kw. 30 IN A 127.0.0.12',
      'b.user.kw. 30 IN AAAA ::1',
    ]);
  });

  test('names are case-insensitive, and a CNAME chain is followed inside the zone', async () => {
    const reply = await dig(server, 'ALIAS.Prod.KW', 'SRV');
    assert.match(reply.answer[0] ?? '', /^alias\.prod\.kw\. 30 IN CNAME user\.prod\.kw\.$/);
    assert.equal(reply.answer.filter((line) => line.includes(' SRV ')).length, 2);
  });

  test('40 records: truncated over UDP (TC, no answers), complete over TCP', async () => {
    const udp = await dig(server, '+bufsize=1232', 'big.prod.kw', 'SRV');
    assert.ok(udp.flags.includes('tc'));
    assert.equal(udp.answer.length, 0);
    const tcp = await dig(server, '+tcp', 'big.prod.kw', 'SRV');
    assert.ok(!tcp.flags.includes('tc'));
    assert.equal(tcp.answer.length, 40);
    assert.equal(tcp.additional.length, 40);
  });

  test('NXDOMAIN and NODATA carry the SOA, with the negative TTL (RFC 2308)', async () => {
    const nx = await dig(server, 'gone.prod.kw', 'SRV');
    assert.equal(nx.status, 'NXDOMAIN');
    assert.ok(nx.flags.includes('aa'));
    assert.deepEqual(nx.authority, ['kw. 15 IN SOA ns.kw. hostmaster.kw. 7 3600 600 86400 15']);
    const nodata = await dig(server, 'web.prod.kw', 'SRV');
    assert.equal(nodata.status, 'NOERROR');
    assert.equal(nodata.answer.length, 0);
    assert.equal(nodata.authority.length, 1);
    // An empty non-terminal (prod.kw has names below it) is NODATA too.
    assert.equal((await dig(server, 'prod.kw', 'A')).status, 'NOERROR');
  });

  test('names outside the zone are REFUSED', async () => {
    assert.equal((await dig(server, 'example.com', 'A')).status, 'REFUSED');
  });

  test('a changed file is reloaded; a bad one keeps the old zone serving', async () => {
    writeFileSync(file, zoneText(9999));
    await waitFor(async () =>
      (await dig(server, 'user.prod.kw', 'SRV')).answer.some((line) => line.includes(' 9999 ')),
    );
    writeFileSync(file, `${zoneText(7777)}broken IN A not-an-address\n`);
    await waitFor(() => log.some((line) => line.startsWith('reload failed')));
    assert.ok(
      (await dig(server, 'user.prod.kw', 'SRV')).answer.some((line) => line.includes(' 9999 ')),
    );
    assert.match(
      log.find((line) => line.startsWith('reload failed')) ?? '',
      /kw\.zone:\d+: A needs an IPv4 address, not "not-an-address"/,
    );
  });
});

async function waitFor(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail('condition not reached in 5 s');
}
