// Start-up: what `-r svcdisc/register` adds to a process that starts, and to its first
// connection to a service name. The baseline preloads an empty file: `-r` itself costs about
// 1 ms, which svcdisc cannot remove; what it adds on top is its own.    npx tsx bench/startup.ts
import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDnsmasq } from '../test/integration/servers.js';
import { alternate, median, ms, pairs, type Row, runAlone, timed, timeRow } from './lib.js';

const REGISTER = join(__dirname, '..', 'register.cjs');
const ROUNDS = 41;

const node = (args: string[], env: Record<string, string> = {}) =>
  timed(() =>
    promisify(execFile)(process.execPath, args, { env: { PATH: process.env.PATH, ...env } }),
  );

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  const empty = join(mkdtempSync(join(tmpdir(), 'svcdisc-bench-')), 'empty.js');
  writeFileSync(empty, '');
  for (const [name, code, max] of [
    ['start-up of a networking program', "require('http')", 1.02],
    ['start-up, bare', '0', 1.03],
  ] as const) {
    const [svcdisc, baseline, ratio] = await alternate(
      ROUNDS,
      () => node(['-r', REGISTER, '-e', code]),
      () => node(['-r', empty, '-e', code]),
    );
    rows.push(timeRow(name, svcdisc, baseline, max, ROUNDS, ms, ratio));
  }

  // The first connection: to a service name (SRV query to dnsmasq, then connect) against one
  // by IP:port, each in a fresh process that exits once connected. Target: at most 3 ms more,
  // plus one DNS round trip (measured here with c-ares against the same server).
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const dns = await startDnsmasq(
    [
      'local-ttl=30',
      `srv-host=svc.prod.kw,svc.host.kw,${port},10,10`,
      'host-record=svc.host.kw,127.0.0.1',
    ],
    'svc.prod.kw',
  );
  try {
    const ares = new Resolver();
    ares.setServers([dns.nameserver]);
    const trips: number[] = [];
    for (let i = 0; i < 31; i++) trips.push(await timed(() => ares.resolveSrv('svc.prod.kw')));
    const roundTrip = median(trips);
    const connectAndExit = (host: string, p: number) =>
      `require('net').connect(${p}, '${host}', function () { this.destroy(); })`;
    const svcdisc = () =>
      node(['-r', REGISTER, '-e', connectAndExit('svc.prod.kw', 1)], {
        SVCDISC_NAMESERVERS: dns.nameserver,
      });
    const baseline = () => node(['-r', empty, '-e', connectAndExit('127.0.0.1', port)]);
    const results = await pairs(ROUNDS, svcdisc, baseline);
    const first = median(results.map(([a]) => a));
    const firstBase = median(results.map(([, b]) => b));
    // The median of the pairs' differences, less the round trip.
    const extra = median(results.map(([a, b]) => a - b - roundTrip));
    rows.push({
      case: 'first intercepted connect, fresh process',
      svcdisc: ms(first),
      baseline: `${ms(firstBase)} (DNS round trip ${ms(roundTrip)})`,
      ratio: `+${extra.toFixed(2)} ms`,
      target: '≤ +3 ms plus one round trip',
      runs: ROUNDS,
      met: extra <= 3,
    });
  } finally {
    server.close();
    await dns.stop();
  }
  return rows;
}

runAlone(module, run);
