// Instructions, not milliseconds: what svcdisc's start-up, its first connect and the warm
// connects of a fresh process's first thousand execute, counted by callgrind. A wall-clock run
// here moves by ±3–5 % (1–1.5 ms of a start-up); callgrind counts the same instructions to
// 0.01–0.02 M in every run of a process whose V8 runs on one thread with fixed seeds, which
// shows a change of 0.05 ms (bench/README.md, the twenty-ninth pass); a warm connect's count
// moves by up to 3 K of 130–260 K (the thirty-ninth pass). Not part of `npm run bench`: it
// needs valgrind and takes about two minutes.
//     npm run build && npx tsx bench/instructions.ts
//
// Those flags change V8's flag hash, so the caches `npm install` makes would be rejected: this
// runs on a copy of dist/ whose caches dist/warm.js made under them, with the loaders' option
// checks answering "plain", so that each process takes the path of one without flags. The
// flags also make V8 reject Node's own code cache of the builtins loaded after its snapshot
// (`vm`, `net`, `dns`, `http`: NODE_DEBUG_NATIVE=CODE_CACHE shows it), so whatever loads one
// of those counts high: compare like with like (both sides load `net` and `dns`; svcdisc alone
// loads `vm`).
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../test/temp-dir.js';
import { connectLoop, emptyPreload, type Row, runAlone } from './lib.js';
import {
  connectAndExit,
  floorPreloads,
  minimalSrvClient,
  START_UP_CASES,
  withService,
} from './startup.js';

const FLAGS = ['--single-threaded', '--hash-seed=1', '--random-seed=1'];
const ROOT = join(__dirname, '..');

/** `text` with `from` replaced by `to`, where `from` is there (else the loaders moved). */
function patched(text: string, from: string, to: string, file: string): string {
  if (!text.includes(from)) throw new Error(`${file}: "${from}" not found: update this bench`);
  return text.replace(from, to);
}

/** A copy of the preload (register.cjs, dist/) whose code caches were made under FLAGS, with
 * the option checks of both loaders answering "plain"; returns its register.cjs. */
async function preloadUnderFlags(): Promise<string> {
  const dir = tempDir('instructions');
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const register = join(dir, 'register.cjs');
  const from = 'function onlyLoads(options) {';
  writeFileSync(
    register,
    patched(
      readFileSync(join(ROOT, 'register.cjs'), 'utf8'),
      from,
      `${from}\n  return true;`,
      register,
    ),
  );
  const startUp = join(dir, 'dist', 'patch', 'install.js');
  const plain = 'function plainOptions() {';
  writeFileSync(
    startUp,
    patched(readFileSync(startUp, 'utf8'), plain, `${plain}\n  return true;`, startUp),
  );
  const patches = join(dir, 'dist', 'patch');
  for (const name of readdirSync(patches)) {
    if (name.endsWith('.cache')) rmSync(join(patches, name));
  }
  await promisify(execFile)(process.execPath, [...FLAGS, join(dir, 'dist', 'warm.js')]);
  return register;
}

/** The instructions `node FLAGS ...args` executes, with `env`. Not spawnSync: a program that
 * connects to the server of this process needs its event loop free to accept. */
async function instructions(args: string[], env: Record<string, string> = {}): Promise<number> {
  const { stderr } = await promisify(execFile)(
    'valgrind',
    ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, ...FLAGS, ...args],
    { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, maxBuffer: 1 << 24 },
  ).catch((error: { stderr?: string }) => {
    throw new Error(`valgrind: ${String(error.stderr).slice(-500)}`);
  });
  const collected = /Collected : (\d+)/.exec(stderr)?.[1];
  if (!collected) throw new Error(`valgrind: ${stderr.slice(-500)}`);
  return Number(collected);
}

const millions = (count: number) => `${(count / 1e6).toFixed(2)} M`;

/** Warm connects counted in a process's first thousand: connects SHORT+1 to LONG (the first,
 * svcdisc's cold one, among the SHORT), before V8 has optimised their path (bench/README.md, the thirty-ninth pass). */
const SHORT = 100;
const LONG = 1100;

const thousands = (count: number) => `${(count / 1e3).toFixed(1)} K`;

/** A row of `svcdisc` against `baseline` instructions: the difference. */
const row = (
  name: string,
  svcdisc: number,
  baseline: number,
  what: string,
  unit = millions,
): Row => ({
  case: name,
  svcdisc: unit(svcdisc),
  baseline: `${unit(baseline)} (${what})`,
  ratio: `+${unit(svcdisc - baseline)}`,
  target: 'report',
  runs: 1,
});

export async function run(): Promise<Row[]> {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.log('bench/instructions.ts: valgrind is not installed (apt-get install valgrind)');
    return [];
  }
  const register = await preloadUnderFlags();
  const floors = floorPreloads();
  const rows: Row[] = [];
  const preloads = [
    ['', register],
    ...floors.map(({ label, file }) => [`, ${label}`, file] as const),
  ];
  for (const [name, code] of START_UP_CASES) {
    const empty = await instructions(['-r', emptyPreload(), '-e', code]);
    for (const [kind, preload] of preloads) {
      const count = await instructions(['-r', preload, '-e', code]);
      rows.push(row(`${name}${kind}`, count, empty, 'an empty preload'));
    }
  }
  rows.push(
    ...(await withService(async (port, nameserver) => {
      const byAddress = await instructions([
        '-r',
        emptyPreload(),
        '-e',
        connectAndExit('127.0.0.1', port),
      ]);
      const byName = await instructions(['-r', register, '-e', connectAndExit('svc.prod.kw', 1)], {
        SVCDISC_NAMESERVERS: nameserver,
      });
      const measured = [
        row('first intercepted connect, fresh process', byName, byAddress, 'by address'),
      ];
      for (const { name, file } of floors) {
        const least = await instructions([
          '-r',
          file,
          '-e',
          minimalSrvClient(nameserver, 'svc.prod.kw'),
        ]);
        measured.push(
          row(
            `first connect by name, least SRV client after ${name}`,
            least,
            byAddress,
            'by address',
          ),
        );
      }
      /** Instructions a connect, connects SHORT+1 to LONG of `connectLoop(host, port)` under
       * `preload` (a process making LONG less one making SHORT). */
      const perConnect = async (
        preload: string,
        host: string,
        to: number,
        fromMemory = false,
        env: Record<string, string> = {},
      ) => {
        const count = (connects: number) =>
          instructions(['-r', preload, '-e', connectLoop(host, to, [connects], fromMemory)], env);
        return ((await count(LONG)) - (await count(SHORT))) / (LONG - SHORT);
      };
      const warmByAddress = await perConnect(emptyPreload(), '127.0.0.1', port);
      const warm = (who: string, count: number): Row =>
        row(
          `warm connects ${SHORT + 1}-${LONG} of a fresh process, a connect: ${who}`,
          count,
          warmByAddress,
          'by address, an empty preload',
          thousands,
        );
      measured.push(
        warm(
          'svcdisc',
          await perConnect(register, 'svc.prod.kw', 1, false, { SVCDISC_NAMESERVERS: nameserver }),
        ),
        warm(
          "Node's own connect by name, a lookup from memory",
          await perConnect(emptyPreload(), 'svc.prod.kw', port, true),
        ),
      );
      return measured;
    })),
  );
  return rows;
}

runAlone(module, run);
