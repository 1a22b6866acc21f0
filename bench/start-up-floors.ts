// Start-up with `http` under four preloads in turn — an empty one, the floor (net, dns, two
// wrappers), the contract's floor (the least preload that does what svcdisc's start-up must) and
// svcdisc — each against the empty one of the same round: the medians of those ratios. Four
// processes a round, the first of each round taking the next place, so that each preload runs
// as often in each place. The ratios of `npm run bench` come from 41 pairs, where the two floors
// (1–3 % apart) move by ±2–3 % between runs; this takes 151 rounds (about 25 s here) to tell
// them apart (bench/README.md, the thirty-seventh pass). Not part of `npm run bench`.
//     npm run build && npx tsx bench/start-up-floors.ts [rounds]
import { emptyPreload, inTurn, median, ms, REGISTER, type Row, runAlone } from './lib.js';
import { floorPreloads, node, nodeProcess, START_UP_CASES, WARM } from './startup.js';

const ROUNDS = 151;
/** Start-up with `http`: its name, code and target. */
const [[CASE, CODE, TARGET]] = START_UP_CASES;

export async function run(rounds = ROUNDS): Promise<Row[]> {
  // The code caches for this Node, as npm install makes them (a build makes them for the Node
  // that runs it only): without them svcdisc's start-up measured 1.5–2 % more.
  await nodeProcess([WARM]);
  const preloads = [
    ['an empty preload', emptyPreload()],
    ...floorPreloads().map(({ label, what, file }) => [`${label} (${what})`, file] as const),
    ['svcdisc', REGISTER],
  ] as const;
  const times = await inTurn(
    rounds,
    preloads.map(
      ([, file]) =>
        () =>
          node(['-r', file, '-e', CODE]),
    ),
  );
  const empty = times[0] as number[];
  return preloads.slice(1).map(([name], i) => {
    const own = times[i + 1] as number[];
    const ratio = median(own.map((t, round) => t / (empty[round] as number)));
    return {
      case: `${CASE}, ${name}`,
      svcdisc: ms(median(own)),
      baseline: `${ms(median(empty))} (an empty preload)`,
      ratio: ratio.toFixed(3),
      target: `report (≤ ${TARGET}×)`,
      runs: rounds,
    };
  });
}

runAlone(module, () => run(Number(process.argv[2]) || ROUNDS));
