// The hot path in ns/op: the RFC 2782 order of 3 and of 40 endpoints, and a cache hit.
//   npx tsx bench/hot-path.ts
import { performance } from 'node:perf_hooks';
import { createResolver, type Endpoint, order } from '../dist/index.js';
import { FixtureServer } from '../test/fixture-server.js';
import { a, bigSet, srv } from '../test/records.js';
import { median, type Row, runAlone } from './lib.js';

function nsPerOp(work: () => unknown, ops = 200_000): number {
  const samples: number[] = [];
  for (let round = 0; round < 7; round++) {
    const started = performance.now();
    for (let i = 0; i < ops; i++) work();
    samples.push(((performance.now() - started) * 1e6) / ops);
  }
  return median(samples);
}

const endpoints = (count: number): Endpoint[] =>
  Array.from({ length: count }, (_, i) => ({
    target: `e${i}.kw`,
    port: 8000 + i,
    priority: i < count / 2 ? 10 : 20,
    weight: 1 + (i % 7),
    addresses: [{ address: '127.0.0.1', family: 4 as const }],
  }));

export async function run(): Promise<Row[]> {
  const three = endpoints(3);
  const forty = endpoints(40);
  const server = await FixtureServer.start({
    records: [
      srv('hot.prod.kw', 'hot.host.kw', 80),
      a('hot.host.kw', '127.0.0.1'),
      ...bigSet('big.prod.kw', 1),
    ],
  });
  try {
    const resolver = createResolver({ nameservers: [server.nameserver] });
    await resolver.resolve('hot.prod.kw');
    const row = (name: string, ns: number): Row => ({
      case: name,
      svcdisc: `${ns.toFixed(0)} ns/op`,
      baseline: '—',
      ratio: '—',
      target: 'report',
      runs: 7,
    });
    return [
      row(
        'hot path: order() of 3 endpoints',
        nsPerOp(() => order(three)),
      ),
      row(
        'hot path: order() of 40 endpoints',
        nsPerOp(() => order(forty), 50_000),
      ),
      row(
        'hot path: cache hit, cached(name)',
        nsPerOp(() => resolver.cached('hot.prod.kw')),
      ),
    ];
  } finally {
    await server.close();
  }
}

runAlone(module, run);
