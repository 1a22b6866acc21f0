// The example of the README, for real: examples/count-backends.js under the preload, against
// dnsmasq publishing two HTTP backends with weights 75 and 25.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { assertSplit } from '../records.js';
import { missing, type RunningServer, startDnsmasq } from './servers.js';

const ROOT = join(__dirname, '..', '..');

describe('examples/count-backends.js against dnsmasq', {
  skip: missing('dnsmasq', 'dnsmasq-base'),
}, () => {
  const backends: http.Server[] = [];
  let dns: RunningServer;
  before(async () => {
    const ports: number[] = [];
    for (const name of ['blue', 'green']) {
      const server = http.createServer((_req, res) => res.end(name));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      backends.push(server);
      ports.push((server.address() as AddressInfo).port);
    }
    dns = await startDnsmasq([
      'local-ttl=30',
      `srv-host=user.prod.kw,blue.host.kw,${ports[0]},10,75`,
      `srv-host=user.prod.kw,green.host.kw,${ports[1]},10,25`,
      'host-record=blue.host.kw,127.0.0.1',
      'host-record=green.host.kw,127.0.0.1',
    ]);
  });
  after(async () => {
    for (const server of backends) server.close();
    await dns?.stop();
  });

  test('reaches both backends in the proportion of their weights (chi-square)', async () => {
    const count = async () => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['-r', './register.cjs', 'examples/count-backends.js', 'http://user.prod.kw/', '2000'],
        {
          cwd: ROOT,
          env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: dns.nameserver },
          timeout: 60_000,
        },
      );
      const counts = JSON.parse(stdout) as Record<string, number>;
      assert.deepEqual(Object.keys(counts).sort(), ['blue', 'green']);
      const blue = counts.blue ?? 0;
      const green = counts.green ?? 0;
      assert.equal(blue + green, 2000);
      return [blue, green];
    };
    await assertSplit(count, [3 / 4, 1 / 4], 'blue and green');
  });
});
