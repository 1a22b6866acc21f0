// npm run bench: every case of bench/, one table on the console and in BENCHMARKS.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { missing } from '../test/integration/servers.js';
import { run as connect } from './connect.js';
import { run as hotPath } from './hot-path.js';
import type { Row } from './lib.js';
import { printRows } from './lib.js';
import { run as memory } from './memory.js';
import { run as resolve } from './resolve.js';
import { floors, run as startup } from './startup.js';
import { run as untouched } from './untouched.js';

const CASES: [string, () => Promise<Row[]>][] = [
  ['startup.ts', startup],
  ['connect.ts', connect],
  ['untouched.ts', untouched],
  ['resolve.ts', resolve],
  ['memory.ts', memory],
  ['hot-path.ts', hotPath],
  // Last: they start more child processes (startup.ts says why that matters), and each row
  // is shown after the row of its target.
  ['startup.ts', floors],
];

function markdown(rows: (Row & { script: string })[]): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const lines = [
    '| case | svcdisc | baseline | ratio | target | met | runs | script |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const met = r.met === undefined ? 'report' : r.met ? 'yes' : '**no**';
    lines.push(
      `| ${cell(r.case)} | ${cell(r.svcdisc)} | ${cell(r.baseline)} | ${r.ratio} | ${cell(r.target)} | ${met} | ${r.runs} | \`bench/${r.script}\` |`,
    );
  }
  return lines.join('\n');
}

/** The ratios of the last three runs on each Node line, kept in bench/history.json: a target
 * counts as held when it holds in three runs in a row. */
interface Run {
  node: string;
  date: string;
  /** `floorMet`: for the floor of a target (Row's floorOf), whether it met that target. */
  ratios: Record<string, { ratio: string; met?: boolean; floorMet?: boolean }>;
}
const HISTORY = join(__dirname, 'history.json');
/** A run's Node line: 20, 22, 24… */
const major = (run: Run) => Number(run.node.slice(1).split('.')[0]);

function remember(rows: (Row & { script: string })[]): Run[] {
  const runs: Run[] = existsSync(HISTORY) ? JSON.parse(readFileSync(HISTORY, 'utf8')) : [];
  runs.push({
    node: process.version,
    date: new Date().toISOString().slice(0, 16),
    ratios: Object.fromEntries(
      rows.map((r) => [r.case, { ratio: r.ratio, met: r.met, floorMet: r.floorOf?.met }]),
    ),
  });
  // The last three of each line.
  const kept = runs.filter(
    (run, i) => runs.slice(i + 1).filter((later) => major(later) === major(run)).length < 3,
  );
  writeFileSync(HISTORY, `${JSON.stringify(kept, null, 2)}\n`);
  return kept.sort((a, b) => major(a) - major(b) || a.date.localeCompare(b.date));
}

