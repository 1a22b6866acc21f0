// Resolution: svcdisc's cold resolve() against Node's c-ares doing the same work (resolveSrv,
// then resolve4 of each target) at the same server, on dnsmasq, BIND and `svcdisc serve`; and
// the coalescing of concurrent connects into one query.    npx tsx bench/resolve.ts
import { Resolver as AresResolver } from 'node:dns/promises';
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { createResolver, install, installedResolver, uninstall } from '../dist/index.js';
import { DnsServer } from '../dist/server/serve.js';
import { missing, startBind, startDnsmasq } from '../test/integration/servers.js';
import { alternate, type Row, runAlone, timed, timeRow } from './lib.js';

const ROUNDS = 31;
const PER_ROUND = 200;

/** What c-ares needs to do to get endpoints: SRV, then the targets' addresses. */
async function aresResolve(ares: AresResolver, name: string): Promise<unknown> {
  const records = await ares.resolveSrv(name);
  return Promise.all(records.map(async (r) => ({ ...r, addresses: await ares.resolve4(r.name) })));
}

async function compare(server: string, label: string): Promise<Row> {
  const [host, port] = server.split(':');
  const ares = new AresResolver({ timeout: 2000, tries: 2 });
  ares.setServers([`${host}:${port}`]);
  const ours = createResolver({ nameservers: [server], timeoutMs: 2000, attempts: 2 });
  const svcdiscRound = () =>
    timed(async () => {
      for (let i = 0; i < PER_ROUND; i++) {
        ours.clear(); // cold: every resolution asks the server
        await ours.resolve('svc.prod.kw');
      }
    });
  const aresRound = () =>
    timed(async () => {
      for (let i = 0; i < PER_ROUND; i++) await aresResolve(ares, 'svc.prod.kw');
    });
  // Both warm alike (code compiled, sockets open, the server's caches filled) before timing.
  await svcdiscRound();
  await aresRound();
  const [svcdisc, baseline, ratio] = await alternate(ROUNDS, svcdiscRound, aresRound);
  return timeRow(
    `cold resolution, ${label} (${PER_ROUND} sequential)`,
    svcdisc,
    baseline,
    1.0,
    ROUNDS,
    undefined,
    ratio,
  );
}

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  const dnsmasq = await startDnsmasq(
    [
      'local-ttl=30',
      'srv-host=svc.prod.kw,svc.host.kw,8080,10,10',
      'host-record=svc.host.kw,127.0.0.1',
    ],
    'svc.prod.kw',
  );
  const queries: string[] = [];
  const zone = `${process.env.TMPDIR ?? '/tmp'}/svcdisc-bench-${process.pid}.zone`;
  writeFileSync(
    zone,
    '$ORIGIN kw.\n$TTL 30\n@ IN SOA ns hm 1 1 1 1 30\nsvc.prod IN SRV 10 10 8080 svc.host\nsvc.host IN A 127.0.0.1\n',
  );
  const serve = await DnsServer.start({
    zoneFile: zone,
    host: '127.0.0.1',
    port: 0,
    watchIntervalMs: 0,
    logQueries: true,
    log: (line) => queries.push(line),
  });
  const bind = missing('named', 'bind9')
    ? undefined
    : await startBind(
        '$ORIGIN kw.\n$TTL 30\n@ IN SOA ns hm 1 1 1 1 30\n@ IN NS ns\nns IN A 127.0.0.1\nsvc.prod IN SRV 10 10 8080 svc.host\nsvc.host IN A 127.0.0.1\n',
        'svc.prod.kw',
      );
  try {
    rows.push(await compare(dnsmasq.nameserver, 'dnsmasq'));
    if (bind) rows.push(await compare(bind.nameserver, 'BIND 9'));
    rows.push(await compare(serve.address, 'svcdisc serve'));

    // Coalescing: 1000 connects at once to a cold name, under the preload.
    const tcp = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    queries.length = 0;
    install({ nameservers: [serve.address], domains: ['kw'] });
    try {
      await Promise.all(
        Array.from(
          { length: 1000 },
          () =>
            new Promise<void>((resolve, reject) => {
              const socket = net.connect(1, 'svc.prod.kw', () => {
                socket.destroy();
                resolve();
              });
              socket.on('error', (error: NodeJS.ErrnoException) =>
                error.code === 'ECONNREFUSED' ? resolve() : reject(error),
              );
            }),
        ),
      );
      const srvQueries = queries.filter((line) => / svc\.prod\.kw SRV /.test(line)).length;
      rows.push({
        case: 'coalescing: 1000 concurrent connects to a cold name',
        svcdisc: `${srvQueries} SRV quer${srvQueries === 1 ? 'y' : 'ies'} at the server (${installedResolver()?.stats().queries} sent)`,
        baseline: '—',
        ratio: '—',
        target: 'exactly 1 SRV query',
        runs: 1,
        met: srvQueries === 1,
      });
    } finally {
      uninstall();
      tcp.close();
    }
  } finally {
    await dnsmasq.stop();
    await bind?.stop();
    await serve.close();
    rmSync(zone, { force: true });
  }
  return rows;
}

runAlone(module, run);
