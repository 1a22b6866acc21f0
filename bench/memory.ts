// Memory: 100 000 distinct names resolved; the heap stays bounded by the cache size (1000
// names by default), and what one cached name costs.    npx tsx bench/memory.ts
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createResolver } from '../dist/index.js';
import { FixtureServer } from '../test/fixture-server.js';
import { a, srv } from '../test/records.js';
import type { Row } from './lib.js';
import { runAlone } from './lib.js';

const NAMES = 100_000;

function heapUsed(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

async function resolveMany(
  server: FixtureServer,
  cacheSize: number,
  count: number,
): Promise<number> {
  const resolver = createResolver({
    nameservers: [server.nameserver],
    cacheSize,
    timeoutMs: 2000,
    attempts: 3,
  });
  const before = heapUsed();
  for (let start = 0; start < count; start += 500) {
    const batch = Array.from({ length: Math.min(500, count - start) }, (_, i) =>
      resolver.resolve(`m${start + i}.prod.kw`),
    );
    await Promise.all(batch);
    server.queries.length = 0; // the server's own log of queries is not the client's memory
  }
  const after = heapUsed();
  resolver.clear();
  return after - before;
}

export async function run(): Promise<Row[]> {
  // The fixture server makes up an answer for any name (a real server would need 100 000
  // records in its configuration; what is measured here is the client).
  const server = await FixtureServer.start();
  server.generate = (name, type) =>
    type === 'SRV'
      ? { answers: [srv(name, `host.${name}`, 8080)], glue: [a(`host.${name}`, '127.0.0.1')] }
      : undefined;
  try {
    const bounded = await resolveMany(server, 1000, NAMES);
    const full = await resolveMany(server, 20_000, 20_000);
    const perName = full / 20_000;
    return [
      {
        case: `memory: ${NAMES.toLocaleString('en')} names resolved, cache of 1000`,
        svcdisc: `+${(bounded / 2 ** 20).toFixed(2)} MB heap`,
        baseline: 'the same process before',
        ratio: '—',
        target: 'bounded by the cache size',
        runs: 1,
        // 1000 cached names at the cost measured below, with room for the noise of a GC heap.
        met: bounded < 1000 * perName * 2 + 2 ** 20,
      },
      {
        case: 'memory: bytes per cached name (20 000 cached)',
        svcdisc: `${Math.round(perName)} B`,
        baseline: '—',
        ratio: '—',
        target: 'report',
        runs: 1,
      },
    ];
  } finally {
    await server.close();
  }
}

runAlone(module, run);
