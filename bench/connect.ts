// New connections with a warm cache, and keep-alive requests: a program started with the
// preload, connecting to a service name, against the same program started with an empty
// preload, connecting to 127.0.0.1:PORT; whole processes, alternating, with the servers and
// the DNS server in this one. Each process first does as much work untimed as it then times
// (its first, cold connect by name among it): a warm cache and code V8 has optimised, what a
// program sees once it runs, svcdisc installed once. (Until the fourteenth pass these were
// rounds in one process, installing and uninstalling svcdisc in each: bench/README.md says
// why that changed, and what the first few thousand connects of a process cost.)
//   npx tsx bench/connect.ts
import http from 'node:http';
import net from 'node:net';
import { startDnsmasq } from '../test/integration/servers.js';
import {
  alternate,
  childProgram,
  connectCloseSource,
  emptyPreload,
  REGISTER,
  type Row,
  runAlone,
  throughputRow,
  timedProcess,
} from './lib.js';

/** Pairs of processes per case. */
const ROUNDS = 31;

/** The source of a `once` (lib.ts, childProgram): one http.get of `url` with `agent`. */
const getSource = (url: string, agent: string) => `(() => {
  const http = require('http');
  return () => new Promise((resolve, reject) => {
    http.get(${JSON.stringify(url)}, { agent: ${agent} }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });
})()`;
const fetchSource = (url: string) =>
  `async () => { await (await fetch(${JSON.stringify(url)})).text(); }`;

interface Case {
  name: string;
  /** The least throughput ratio. */
  target: number;
  warmUp: number;
  count: number;
  parallel: number;
  /** The `once` by name (with the preload) and by address (without). */
  byName: string;
  byAddress: string;
}

export async function run(): Promise<Row[]> {
  const tcp = net.createServer((socket) => socket.destroy());
  const web = http.createServer((_req, res) => res.end('ok'));
  for (const server of [tcp, web])
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const tcpPort = (tcp.address() as net.AddressInfo).port;
  const webPort = (web.address() as net.AddressInfo).port;
  const dns = await startDnsmasq(
    [
      'local-ttl=3600',
      `srv-host=tcp.prod.kw,bench.host.kw,${tcpPort},10,10`,
      `srv-host=web.prod.kw,bench.host.kw,${webPort},10,10`,
      'host-record=bench.host.kw,127.0.0.1',
    ],
    'tcp.prod.kw',
  );
  const env = { SVCDISC_DOMAINS: 'kw', SVCDISC_NAMESERVERS: dns.nameserver };
  const empty = emptyPreload();
  const web1 = 'http://web.prod.kw/';
  const web2 = `http://127.0.0.1:${webPort}/`;
  const cases: Case[] = [
    {
      name: 'new connections, warm cache (5000 connect+close)',
      target: 0.95,
      warmUp: 5000,
      count: 5000,
      parallel: 1,
      byName: connectCloseSource('tcp.prod.kw', 1),
      byAddress: connectCloseSource('127.0.0.1', tcpPort),
    },
    {
      name: 'HTTP, new connection per request (1000)',
      target: 0.95,
      warmUp: 1000,
      count: 1000,
      parallel: 1,
      byName: getSource(web1, 'false'),
      byAddress: getSource(web2, 'false'),
    },
    // Keep-alive with Node's defaults: http.get on the global agent and fetch, 4 at a time.
    // Under the preload each request chooses its endpoint and pool (per-request balancing).
    {
      name: 'HTTP keep-alive, http.get, global agent (3000 requests, 4 at a time)',
      target: 0.97,
      warmUp: 3000,
      count: 3000,
      parallel: 4,
      byName: getSource(web1, 'http.globalAgent'),
      byAddress: getSource(web2, 'http.globalAgent'),
    },
    {
      name: 'HTTP keep-alive, fetch (2000 requests, 4 at a time)',
      target: 0.97,
      warmUp: 2000,
      count: 2000,
      parallel: 4,
      byName: fetchSource(web1),
      byAddress: fetchSource(web2),
    },
  ];
  const rows: Row[] = [];
  try {
    for (const c of cases) {
      const [svcdisc, baseline, ratio] = await alternate(
        ROUNDS,
        () => timedProcess(REGISTER, childProgram(c.byName, c.warmUp, c.count, c.parallel), env),
        () => timedProcess(empty, childProgram(c.byAddress, c.warmUp, c.count, c.parallel), env),
      );
      rows.push(throughputRow(c.name, svcdisc, baseline, c.target, ROUNDS, c.count, ratio));
    }
  } finally {
    tcp.close();
    web.close();
    await dns.stop();
  }
  return rows;
}

runAlone(module, run);
