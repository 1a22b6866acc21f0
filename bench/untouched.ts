// What the preload costs connections it does not touch (an IP literal, a name outside the
// domains): connects to a local server in a process started with the preload and in one
// started with an empty preload, alternating. Each process is a program as users run it,
// installed once: rounds that install() and uninstall() in one process measured `localhost`
// at 0.88–0.93 on Node 20 and 22 (each installation's new dns.lookup at the same call site
// in net), where separate processes measure about 1 (bench/README.md, the sixth pass).
//   npx tsx bench/untouched.ts
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import {
  alternate,
  connectLoop,
  emptyPreload,
  REGISTER,
  type Row,
  runAlone,
  throughputRow,
} from './lib.js';

const ROUNDS = 21;
const CONNECTS = 5000;
/** Untimed connects first in each process, so that both are compiled alike when timed. */
const WARM_UP = 500;

export async function run(): Promise<Row[]> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const empty = emptyPreload();
  const connects = async (preload: string, host: string): Promise<number> => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      // WARM_UP untimed, then CONNECTS timed.
      ['-r', preload, '-e', connectLoop(host, port, [WARM_UP, WARM_UP + CONNECTS])],
      {
        env: { PATH: process.env.PATH, SVCDISC_DOMAINS: 'kw', SVCDISC_NAMESERVERS: '127.0.0.1:1' },
      },
    );
    return (JSON.parse(stdout) as number[])[1] as number;
  };
  const rows: Row[] = [];
  try {
    for (const host of ['127.0.0.1', 'localhost']) {
      const [svcdisc, baseline, ratio] = await alternate(
        ROUNDS,
        () => connects(REGISTER, host),
        () => connects(empty, host),
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