function historyTable(rows: Row[], runs: Run[]): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const lines = [
    `| case | target | ${runs.map((run) => `${run.node} ${run.date.replace('T', ' ')}`).join(' | ')} |`,
    `|---|---|${runs.map(() => '---').join('|')}|`,
  ];
  for (const row of rows.filter((r) => r.ratio !== '—')) {
    const cells = runs.map((run) => {
      const seen = run.ratios[row.case];
      if (!seen) return '—';
      return seen.met === false ? `**${seen.ratio}**` : seen.ratio;
    });
    lines.push(`| ${cell(row.case)} | ${cell(row.target)} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * Each target on each Node line: in how many of the line's last three runs it held, and, for a
 * target with a floor (the least that any preload or SRV client does there, Row's floorOf), in
 * how many its floor met it. A target holds where it held in all three; where its floor missed
 * it in any of them, no code of svcdisc's could have made it hold. A target with two floors
 * (start-up: any preload's, and svcdisc's contract's, which does more) is out of reach where
 * either missed it.
 */
function verdictTable(rows: Row[], runs: Run[]): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const runsSeen = (n: number) => (n === 1 ? 'one run' : `${n} runs`);
  const lines = [...new Set(runs.map(major))];
  const out = [
    `| case | target | ${lines.map((line) => `Node ${line}`).join(' | ')} | verdict |`,
    `|---|---|${lines.map(() => '---').join('|')}|---|`,
  ];
  for (const row of rows.filter((r) => r.met !== undefined)) {
    const floors = rows
      .filter((r) => r.floorOf?.case === row.case)
      .map((r) => ({ floor: r.case, label: r.floorOf?.label ?? 'its floor' }));
    /** Per line with three runs: whether the target held in all three, and its floor. */
    const verdicts: { line: number; held: boolean; floorHeld?: boolean }[] = [];
    const cells = lines.map((line) => {
      const last = runs.filter((run) => major(run) === line).slice(-3);
      const count = (met: (run: Run) => boolean | undefined) => {
        const seen = last.map(met).filter((m) => m !== undefined);
        return { n: seen.filter(Boolean).length, of: seen.length };
      };
      const target = count((run) => run.ratios[row.case]?.met);
      if (target.of < 3) return `${runsSeen(target.of)} so far`;
      let text = `${target.n} of 3`;
      let floorHeld: boolean | undefined;
      for (const { floor, label } of floors) {
        const met = count((run) => run.ratios[floor]?.floorMet);
        if (met.of === 3) {
          floorHeld = (floorHeld ?? true) && met.n === 3;
          text += `; ${label} ${met.n} of 3`;
        } else text += `; ${label} ${met.of ? `measured in ${runsSeen(met.of)}` : 'not measured'}`;
      }
      verdicts.push({ line, held: target.n === 3, floorHeld });
      return text;
    });
    const missed = verdicts.filter((v) => !v.held);
    const named = (some: typeof verdicts) => some.map((v) => `Node ${v.line}`).join(', ');
    let verdict: string;
    if (verdicts.length === 0) verdict = 'fewer than three runs on every line';
    else if (missed.length === 0) verdict = 'holds';
    else if (floors.length === 0) verdict = `not held on ${named(missed)}; no floor measured`;
    else if (missed.some((v) => v.floorHeld === undefined))
      verdict = `not held on ${named(missed)}; its floor not measured in three runs there`;
    else {
      const closable = missed.filter((v) => v.floorHeld);
      verdict =
        closable.length === 0
          ? `out of reach where not held (${named(missed)}): its floor missed it too`
          : `not held on ${named(closable)}, where its floor held: svcdisc’s to close`;
    }
    out.push(`| ${cell(row.case)} | ${cell(row.target)} | ${cells.join(' | ')} | ${verdict} |`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  // The DNS cases use a real server, as the integration tests do.
  const reason = missing('dnsmasq', 'dnsmasq-base');
  if (reason) throw new Error(`npm run bench needs dnsmasq: ${reason}`);
  const rows: (Row & { script: string })[] = [];
  for (const [script, run] of CASES) {
    process.stderr.write(`bench/${script}…\n`);
    for (const row of await run()) {
      const after = row.after === undefined ? -1 : rows.findIndex((r) => r.case === row.after);
      if (after < 0) rows.push({ ...row, script });
      else rows.splice(after + 1, 0, { ...row, script });
    }
  }
  printRows(rows);
  const runs = remember(rows);
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const machine = `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
  const text = `# Benchmarks

Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} in ${((Date.now() - started) / 1000).toFixed(0)} s: ${machine}.
Every ratio compares svcdisc with a baseline run side by side, in alternating rounds on the same
machine; each value is the median of the rounds. Times: lower is better, ratio = svcdisc ÷
baseline. Throughputs: higher is better, ratio = svcdisc ÷ baseline. This machine is noisy: a
ratio moves by a few per cent between runs.

${markdown(rows)}

## The last runs on each Node line

The ratio of each case in the last three runs of \`npm run bench\` on each Node line (from
bench/history.json; bold: the target not met). A target holds when it holds in three runs in a
row.

${historyTable(rows, runs)}

## Each target and its floor

In how many of each Node line's last three runs each target held, and, where a floor of it is
measured, in how many that floor met the same target: the start-up floors are a preload that
only loads \`net\` and \`dns\` and wraps \`Socket#connect\` and \`dns.lookup\` (what any preload
that routes connections by name does at start-up) and, since 2026-12-07, the contract's floor:
the least preload that does what svcdisc's start-up must (the README's settings and patches:
the misspelled-variable scan, the matcher, the \`dns.promises.lookup\` and \`fetch\` hooks, one
installation per process), 3.5 KB of plain JavaScript with no settings table, no messages and
no file read (bench/startup.ts's CONTRACT_PRELOAD); the first connect's are the least SRV client
there is (\`dgram\`, one query written by hand, \`net.connect\`) started with each of the two
preloads (with the contract's since 2026-12-07), since svcdisc is a preload. A target its floor
misses in a run cannot hold in that run whatever svcdisc's code does (the contract's floor:
whatever code keeps svcdisc's contract).

${verdictTable(rows, runs)}

See [bench/README.md](bench/README.md) for what each case does, and the notes on the targets
that do not hold.
`;
  writeFileSync(join(__dirname, '..', 'BENCHMARKS.md'), text);
  process.stderr.write('BENCHMARKS.md written\n');
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
