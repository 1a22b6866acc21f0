// New connections with a warm cache: to a service name under the preload against the same
// connections by IP:port without it, in alternating rounds in one process; the rounds of each
// case spread over child processes, their pairs taken together.
//   npx tsx bench/connect.ts
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { promisify } from 'node:util';
import { install, uninstall } from '../dist/index.js';
import { GLOBAL_DISPATCHER, GLOBAL_DISPATCHER_1 } from '../dist/patch/fetch.js';
import { startDnsmasq } from '../test/integration/servers.js';
import { connectClose, median, pairs, type Row, runAlone, throughputRow, timed } from './lib.js';

const ROUNDS = 30;
/** The processes a case's rounds are spread over (6 rounds each: each side starts three of a
 * process's pairs). Where one process's rounds all fall, its compiled code and heap make every
 * pair of it a little slower or faster alike: the same build measured 0.964 and 0.998 on Node 24
 * (keep-alive `http.get`) in two runs of one process each (bench/README.md, the thirty-first
 * pass), and a warm connect's medians 0.89–1.03 in the three processes of one run (the
 * forty-second pass). */
const PROCESSES = 5;
/** The argument that makes this script a child: measure, print the pairs as JSON. */
const CHILD = '--pairs';

const CONNECTS = 5000;
const REQUESTS = 1000;
const KEPT = 3000;

/** Each case: its row's name, its target (a throughput ratio) and the work a round does. */
const CASES = {
  connect: [`new connections, warm cache (${CONNECTS} connect+close)`, 0.95, CONNECTS],
  request: [`HTTP, new connection per request (${REQUESTS})`, 0.95, REQUESTS],
  'http.get': [
    `HTTP keep-alive, http.get, global agent (${KEPT} requests, 4 at a time)`,
    0.97,
    KEPT,
  ],
  fetch: [`HTTP keep-alive, fetch (${KEPT} requests, 4 at a time)`, 0.97, KEPT],
} as const;
type Case = keyof typeof CASES;

function get(url: string, agent: http.Agent | false): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });
}

async function sequential(count: number, work: () => Promise<void>): Promise<void> {
  for (let i = 0; i < count; i++) await work();
}

/** Every case in this process, `rounds` alternating pairs each, svcdisc first in the first
 * (`first` 0) or the second (`first` 1): [svcdisc, baseline] ms. */
async function measure(rounds: number, first: number): Promise<Record<Case, [number, number][]>> {
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
  const measured = {} as Record<Case, [number, number][]>;
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
  // The baseline's work done once untimed before its first round, as every svcdisc round's is:
  // else the process's first round of it runs code not yet compiled, which favoured svcdisc in
  // the processes that started with the baseline (bench/README.md, the forty-second pass).
  const warmBaseline = async (work: () => Promise<void>) => {
    await work();
    return () => timed(work);
  };
  try {
    measured.connect = await pairs(
      rounds,
      withPreload(() => sequential(CONNECTS, () => connectClose(1, 'tcp.prod.kw'))),
      await warmBaseline(() => sequential(CONNECTS, () => connectClose(tcpPort, '127.0.0.1'))),
      first,
    );
    measured.request = await pairs(
      rounds,
      withPreload(() => sequential(REQUESTS, () => get('http://web.prod.kw/', false))),
      await warmBaseline(() =>
        sequential(REQUESTS, () => get(`http://127.0.0.1:${webPort}/`, false)),
      ),
      first,
    );

    // Keep-alive with Node's defaults: http.get on the global agent and fetch, 4 at a time.
    // Under the preload each request chooses its endpoint and pool (per-request balancing).
    // Each round, of either side, starts from new pools: svcdisc's round gets new ones (its
    // endpoints' Agents are made by the install, and closed by the uninstall), and undici's
    // Agent measured 1.02–1.21× slower in the 6000 requests after it was made than one that
    // has served the whole process, with no svcdisc at all (bench/README.md, the fifteenth
    // pass). The baseline's round therefore gets a new undici Agent as the global dispatcher
    // (fetch) and the global http.Agent's sockets closed (http.get), as svcdisc's round gets.
    const parallel = (work: () => Promise<void>) => async () => {
      let left = KEPT;
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
      ['http.get', (url: string) => get(url, http.globalAgent), newSockets],
      ['fetch', fetchText, newDispatcher],
    ] as const) {
      measured[label] = await pairs(
        rounds,
        () => fresh(withPreload(parallel(() => ask('http://web.prod.kw/')))),
        () =>
          fresh(async () => {
            const work = parallel(() => ask(`http://127.0.0.1:${webPort}/`));
            await work(); // warm, as the svcdisc round is
            return timed(work);
          }),
        first,
      );
    }
  } finally {
    tcp.close();
    web.close();
    await dns.stop();
  }
  return measured;
}

/** The cases in PROCESSES child processes, one after another: a row per case from all their
 * pairs (the medians of each side, the median of the pairs' ratios). */
export async function run(): Promise<Row[]> {
  const all: Partial<Record<Case, [number, number][]>> = {};
  for (let i = 0; i < PROCESSES; i++) {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      // Each process begins with the other side than the one before (15 pairs of 30 each).
      [...process.execArgv, __filename, CHILD, String(ROUNDS / PROCESSES), String(i % 2)],
      { maxBuffer: 1 << 20 },
    );
    const measured = JSON.parse(stdout) as Record<Case, [number, number][]>;
    for (const c of Object.keys(CASES) as Case[]) all[c] = [...(all[c] ?? []), ...measured[c]];
    // Each process's own medians (throughput ratios), to see how far processes differ.
    const each = (Object.keys(CASES) as Case[]).map(
      (c) => `${c} ${(1 / median(measured[c].map(([a, b]) => a / b))).toFixed(3)}`,
    );
    process.stderr.write(
      `bench/connect.ts: process ${i + 1} of ${PROCESSES}: ${each.join(', ')}\n`,
    );
  }
  return (Object.keys(CASES) as Case[]).map((c) => {
    const [name, min, work] = CASES[c];
    const pairsOf = all[c] ?? [];
    return throughputRow(
      name,
      median(pairsOf.map(([a]) => a)),
      median(pairsOf.map(([, b]) => b)),
      min,
      pairsOf.length,
      work,
      median(pairsOf.map(([a, b]) => a / b)),
    );
  });
}

if (process.argv[2] === CHILD) {
  measure(Number(process.argv[3]), Number(process.argv[4])).then(
    (measured) => process.stdout.write(JSON.stringify(measured)),
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
} else runAlone(module, run);
