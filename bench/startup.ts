// Start-up: what `-r svcdisc/register` adds to a process that starts, and to its first
// connection to a service name. The baseline preloads an empty file: `-r` itself costs about
// 1 ms, which svcdisc cannot remove; what it adds on top is its own.    npx tsx bench/startup.ts
import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import { promisify } from 'node:util';
import { startDnsmasq } from '../test/integration/servers.js';
import {
  alternate,
  emptyPreload,
  median,
  ms,
  pairs,
  preloadFile,
  REGISTER,
  type Row,
  runAlone,
  timed,
  timeRow,
} from './lib.js';

const ROUNDS = 41;

/** The floor of a first connect by name: the least any SRV client does — a dgram socket, one
 * query written by hand, the port and the glue address read from the reply, net.connect. */
const minimalSrvClient = (dns: string, name: string) => `
const [host, port] = ${JSON.stringify(dns)}.split(':');
const q = Buffer.alloc(512);
q.writeUInt16BE((Math.random() * 65536) | 0, 0);
q.writeUInt16BE(0x0100, 2);
q.writeUInt16BE(1, 4);
let o = 12;
for (const label of ${JSON.stringify(name)}.split('.')) { q[o++] = label.length; o += q.write(label, o); }
q[o++] = 0; q.writeUInt16BE(33, o); q.writeUInt16BE(1, o + 2); o += 4;
const s = require('dgram').createSocket('udp4');
s.on('message', (m) => {
  let p = 12;
  const skip = () => { if ((m[p] & 0xc0) === 0xc0) p += 2; else { while (m[p]) p += m[p] + 1; p++; } };
  skip(); p += 4;
  skip(); p += 8; const length = m.readUInt16BE(p); p += 2;
  const srvPort = m.readUInt16BE(p + 4); p += length;
  let address;
  while (p < m.length && !address) {
    skip(); const type = m.readUInt16BE(p); p += 8; const l = m.readUInt16BE(p); p += 2;
    if (type === 1) address = m.subarray(p, p + 4).join('.');
    p += l;
  }
  s.close();
  require('net').connect(srvPort, address, function () { this.destroy(); });
});
s.connect(Number(port), host, () => s.send(q.subarray(0, o)));
`;

/** The floor of the start-up targets: the least a preload that routes connections by name
 * does at start-up — load `net` and `dns` and put a wrapper on `Socket#connect` and
 * `dns.lookup` — and nothing else: no file read, no settings, no matcher. Where it misses a
 * target against the empty preload, no preload that patches at start-up can meet it. */
const FLOOR_PRELOAD = `'use strict';
const net = require('node:net');
const dns = require('node:dns');
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) { return connect.apply(this, args); };
const lookup = dns.lookup;
dns.lookup = function (...args) { return lookup.apply(this, args); };
`;

const node = (args: string[], env: Record<string, string> = {}) =>
  timed(() =>
    promisify(execFile)(process.execPath, args, { env: { PATH: process.env.PATH, ...env } }),
  );

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  const empty = emptyPreload();
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
    // The same for the floor preload: what any preload that patches at start-up adds.
    const [least, base, floorRatio] = await alternate(
      ROUNDS,
      () => node(['-r', preloadFile('floor.js', FLOOR_PRELOAD), '-e', code]),
      () => node(['-r', empty, '-e', code]),
    );
    rows.push({
      ...timeRow(
        `${name}, the floor (net, dns, two wrappers)`,
        least,
        base,
        max,
        ROUNDS,
        ms,
        floorRatio,
      ),
      target: `report (the floor of ≤ ${max}×)`,
      met: undefined,
    });
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
    const minimal = (preload: string) => () =>
      node(['-r', preload, '-e', minimalSrvClient(dns.nameserver, 'svc.prod.kw')]);
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
    // What the target leaves to a preload: the same, done by the least SRV client there is;
    // and by that client in a process that has the floor preload's start-up too.
    for (const [name, preload] of [
      ['first connect by name, minimal SRV client (the floor)', empty],
      [
        'first connect by name, minimal SRV client after the floor preload',
        preloadFile('floor.js', FLOOR_PRELOAD),
      ],
    ] as const) {
      const floor = await pairs(ROUNDS, minimal(preload), baseline);
      rows.push({
        case: name,
        svcdisc: ms(median(floor.map(([a]) => a))),
        baseline: ms(median(floor.map(([, b]) => b))),
        ratio: `+${median(floor.map(([a, b]) => a - b - roundTrip)).toFixed(2)} ms`,
        target: 'report',
        runs: ROUNDS,
      });
    }
  } finally {
    server.close();
    await dns.stop();
  }
  return rows;
}

runAlone(module, run);
