// New connections in a fresh process, by how many it has made: a program under the preload
// connecting to a service name against one under an empty preload connecting by address, each
// process timing its connects in blocks (after one untimed connect, svcdisc's cold one), the
// two kinds of process alternating. `npm run bench`'s warm-connect row measures rounds of one
// long-lived process, where every function is optimised; a fresh process runs its first
// thousands of connects in V8's lower tiers, and svcdisc's connect path is optimised later
// than Node's own (on Node 22 TurboFan compiled connectToService, #attempt and Node's
// Socket.connect around the 4000th-6000th connect; bench/README.md, the thirty-ninth pass).
// The client is alone in its process; the server and dnsmasq run in this one. Not part of
// `npm run bench` (about 80 s a Node line).
//     npm run build && npx tsx bench/fresh-connects.ts [pairs]
import { emptyPreload, median, pairs, REGISTER, type Row, runAlone } from './lib.js';
import { nodeProcess, withService } from './startup.js';

const PAIRS = 31;
/** The blocks' ends: connects 1-1000, 1001-3000, 3001-6000, 6001-10 000 (after the first). */
const BLOCKS = [1000, 3000, 6000, 10_000];

/** The child: one untimed connect+close, then BLOCKS; prints each block's ms as JSON. */
const program = (host: string, port: number) => `
const net = require('net');
const connectClose = () => new Promise((resolve, reject) => {
  const socket = net.connect(${port}, ${JSON.stringify(host)}, () => { socket.destroy(); resolve(); });
  socket.on('error', reject);
});
(async () => {
  await connectClose();
  const took = [];
  let done = 0;
  for (const end of ${JSON.stringify(BLOCKS)}) {
    const started = performance.now();
    for (; done < end; done++) await connectClose();
    took.push(performance.now() - started);
  }
  console.log(JSON.stringify(took));
})();
`;

export async function run(rounds = PAIRS): Promise<Row[]> {
  return withService(async (port, nameserver) => {
    const blocks = async (preload: string, host: string, to: number, env = {}) => {
      const { stdout } = await nodeProcess(['-r', preload, '-e', program(host, to)], env);
      return JSON.parse(stdout) as number[];
    };
    const svcdisc = () => blocks(REGISTER, 'svc.prod.kw', 1, { SVCDISC_NAMESERVERS: nameserver });
    const baseline = () => blocks(emptyPreload(), '127.0.0.1', port);
    const measured = await pairs(rounds, svcdisc, baseline);
    return BLOCKS.map((end, i) => {
      const start = (BLOCKS[i - 1] ?? 0) + 1;
      const connects = end - start + 1;
      const rate = (ms: number) => `${Math.round((connects / ms) * 1000)}/s`;
      const own = measured.map(([a]) => a[i] as number);
      const base = measured.map(([, b]) => b[i] as number);
      return {
        case: `new connections in a fresh process, connects ${start}-${end} after the first`,
        svcdisc: rate(median(own)),
        baseline: `${rate(median(base))} (by address, an empty preload)`,
        ratio: (1 / median(own.map((t, k) => t / (base[k] as number)))).toFixed(3),
        target: 'report (≥ 0.95× throughput once optimised)',
        runs: rounds,
      };
    });
  });
}

runAlone(module, () => run(Number(process.argv[2]) || PAIRS));
