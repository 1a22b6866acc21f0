// New connections in a fresh process, by how many it has made: a program under the preload
// connecting to a service name, and one connecting to a name with Node's own connect, its
// lookup answered from memory (no preload: what Node charges any name, cacheable-lookup's
// case), each against one under an empty preload connecting by address. Each process times its
// connects in blocks (after one untimed connect, svcdisc's cold one); the three kinds of
// process take turns, each round starting with the next. `npm run bench`'s warm-connect row
// measures rounds of one long-lived process that hosts the server too, where every function is
// optimised and each connect's server side is work of the same process; here the client is
// alone in its process (the server and dnsmasq run in this one), and a fresh process runs its
// first thousands of connects in V8's lower tiers, svcdisc's path optimised later than Node's
// own (bench/README.md, the thirty-ninth pass). Not part of `npm run bench` (about two
// minutes a Node line).
//     npm run build && npx tsx bench/fresh-connects.ts [rounds]
import {
  connectLoop,
  emptyPreload,
  inTurn,
  median,
  REGISTER,
  type Row,
  runAlone,
  throughputRow,
} from './lib.js';
import { nodeProcess, withService } from './startup.js';

const ROUNDS = 31;
/** The blocks' ends, after the one untimed connect: connects 1-1000, 1001-3000, 3001-6000,
 * 6001-10 000. */
const BLOCKS = [1000, 3000, 6000, 10_000];

export async function run(rounds = ROUNDS): Promise<Row[]> {
  return withService(async (port, nameserver) => {
    /** A process's blocks of connects: the first connect untimed, then BLOCKS, their ms. */
    const blocks = async (preload: string, code: string, env = {}) => {
      const { stdout } = await nodeProcess(['-r', preload, '-e', code], env);
      return (JSON.parse(stdout) as number[]).slice(1);
    };
    const ends = [1, ...BLOCKS.map((end) => end + 1)];
    const kinds = [
      ['by address', () => blocks(emptyPreload(), connectLoop('127.0.0.1', port, ends))],
      [
        'svcdisc',
        () =>
          blocks(REGISTER, connectLoop('svc.prod.kw', 1, ends), {
            SVCDISC_NAMESERVERS: nameserver,
          }),
      ],
      [
        "Node's own connect by name, a lookup from memory",
        () => blocks(emptyPreload(), connectLoop('svc.prod.kw', port, ends, true)),
      ],
    ] as const;
    const [base = [], ...others] = await inTurn(
      rounds,
      kinds.map(([, measure]) => measure),
    );
    return others.flatMap((own, n) =>
      BLOCKS.map((end, i) => {
        const start = (BLOCKS[i - 1] ?? 0) + 1;
        const times = own.map((block) => block[i] as number);
        const baseTimes = base.map((block) => block[i] as number);
        const row = throughputRow(
          `new connections in a fresh process, connects ${start}-${end}, ${kinds[n + 1]?.[0]}`,
          median(times),
          median(baseTimes),
          0.95,
          rounds,
          end - start + 1,
          median(times.map((t, r) => t / (baseTimes[r] as number))),
        );
        return {
          ...row,
          baseline: `${row.baseline} (by address, an empty preload)`,
          target: 'report (≥ 0.95× throughput once optimised)',
          met: undefined,
        };
      }),
    );
  });
}

runAlone(module, () => run(Number(process.argv[2]) || ROUNDS));
