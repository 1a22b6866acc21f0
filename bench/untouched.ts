// What the preload costs connections it does not touch (an IP literal, a name outside the
// domains): connects to a local server with install() and without, alternating rounds.
//   npx tsx bench/untouched.ts
import net from 'node:net';
import { install, uninstall } from '../dist/index.js';
import { alternate, connectClose, type Row, runAlone, throughputRow, timed } from './lib.js';

const ROUNDS = 21;
const CONNECTS = 5000;

export async function run(): Promise<Row[]> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const rows: Row[] = [];
  try {
    for (const host of ['127.0.0.1', 'localhost']) {
      const work = async () => {
        for (let i = 0; i < CONNECTS; i++) await connectClose(port, host);
      };
      const [svcdisc, baseline, ratio] = await alternate(
        ROUNDS,
        async () => {
          install({ domains: ['kw'], nameservers: ['127.0.0.1:1'] });
          try {
            return await timed(work);
          } finally {
            uninstall();
          }
        },
        () => timed(work),
      );
      rows.push({
        ...throughputRow(
          `untouched connects to ${host} (${CONNECTS})`,
          svcdisc,
          baseline,
          0.95,
          ROUNDS,
          CONNECTS,
          ratio,
        ),
        target: '≈ 1× (a string check)',
      });
    }
  } finally {
    server.close();
  }
  return rows;
}

runAlone(module, run);
