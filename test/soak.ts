// The soak run: records change every second, an endpoint flaps, a steady load of new
// connections goes on; handles and heap must stay flat, no rejection may go unhandled, and
// every request must succeed or fail with a documented error code.
//   npm run soak            (60 s)
//   npx tsx test/soak.ts 10 (any number of seconds)
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { install, uninstall } from '../src/patch/install.js';
import { FixtureServer } from './fixture-server.js';
import { a, closedPort, srv } from './records.js';

/** The codes the README documents for a failed request. */
export const DOCUMENTED_CODES = new Set([
  'ENOTFOUND',
  'ETIMEOUT',
  'ESERVFAIL',
  'EREFUSED',
  'ECONNREFUSED',
  'EBADRESP',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

export interface SoakReport {
  seconds: number;
  requests: number;
  ok: number;
  errors: Record<string, number>;
  /** Active handles and requests, after the warm-up and at the end (load stopped). */
  handles: [number, number];
  /** Heap used after a full GC, MB, after the warm-up and at the end. */
  heapMb: [number, number];
  unhandledRejections: number;
  /** How many times the flapping endpoint stopped listening. */
  closes: number;
}

/** Requests under way at once. */
export const WORKERS = 8;

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

const heapMb = () => {
  collectGarbage();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

export async function runSoak(seconds: number): Promise<SoakReport> {
  let unhandledRejections = 0;
  const onUnhandled = () => unhandledRejections++;
  process.on('unhandledRejection', onUnhandled);

  const labels = ['flappy', 'steady-1', 'steady-2'];
  const servers = labels.map((label) => http.createServer((_req, res) => res.end(label)));
  // The flappy endpoint listens again on its port every other second: one below the ephemeral
  // range (closedPort), which no connection made meanwhile can take as its local end.
  const flappyPort = await closedPort();
  for (const [i, server] of servers.entries())
    await new Promise<void>((resolve) =>
      server.listen(i === 0 ? flappyPort : 0, '127.0.0.1', resolve),
    );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  const dns = await FixtureServer.start();
  // Two of the three published at a time, rotating, weights changing: TTL 1 s.
  const publish = (tick: number) => {
    const chosen = [0, 1, 2].filter((i) => i !== tick % 3);
    dns.records = chosen.flatMap((i) => [
      srv(
        'soak.prod.kw',
        `${labels[i]}.host.kw`,
        ports[i] as number,
        10,
        1 + ((tick * 7 + i * 3) % 10),
        1,
      ),
      a(`${labels[i]}.host.kw`, '127.0.0.1', 1),
    ]);
  };
  publish(0);
  install({ nameservers: [dns.nameserver], domains: ['kw'], connectTimeoutMs: 1000, staleTtl: 5 });

  const report: SoakReport = {
    seconds,
    requests: 0,
    ok: 0,
    errors: {},
    handles: [0, 0],
    heapMb: [0, 0],
    unhandledRejections: 0,
    closes: 0,
  };
  const ask = () =>
    new Promise<void>((resolve) => {
      report.requests++;
      http
        .get('http://soak.prod.kw/', { agent: false }, (res) => {
          res.resume();
          res.on('end', () => {
            report.ok++;
            resolve();
          });
        })
        .on('error', (error: NodeJS.ErrnoException) => {
          const code = error.code ?? error.message;
          report.errors[code] = (report.errors[code] ?? 0) + 1;
          resolve();
        });
    });

  const until = Date.now() + seconds * 1000;
  let running = true;
  const workers = Array.from({ length: WORKERS }, async () => {
    while (running && Date.now() < until) await ask();
  });
  let tick = 0;
  const changes = setInterval(() => {
    tick++;
    publish(tick);
    // The flappy endpoint goes down one second in two.
    const flappy = servers[0] as http.Server;
    if (tick % 2 === 1) {
      flappy.close();
      report.closes++;
    } else if (!flappy.listening) flappy.listen(ports[0], '127.0.0.1');
  }, 1000);

  await new Promise((resolve) => setTimeout(resolve, Math.min(1000, seconds * 250)));
  report.handles[0] = process.getActiveResourcesInfo().length;
  report.heapMb[0] = heapMb();
  await Promise.all(workers);
  running = false;
  clearInterval(changes);
  const flappy = servers[0] as http.Server;
  if (!flappy.listening)
    await new Promise<void>((resolve) => flappy.listen(ports[0], '127.0.0.1', resolve));
  await new Promise((resolve) => setTimeout(resolve, 200));
  report.handles[1] = process.getActiveResourcesInfo().length;
  report.heapMb[1] = heapMb();

  uninstall();
  for (const server of servers) server.close();
  await dns.close();
  process.off('unhandledRejection', onUnhandled);
  report.unhandledRejections = unhandledRejections;
  return report;
}

if (require.main === module) {
  const seconds = Number(process.argv[2] ?? 60);
  runSoak(seconds).then((report) => {
    console.log(JSON.stringify(report, null, 2));
    const undocumented = Object.keys(report.errors).filter((code) => !DOCUMENTED_CODES.has(code));
    const ok =
      report.unhandledRejections === 0 &&
      undocumented.length === 0 &&
      report.handles[1] <= report.handles[0] + 5;
    console.log(
      ok ? 'soak: ok' : `soak: FAILED (undocumented codes: ${undocumented.join(', ') || 'none'})`,
    );
    process.exitCode = ok ? 0 : 1;
  });
}
