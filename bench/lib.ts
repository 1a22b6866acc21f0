// What every benchmark shares: alternating rounds, medians, the result rows and their table,
// and the two preloads the child processes compare.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { tempDir } from '../test/temp-dir.js';

/** The preload, as users load it: `node -r svcdisc/register`. */
export const REGISTER = join(__dirname, '..', 'register.cjs');

let dir: string | undefined;
const files = new Map<string, string>();
/** A preload file of `text`, written once per process under a temporary directory. */
export function preloadFile(name: string, text: string): string {
  let file = files.get(name);
  if (!file) {
    dir ??= tempDir('bench');
    file = join(dir, name);
    writeFileSync(file, text);
    files.set(name, file);
  }
  return file;
}

/** A file preloading nothing: the baseline's `-r` (it costs about 1 ms, which svcdisc cannot
 * remove). */
export const emptyPreload = (): string => preloadFile('empty.js', '');

export interface Row {
  case: string;
  svcdisc: string;
  baseline: string;
  ratio: string;
  target: string;
  runs: number;
  /** Whether the target holds; undefined where the case only reports. */
  met?: boolean;
  /** The case this row is shown after, when it is measured apart from it (a floor). */
  after?: string;
  /** A floor of a target: that target's case, whether the floor itself meets it (a target
   * its floor misses cannot hold for svcdisc: BENCHMARKS.md's verdicts), and its name there
   * where a target has more than one ('its floor' else). */
  floorOf?: { case: string; met: boolean; label?: string };
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Runs `svcdisc` and `baseline` `rounds` times each, alternating which goes first (svcdisc in
 * the first round, or in the second with `first` 1); returns what each pair gave: [svcdisc,
 * baseline] (a time, or anything measured). */
export async function pairs(
  rounds: number,
  svcdisc: () => Promise<number>,
  baseline: () => Promise<number>,
  first = 0,
): Promise<[number, number][]> {
  const results: [number, number][] = [];
  for (let round = first; round < rounds + first; round++) {
    if (round % 2 === 0) {
      const a = await svcdisc();
      results.push([a, await baseline()]);
    } else {
      const b = await baseline();
      results.push([await svcdisc(), b]);
    }
  }
  return results;
}

/** Runs each of `runs` once a round for `rounds` rounds, each round starting with the next one
 * (so each runs as often in each place); returns what each gave, in the order of `runs`. */
export async function inTurn<T>(
  rounds: number,
  runs: readonly (() => Promise<T>)[],
): Promise<T[][]> {
  const results: T[][] = runs.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < runs.length; k++) {
      const i = (round + k) % runs.length;
      (results[i] as T[]).push(await (runs[i] as () => Promise<T>)());
    }
  }
  return results;
}

/** The medians of what `svcdisc` and `baseline` gave in `rounds` alternating pairs, and the
 * median of the pairs' ratios svcdisc ÷ baseline (robust to the machine's speed drifting
 * between pairs). */
export async function alternate(
  rounds: number,
  svcdisc: () => Promise<number>,
  baseline: () => Promise<number>,
): Promise<[number, number, number]> {
  const results = await pairs(rounds, svcdisc, baseline);
  return [
    median(results.map(([a]) => a)),
    median(results.map(([, b]) => b)),
    median(results.map(([a, b]) => a / b)),
  ];
}

/** ms taken by `work`. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export const ms = (value: number) => `${value.toFixed(2)} ms`;

/** A row comparing times: ratio = svcdisc / baseline (or `paired`, the median of the pairs'
 * ratios, when given), met when ≤ `max`. */
export function timeRow(
  name: string,
  svcdisc: number,
  baseline: number,
  max: number,
  runs: number,
  unit = ms,
  paired?: number,
): Row {
  const ratio = paired ?? svcdisc / baseline;
  return {
    case: name,
    svcdisc: unit(svcdisc),
    baseline: unit(baseline),
    ratio: ratio.toFixed(3),
    target: `≤ ${max}×`,
    runs,
    met: ratio <= max,
  };
}

/** A row comparing throughputs given as times for the same work: ratio = baseline / svcdisc
 * (or 1 / `paired`, the median of the pairs' time ratios, when given). */
export function throughputRow(
  name: string,
  svcdisc: number,
  baseline: number,
  min: number,
  runs: number,
  work: number,
  paired?: number,
): Row {
  const ratio = paired === undefined ? baseline / svcdisc : 1 / paired;
  const rate = (t: number) => `${Math.round((work / t) * 1000)}/s`;
  return {
    case: name,
    svcdisc: rate(svcdisc),
    baseline: rate(baseline),
    ratio: ratio.toFixed(3),
    target: `≥ ${min}× throughput`,
    runs,
    met: ratio >= min,
  };
}

export function printRows(rows: Row[]): void {
  console.table(
    rows.map(({ met, after: _after, floorOf: _floorOf, ...row }) => ({
      ...row,
      met: met === undefined ? 'report' : met ? 'yes' : 'NO',
    })),
  );
}

/** Runs a case file's `run()` when the file is executed alone. */
export function runAlone(module: NodeModule, run: () => Promise<Row[]>): void {
  if (require.main === module) {
    run().then(printRows, (error) => {
      console.error(error);
      process.exitCode = 1;
    });
  }
}

/** One TCP connect, closed as soon as it is made. */
export function connectClose(port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host, () => {
      socket.destroy();
      resolve();
    });
    socket.on('error', reject);
  });
}

/**
 * A child program (`node -e`) that makes connect+close to `host`:`port` one after another, in
 * blocks: `ends` are how many connects are done when each block ends. Prints each block's ms, a
 * JSON array. With `fromMemory` each connect goes through Node's lookup, answered 127.0.0.1 in
 * a tick as a cache would (what Node charges any name, with no DNS).
 */
export function connectLoop(
  host: string,
  port: number,
  ends: readonly number[],
  fromMemory = false,
): string {
  const to = `${port}, ${JSON.stringify(host)}`;
  const lookup = `(name, options, callback) => options.all
  ? process.nextTick(callback, null, [{ address: '127.0.0.1', family: 4 }])
  : process.nextTick(callback, null, '127.0.0.1', 4)`;
  return `
const net = require('net');
${fromMemory ? `const options = { port: ${port}, host: ${JSON.stringify(host)}, lookup: ${lookup} };` : ''}
const connectClose = () => new Promise((resolve, reject) => {
  const socket = net.connect(${fromMemory ? 'options' : to}, () => { socket.destroy(); resolve(); });
  socket.on('error', reject);
});
(async () => {
  const took = [];
  let done = 0;
  for (const end of ${JSON.stringify(ends)}) {
    const started = performance.now();
    for (; done < end; done++) await connectClose();
    took.push(performance.now() - started);
  }
  console.log(JSON.stringify(took));
})();
`;
}
