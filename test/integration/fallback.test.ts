// RFC 2782's fallback through the preload, against dnsmasq and BIND: a name under the domains
// with A records and no SRV is reached at its own address and the port of the program's URL,
// by http.get on the default agent and by fetch; SVCDISC_FALLBACK=0 makes it ENOTFOUND.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { missing, type RunningServer, startBind, startDnsmasq } from './servers.js';

const REGISTER = join(__dirname, '..', '..', 'register.cjs');
const ZONE = readFileSync(join(__dirname, '..', '..', 'fixtures', 'kw.zone'), 'utf8');
// plain.prod.kw has an A record only, in the zone file and here.
const DNSMASQ = [
  'local-ttl=30',
  'srv-host=user.prod.kw,a.user.kw,8080,10,60',
  'host-record=a.user.kw,127.0.0.11',
  'host-record=plain.prod.kw,127.0.0.30',
];
const CLIENT = `
const url = process.argv[1];
const get = () => new Promise((resolve, reject) => require('http').get(url, (res) => {
  let body = ''; res.on('data', (d) => { body += d; }); res.on('end', () => resolve(body));
}).on('error', reject));
(async () => {
  const out = [];
  try { out.push(await get()); out.push(await (await fetch(url)).text()); }
  catch (error) { out.push(error.code ?? error.cause?.code ?? String(error)); }
  console.log(out.join(' '));
})();`;

for (const [title, command, packages, start] of [
  ['dnsmasq', 'dnsmasq', 'dnsmasq-base', () => startDnsmasq(DNSMASQ)],
  ['BIND 9', 'named', 'bind9', () => startBind(ZONE)],
] as const) {
  describe(`RFC 2782 fallback against ${title}`, { skip: missing(command, packages) }, () => {
    let dns: RunningServer;
    let web: Server;
    let port: number;
    before(async () => {
      dns = await start();
      web = createServer((_req, res) => res.end('plain'));
      await new Promise<void>((resolve) => web.listen(0, '127.0.0.30', resolve));
      port = (web.address() as AddressInfo).port;
    });
    after(async () => {
      web?.close();
      await dns?.stop();
    });
    const run = async (env: Record<string, string> = {}) =>
      (
        await promisify(execFile)(
          process.execPath,
          ['-r', REGISTER, '-e', CLIENT, `http://plain.prod.kw:${port}/`],
          {
            env: {
              PATH: process.env.PATH,
              SVCDISC_NAMESERVERS: dns.nameserver,
              NODE_DEBUG: 'svcdisc',
              ...env,
            },
          },
        )
      ).stdout.trim();

    test("a name with only an A record is reached at it, on the URL's port", async () => {
      assert.equal(await run(), 'plain plain');
    });

    test('SVCDISC_FALLBACK=0: ENOTFOUND, as before', async () => {
      assert.equal(await run({ SVCDISC_FALLBACK: '0' }), 'ENOTFOUND');
    });
  });
}
