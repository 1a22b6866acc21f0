// New connections with a warm cache: to a service name under the preload against the same
// connections by IP:port without it, in alternating rounds in one process.
//   npx tsx bench/connect.ts
import http from 'node:http';
import net from 'node:net';
import { install, uninstall } from '../dist/index.js';
import { GLOBAL_DISPATCHER, GLOBAL_DISPATCHER_1 } from '../dist/patch/fetch.js';
import { startDnsmasq } from '../test/integration/servers.js';
import { alternate, connectClose, type Row, runAlone, throughputRow, timed } from './lib.js';

const ROUNDS = 21;

function get(url: string, agent: http.Agent | false): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });
}

async function sequential(count: number, work: () => Promise<void>): Promise<void> {
  for (let i = 0; i < count; i++) await work();
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
  const rows: Row[] = [];
  // Each svcdisc round installs, does the work once untimed (the cache warm, the patches' code
  // run since the install), then measures it (bench/README.md, the twelfth pass, on the warm-up).
  const withPreload = (work: () => Promise<void>) => async () => {
    install({ nameservers: [dns.nameserver], domains: ['kw'] });
    try {
      await work();
      return await timed(work);
    } finally {
      uninstall();
    }
  };
  try {
    const n = 5000;
    const [svc, base, ratio] = await alternate(
      ROUNDS,
      withPreload(() => sequential(n, () => connectClose(1, 'tcp.prod.kw'))),
      () => timed(() => sequential(n, () => connectClose(tcpPort, '127.0.0.1'))),
    );
    rows.push(
      throughputRow(
        `new connections, warm cache (${n} connect+close)`,
        svc,
        base,
        0.95,
        ROUNDS,
        n,
        ratio,
      ),
    );

    const m = 1000;
    const [fresh, freshBase, freshRatio] = await alternate(
      ROUNDS,
      withPreload(() => sequential(m, () => get('http://web.prod.kw/', false))),
      () => timed(() => sequential(m, () => get(`http://127.0.0.1:${webPort}/`, false))),
    );
    rows.push(
      throughputRow(
        `HTTP, new connection per request (${m})`,
        fresh,
        freshBase,
        0.95,
        ROUNDS,
        m,
        freshRatio,
      ),
    );

    // Keep-alive with Node's defaults: http.get on the global agent and fetch, 4 at a time.
    // Under the preload each request chooses its endpoint and pool (per-request balancing).
    // Each round, of either side, starts from new pools: svcdisc's round gets new ones (its
    // endpoints' Agents are made by the install, and closed by the uninstall), and undici's
    // Agent measured 1.02–1.21× slower in the 6000 requests after it was made than one that
    // has served the whole process, with no svcdisc at all (bench/README.md, the fifteenth
    // pass). The baseline's round therefore gets a new undici Agent as the global dispatcher
    // (fetch) and the global http.Agent's sockets closed (http.get), as svcdisc's round gets.
    const k = 3000;
    const parallel = (work: () => Promise<void>) => async () => {
      let left = k;
      const worker = async () => {
        while (left-- > 0) await work();
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
    };
    const fetchText = async (url: string) => {
      await (await fetch(url)).text();
    };
    interface Dispatcher {
      close(): Promise<void>;
    }
    const global = globalThis as unknown as Record<symbol, Dispatcher>;
    await fetchText(`http://127.0.0.1:${webPort}/`); // undici loaded, its global Agent made
    const UndiciAgent = (global[GLOBAL_DISPATCHER] ?? global[GLOBAL_DISPATCHER_1])
      ?.constructor as new () => Dispatcher;
    /** Where this Node's undici keeps its global dispatcher: both symbols from undici 7.27 on
     * (Node 24 reads the second, Node 26 the first), the second alone before. */
    const symbols = [GLOBAL_DISPATCHER, GLOBAL_DISPATCHER_1].filter((s) => global[s] !== undefined);
    /** A new undici Agent as fetch's global dispatcher while `work` runs, closed after it. */
    const newDispatcher = async (work: () => Promise<number>) => {
      const originals = symbols.map((s) => global[s] as Dispatcher);
      const agent = new UndiciAgent();
      for (const s of symbols) global[s] = agent;
      try {
        return await work();
      } finally {
        await agent.close();
        symbols.forEach((s, i) => {
          global[s] = originals[i] as Dispatcher;
        });
      }
    };
    /** The global http.Agent's sockets closed before `work` runs. */
    const newSockets = (work: () => Promise<number>) => {
      http.globalAgent.destroy();
      return work();
    };
    for (const [label, ask, fresh] of [
      ['http.get, global agent', (url: string) => get(url, http.globalAgent), newSockets],
      ['fetch', fetchText, newDispatcher],
    ] as const) {
      const [kept, keptBase, keptRatio] = await alternate(
        ROUNDS,
        () => fresh(withPreload(parallel(() => ask('http://web.prod.kw/')))),
        () =>
          fresh(async () => {
            const work = parallel(() => ask(`http://127.0.0.1:${webPort}/`));
            await work(); // warm, as the svcdisc round is
            return timed(work);
          }),
      );
      rows.push(
        throughputRow(
          `HTTP keep-alive, ${label} (${k} requests, 4 at a time)`,
          kept,
          keptBase,
          0.97,
          ROUNDS,
          k,
          keptRatio,
        ),
      );
    }
  } finally {
    tcp.close();
    web.close();
    await dns.stop();
  }
  return rows;
}

runAlone(module, run);
