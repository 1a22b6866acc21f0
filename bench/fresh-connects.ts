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
import { emptyPreload, median, REGISTER, type Row, runAlone } from './lib.js';
import { nodeProcess, withService } from './startup.js';

const ROUNDS = 31;
/** The blocks' ends: connects 1-1000, 1001-3000, 3001-6000, 6001-10 000 (after the first). */
const BLOCKS = [1000, 3000, 6000, 10_000];

/** The child: one untimed connect+close, then `blocks` (their ends); prints each block's ms as
 * JSON. With `fromMemory`, each connect's lookup answers 127.0.0.1 in a tick, as a cache would.
 * bench/instructions.ts counts it too. */
export const program = (host: string, port: number, fromMemory = false, blocks = BLOCKS) => `
const net = require('net');
const answer = [{ address: '127.0.0.1', family: 4 }];
const lookup = (name, options, callback) => options.all
  ? process.nextTick(callback, null, answer)
  : process.nextTick(callback, null, '127.0.0.1', 4);
const options = { port: ${port}, host: ${JSON.stringify(host)}${fromMemory ? ', lookup' : ''} };
const connectClose = () => new Promise((resolve, reject) => {
  const socket = net.connect(options, () => { socket.destroy(); resolve(); });
  socket.on('error', reject);
});
(async () => {
  await connectClose();
  const took = [];
  let done = 0;
  for (const end of ${JSON.stringify(blocks)}) {
    const started = performance.now();
    for (; done < end; done++) await connectClose();
    took.push(performance.now() - started);
  }
  console.log(JSON.stringify(took));
})();
`;

export async function run(rounds = ROUNDS): Promise<Row[]> {
  return withService(async (port, nameserver) => {
    const blocks = async (preload: string, code: string, env = {}) => {
      const { stdout } = await nodeProcess(['-r', preload, '-e', code], env);
      return JSON.parse(stdout) as number[];
    };
    const kinds = [
      ['by address', () => blocks(emptyPreload(), program('127.0.0.1', port))],
      [
        'svcdisc',
        () => blocks(REGISTER, program('svc.prod.kw', 1), { SVCDISC_NAMESERVERS: nameserver }),
      ],
      [
        "Node's own connect by name, a lookup from memory",
        () => blocks(emptyPreload(), program('svc.prod.kw', port, true)),
      ],
    ] as const;
    const measured: number[][][] = kinds.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < kinds.length; k++) {
        const i = (round + k) % kinds.length;
        (measured[i] as number[][]).push(await (kinds[i] as (typeof kinds)[number])[1]());
      }
    }
    const [base = [], ...others] = measured;
    return others.flatMap((own, n) =>
      BLOCKS.map((end, i) => {
        const start = (BLOCKS[i - 1] ?? 0) + 1;
        const connects = end - start + 1;
        const rate = (ms: number) => `${Math.round((connects / ms) * 1000)}/s`;
        const times = own.map((block) => block[i] as number);
        const baseTimes = base.map((block) => block[i] as number);
        return {
          case: `new connections in a fresh process, connects ${start}-${end}, ${kinds[n + 1]?.[0]}`,
          svcdisc: rate(median(times)),
          baseline: `${rate(median(baseTimes))} (by address, an empty preload)`,
          ratio: (1 / median(times.map((t, r) => t / (baseTimes[r] as number)))).toFixed(3),
          target: 'report (≥ 0.95× throughput once optimised)',
          runs: rounds,
        };
      }),
    );
  });
}

runAlone(module, () => run(Number(process.argv[2]) || ROUNDS));
