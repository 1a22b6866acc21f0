// Start-up: what `-r svcdisc/register` adds to a process that starts, and to its first
// connection to a service name.    npx tsx bench/startup.ts
import { execFile } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDnsmasq } from '../test/integration/servers.js';
import { alternate, type Row, runAlone, timed, timeRow } from './lib.js';

const REGISTER = join(__dirname, '..', 'register.cjs');
const ROUNDS = 31;

const node = (args: string[], env: Record<string, string> = {}) =>
  timed(() =>
    promisify(execFile)(process.execPath, args, { env: { PATH: process.env.PATH, ...env } }),
  );

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  const [http, httpBase] = await alternate(
    ROUNDS,
    () => node(['-r', REGISTER, '-e', "require('http')"]),
    () => node(['-e', "require('http')"]),
  );
  rows.push(timeRow('start-up of a networking program', http, httpBase, 1.02, ROUNDS));
  const [bare, bareBase] = await alternate(
    ROUNDS,
    () => node(['-r', REGISTER, '-e', '0']),
    () => node(['-e', '0']),
  );
  rows.push(timeRow('start-up, bare', bare, bareBase, 1.08, ROUNDS));

  // The first connection: to a service name (SRV query to dnsmasq, then connect) against one
  // by IP:port, each in a fresh process that exits once connected.
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
    const connectAndExit = (host: string, p: number) =>
      `require('net').connect(${p}, '${host}', function () { this.destroy(); })`;
    const [first, firstBase] = await alternate(
      ROUNDS,
      () =>
        node(['-r', REGISTER, '-e', connectAndExit('svc.prod.kw', 1)], {
          SVCDISC_NAMESERVERS: dns.nameserver,
        }),
      () => node(['-e', connectAndExit('127.0.0.1', port)]),
    );
    rows.push({
      ...timeRow(
        'start-up, one intercepted connect (cold)',
        first,
        firstBase,
        Number.POSITIVE_INFINITY,
        ROUNDS,
      ),
      target: 'report',
      met: undefined,
    });
  } finally {
    server.close();
    await dns.stop();
  }
  return rows;
}

runAlone(module, run);
