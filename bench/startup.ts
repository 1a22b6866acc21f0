// Start-up: what `-r svcdisc/register` adds to a process that starts, and to its first
// connection to a service name. The baseline preloads an empty file: `-r` itself costs about
// 1 ms, which svcdisc cannot remove; what it adds on top is its own.    npx tsx bench/startup.ts
import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDnsmasq } from '../test/integration/servers.js';
import {
  alternate,
  emptyPreload,
  median,
  ms,
  pairs,
  preloadFile,
  REGISTER,
  type Row,
  runAlone,
  timed,
  timeRow,
} from './lib.js';

const ROUNDS = 41;
/** Pairs for each floor of a target: the start-up floors since the thirty-seventh pass (the two
 * are 1–3 % apart and 41 pairs move by ±2–3 % between runs, so a floor's verdict came from noise
 * in some runs; 101 pairs move by about half as much, for 20 s more a run), the first connect's
 * since the thirty-eighth (its contract's floor sits within a millisecond of the target). */
const FLOOR_ROUNDS = 101;
/** The code caches' maker: the build runs it without options, as npm install does; the heap
 * row runs it with its V8 flags. */
export const WARM = join(__dirname, '..', 'dist', 'warm.js');
/** The V8 flags of the heap row's processes: `gc()`, and no page promotion. A collection that
 * finds a page of the young generation mostly alive moves the whole page to the old generation,
 * and after two full collections such a process counted 210-230 KB more heap than one whose
 * collections copied the objects (the live objects the same, 3738 KB by a heap snapshot, Node 20):
 * which of the two a process took depended on the timing of V8's GC threads: one process in
 * two under load, all seven of a run once. Without page promotion every process counts the
 * same. */
const HEAP_FLAGS = ['--expose-gc', '--no-page-promotion'];
/** Processes per heap figure: the least of them (until the twenty-eighth pass the one remedy
 * for the two values above, which all seven processes of a run could take the higher of). */
const HEAP_RUNS = 7;

/** The floor of a first connect by name: the least any SRV client does — a dgram socket, one
 * query written by hand, the port and the glue address read from the reply, net.connect. Its
 * socket binds without loading `cluster` (connect()'s own bind loads it: 0.5–0.7 ms), as
 * svcdisc's: connected with dgram's connectSync() where Node has it (24.22, 26; since the
 * thirty-third pass), else given a handle bound already (Node 20, 22; the thirty-fourth). */
export const minimalSrvClient = (dns: string, name: string, connected = '') => `
const [host, port] = ${JSON.stringify(dns)}.split(':');
const q = Buffer.alloc(512);
q.writeUInt16BE((Math.random() * 65536) | 0, 0);
q.writeUInt16BE(0x0100, 2);
q.writeUInt16BE(1, 4);
let o = 12;
for (const label of ${JSON.stringify(name)}.split('.')) { q[o++] = label.length; o += q.write(label, o); }
q[o++] = 0; q.writeUInt16BE(33, o); q.writeUInt16BE(1, o + 2); o += 4;
const s = require('dgram').createSocket('udp4');
s.on('message', (m) => {
  let p = 12;
  const skip = () => { if ((m[p] & 0xc0) === 0xc0) p += 2; else { while (m[p]) p += m[p] + 1; p++; } };
  skip(); p += 4;
  skip(); p += 8; const length = m.readUInt16BE(p); p += 2;
  const srvPort = m.readUInt16BE(p + 4); p += length;
  let address;
  while (p < m.length && !address) {
    skip(); const type = m.readUInt16BE(p); p += 8; const l = m.readUInt16BE(p); p += 2;
    if (type === 1) address = m.subarray(p, p + 4).join('.');
    p += l;
  }
  s.close();
  require('net').connect(srvPort, address, function () { this.destroy(); ${connected} });
});
if (s.connectSync) { s.connectSync(Number(port), host); s.send(q.subarray(0, o)); }
else {
  const state = s[Object.getOwnPropertySymbols(s).find((k) => k.description === 'state symbol')];
  const handle = new state.handle.constructor();
  handle.bind('0.0.0.0', 0, 0);
  s.bind(handle);
  s.connect(Number(port), host, () => s.send(q.subarray(0, o)));
}
`;

/** The floor of the start-up targets: the least a preload that routes connections by name
 * does at start-up — load `net` and `dns` and put a wrapper on `Socket#connect` and
 * `dns.lookup` — and nothing else: no file read, no settings, no matcher. Where it misses a
 * target against the empty preload, no preload that patches at start-up can meet it. */
const FLOOR_PRELOAD = `'use strict';
const net = require('node:net');
const dns = require('node:dns');
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) { return connect.apply(this, args); };
const lookup = dns.lookup;
dns.lookup = function (...args) { return lookup.apply(this, args); };
`;

/** The floor of svcdisc's start-up contract (README, Configuration and What the preload does):
 * the least a preload does at start-up that keeps it, where no SVCDISC_* variable is set —
 * SVCDISC_DISABLE read, the scan for misspelled SVCDISC_* names, the domains' matcher, one
 * installation per process, the wrappers of `Socket#connect`, `dns.lookup` (its symbols kept)
 * and `dns.promises.lookup` (on the getter, or when `dns/promises` is required), the hook of
 * `fetch`, the ESM exports refreshed where ES modules may have imported `dns`, and the pools a
 * program has already. In plain JavaScript compiled at each start (3.5 KB), no settings table,
 * no messages, no file read: what is left to cut is below any implementation of the contract
 * (bench/instructions.ts; bench/README.md, the thirty-seventh pass). Its wrappers' bodies run
 * only at a connect or lookup, which start-up never makes. */
const CONTRACT_PRELOAD = `'use strict';
const env = process.env;
const disable = (env.SVCDISC_DISABLE ?? '').trim().toLowerCase();
if (disable !== '1' && disable !== 'true') {
  for (const name of Object.getOwnPropertyNames(env))
    if (name.startsWith('SVCDISC_') && name !== 'SVCDISC_DISABLE') throw new Error(name);
  const domains = ['kw'];
  const matcher = (host) => {
    const end = host.charCodeAt(host.length - 1) === 46 ? host.length - 1 : host.length;
    for (const domain of domains) {
      const start = end - domain.length;
      if (start < 0 || (start > 0 && host.charCodeAt(start - 1) !== 46)) continue;
      if (host.slice(start, end).toLowerCase() === domain) return host.slice(0, end).toLowerCase();
    }
    return undefined;
  };
  const builtin = process.getBuiltinModule ?? require;
  const net = builtin('node:net');
  const dns = builtin('node:dns');
  const INSTALLED = Symbol.for('svcdisc.installed');
  if (globalThis[INSTALLED]) throw new Error('installed twice');
  let side;
  const load = () => (side ??= require('./side.js'));
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    const options = args[0];
    const host = options !== null && typeof options === 'object' ? options.host : undefined;
    if (typeof host !== 'string' || matcher(host) === undefined) return connect.apply(this, args);
    return load().connect(this, args);
  };
  const lookup = dns.lookup;
  function patchedLookup(hostname, options, callback) {
    if (typeof hostname !== 'string' || matcher(hostname) === undefined)
      return Reflect.apply(lookup, this, arguments);
    return load().lookup(hostname, options, callback);
  }
  for (const symbol of Object.getOwnPropertySymbols(lookup))
    Object.defineProperty(patchedLookup, symbol, Object.getOwnPropertyDescriptor(lookup, symbol));
  Object.defineProperty(patchedLookup, Symbol.for('svcdisc.unpatchedLookup'), { value: lookup });
  dns.lookup = patchedLookup;
  const Module = module.constructor;
  const loaded = process.moduleLoadList;
  const patchPromises = (api) => {
    const original = api.lookup;
    api.lookup = function (hostname, options) {
      if (typeof hostname !== 'string' || matcher(hostname) === undefined)
        return Reflect.apply(original, this, arguments);
      return load().lookup(hostname, options);
    };
  };
  if (loaded.includes('NativeModule internal/dns/promises')) patchPromises(dns.promises);
  else {
    const descriptor = Object.getOwnPropertyDescriptor(dns, 'promises');
    Object.defineProperty(dns, 'promises', {
      ...descriptor,
      get() {
        const api = descriptor.get.call(this);
        Object.defineProperty(dns, 'promises', descriptor);
        patchPromises(api);
        return api;
      },
    });
    const moduleLoad = Module._load;
    Module._load = function (request) {
      const result = Reflect.apply(moduleLoad, this, arguments);
      if (request === 'dns/promises' || request === 'node:dns/promises') patchPromises(result);
      return result;
    };
  }
  const fetch = globalThis.fetch;
  if (typeof fetch === 'function')
    globalThis.fetch = function (input) {
      return Reflect.apply(fetch, this, arguments);
    };
  if (loaded.includes('NativeModule internal/modules/esm/translators'))
    Module.syncBuiltinESMExports();
  if (loaded.includes('NativeModule http') || loaded.includes('NativeModule https')) load();
  globalThis[INSTALLED] = true;
}
`;

/** The floors of a preload's targets, each a preload written to a file of its own: its label in
 * BENCHMARKS.md's verdicts, what it does, and how a row names a process started with it. The
 * first floor since the twentieth pass, the contract's since the thirty-seventh. */
export const floorPreloads = () =>
  [
    {
      label: 'the floor',
      what: 'net, dns, two wrappers',
      name: 'the floor preload',
      file: preloadFile('floor.js', FLOOR_PRELOAD),
    },
    {
      label: "the contract's floor",
      what: "svcdisc's start-up duties, 3.5 KB",
      name: "the contract's preload",
      file: preloadFile('contract.js', CONTRACT_PRELOAD),
    },
  ] as const;

/** `node ...args` with nothing of this process's environment but PATH, and `env`. */
export const nodeProcess = (args: string[], env: Record<string, string> = {}) =>
  promisify(execFile)(process.execPath, args, { env: { PATH: process.env.PATH, ...env } });

/** How long `node ...args` takes, ms. */
export const node = (args: string[], env: Record<string, string> = {}) =>
  timed(() => nodeProcess(args, env));

/** The first-connect target: at most this many ms more than a connect by address, plus one
 * DNS round trip. */
const FIRST_CONNECT = 'first intercepted connect, fresh process';
const FIRST_CONNECT_MAX = 3;
/** The row of the least SRV client with no preload. */
const LEAST_CLIENT = 'first connect by name, minimal SRV client (the floor)';

export const START_UP_CASES = [
  ['start-up of a networking program', "require('http')", 1.02],
  ['start-up, bare', '0', 1.03],
] as const;

/** The settings of the README's compose file for a service that announces itself: each set
 * variable is checked at start-up (the start-up cases above set none). */
const COMPOSE_SETTINGS = {
  SVCDISC_NAMESERVERS: '172.28.0.53',
  SVCDISC_ANNOUNCE: 'user.prod.kw',
  SVCDISC_TSIG_KEY: `svcdisc:hmac-sha256:${Buffer.alloc(32, 7).toString('base64')}`,
};

/** A start-up case with `preload` against the same with the empty preload, both with `env`,
 * in `rounds` pairs: the medians and the median of the pairs' ratios. */
const startUp = (
  preload: string,
  code: string,
  env: Record<string, string> = {},
  rounds = ROUNDS,
) =>
  alternate(
    rounds,
    () => node(['-r', preload, '-e', code], env),
    () => node(['-r', emptyPreload(), '-e', code], env),
  );

/** A start-up case reported beside the row of its target (`after`), with no target of its own. */
const reportedStartUp = (
  name: string,
  [svcdisc, baseline, ratio]: [number, number, number],
  target: string,
  after: string,
  rounds = ROUNDS,
): Row => ({
  case: name,
  svcdisc: ms(svcdisc),
  baseline: ms(baseline),
  ratio: ratio.toFixed(3),
  target,
  runs: rounds,
  after,
});

export const connectAndExit = (host: string, p: number, connected = '') =>
  `require('net').connect(${p}, '${host}', function () { this.destroy(); ${connected} })`;

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

/** A first connect by name against one by address, each in a fresh process: the medians, and
 * the median of the pairs' differences less one DNS round trip, ms. */
interface FirstConnectTimes {
  byName: number;
  byAddress: number;
  extra: number;
}

/** What the first-connect cases share: a TCP server, dnsmasq with its SRV record, one DNS round
 * trip (c-ares against the same server), and the first connect by address to compare with. */
interface FirstConnect {
  nameserver: string;
  roundTrip: number;
  measure(byName: () => Promise<number>, rounds?: number): Promise<FirstConnectTimes>;
}

/** `work` with a TCP server that closes what it accepts on 127.0.0.1:`port`, and dnsmasq at
 * `nameserver` answering svc.prod.kw's SRV record for it, with its target's address as glue. */
export async function withService<T>(
  work: (port: number, nameserver: string) => Promise<T>,
): Promise<T> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const dns = await startDnsmasq(
      [
        'local-ttl=30',
        `srv-host=svc.prod.kw,svc.host.kw,${port},10,10`,
        'host-record=svc.host.kw,127.0.0.1',
      ],
      'svc.prod.kw',
    );
    try {
      return await work(port, dns.nameserver);
    } finally {
      await dns.stop();
    }
  } finally {
    server.close();
  }
}

function withFirstConnect(work: (fixture: FirstConnect) => Promise<Row[]>): Promise<Row[]> {
  return withService(async (port, nameserver) => {
    const ares = new Resolver();
    ares.setServers([nameserver]);
    const trips: number[] = [];
    for (let i = 0; i < 31; i++) trips.push(await timed(() => ares.resolveSrv('svc.prod.kw')));
    const roundTrip = median(trips);
    const byAddress = () => node(['-r', emptyPreload(), '-e', connectAndExit('127.0.0.1', port)]);
    return await work({
      nameserver,
      roundTrip,
      async measure(byName, rounds = ROUNDS) {
        const results = await pairs(rounds, byName, byAddress);
        return {
          byName: median(results.map(([a]) => a)),
          byAddress: median(results.map(([, b]) => b)),
          extra: median(results.map(([a, b]) => a - b - roundTrip)),
        };
      },
    });
  });
}

/** A row that reports a first connect's times. */
const firstConnectRow = (name: string, times: FirstConnectTimes, rounds = ROUNDS): Row => ({
  case: name,
  svcdisc: ms(times.byName),
  baseline: ms(times.byAddress),
  ratio: `+${times.extra.toFixed(2)} ms`,
  target: 'report',
  runs: rounds,
});

/** Once connected: the heap the process holds after two full collections, bytes, on stdout. */
const PRINT_HEAP =
  'setImmediate(() => { gc(); gc(); process.stdout.write(String(process.memoryUsage().heapUsed)); });';

/** The least heap (bytes) of HEAP_RUNS processes `node ...HEAP_FLAGS ...args` that print it. */
async function heapOf(args: string[], env: Record<string, string> = {}): Promise<number> {
  const heaps: number[] = [];
  for (let i = 0; i < HEAP_RUNS; i++) {
    heaps.push(Number((await nodeProcess([...HEAP_FLAGS, ...args], env)).stdout));
  }
  return Math.min(...heaps);
}

/** The least SRV client's first connect, in a process started with `preload`. */
const minimal = (preload: string, nameserver: string) => () =>
  node(['-r', preload, '-e', minimalSrvClient(nameserver, 'svc.prod.kw')]);

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [name, code, max] of START_UP_CASES) {
    const [svcdisc, baseline, ratio] = await startUp(REGISTER, code);
    rows.push(timeRow(name, svcdisc, baseline, max, ROUNDS, ms, ratio));
  }
  // A networking program with the settings a deployed service has (since the twenty-third pass).
  rows.push(
    reportedStartUp(
      'start-up of a networking program, configured (SVCDISC_NAMESERVERS, _ANNOUNCE, _TSIG_KEY)',
      await startUp(REGISTER, "require('http')", COMPOSE_SETTINGS),
      'report',
      START_UP_CASES[0][0],
    ),
  );

  // The first connection: to a service name (SRV query to dnsmasq, then connect) against one
  // by IP:port, each in a fresh process that exits once connected. Target: at most 3 ms more,
  // plus one DNS round trip.
  const first = await withFirstConnect(async ({ nameserver, roundTrip, measure }) => {
    const svcdisc = await measure(() =>
      node(['-r', REGISTER, '-e', connectAndExit('svc.prod.kw', 1)], {
        SVCDISC_NAMESERVERS: nameserver,
      }),
    );
    // What the target leaves to a preload: the same, done by the least SRV client there is.
    const floor = await measure(minimal(emptyPreload(), nameserver));
    return [
      {
        ...firstConnectRow(FIRST_CONNECT, svcdisc),
        baseline: `${ms(svcdisc.byAddress)} (DNS round trip ${ms(roundTrip)})`,
        target: `≤ +${FIRST_CONNECT_MAX} ms plus one round trip`,
        met: svcdisc.extra <= FIRST_CONNECT_MAX,
      },
      firstConnectRow(LEAST_CLIENT, floor),
    ];
  });
  rows.push(...first);
  return rows;
}

/**
 * The floors of the start-up and first-connect targets with a preload: the floor preload and
 * the contract's against the empty one, and the least SRV client started with each; and the
 * heap a process holds after its first intercepted connect, against that client's after the
 * floor preload. Each row goes after the row of its target (`after`). `npm run bench` runs
 * these last: every child process a bench process starts makes the connect cases after it
 * slower on Node 24 (bench/README.md, the eighteenth and twentieth passes), so these leave the
 * cases before them as they were.
 */
export async function floors(): Promise<Row[]> {
  const rows: Row[] = [];
  // Each case has two floors, each row after the one before it.
  const kinds = floorPreloads();
  for (const [name, code, max] of START_UP_CASES) {
    let after: string = name;
    for (const { label, file, what } of kinds) {
      const measured = await startUp(file, code, {}, FLOOR_ROUNDS);
      const row = `${name}, ${label} (${what})`;
      rows.push({
        ...reportedStartUp(row, measured, `report (the floor of ≤ ${max}×)`, after, FLOOR_ROUNDS),
        floorOf: { case: name, met: measured[2] <= max, label },
      });
      after = row;
    }
  }
  const first = await withFirstConnect(async ({ nameserver, measure }) => {
    // svcdisc is a preload: its first connect's floors are the least client after each floor
    // preload (the row before them has no preload); since the thirty-eighth pass the second is
    // after the contract's, as the start-up floors are, both in FLOOR_ROUNDS pairs.
    const leastRows: Row[] = [];
    let after = LEAST_CLIENT;
    for (const { label, file, name } of kinds) {
      const least = await measure(minimal(file, nameserver), FLOOR_ROUNDS);
      const row = `first connect by name, minimal SRV client after ${name}`;
      leastRows.push({
        ...firstConnectRow(row, least, FLOOR_ROUNDS),
        after,
        floorOf: { case: FIRST_CONNECT, met: least.extra <= FIRST_CONNECT_MAX, label },
      });
      after = row;
    }
    // What the process holds once connected: svcdisc's bundles, their compiled code, the
    // resolver, against the least SRV client's after the floor preload. Its processes run with
    // V8 flags (HEAP_FLAGS): the code caches for them first, as a program with V8 flags has them
    // (README), else the bundles load without (so until the twenty-seventh pass).
    await nodeProcess([...HEAP_FLAGS, WARM]);
    const env = { SVCDISC_NAMESERVERS: nameserver };
    const held = await heapOf(
      ['-r', REGISTER, '-e', connectAndExit('svc.prod.kw', 1, PRINT_HEAP)],
      env,
    );
    const [plain] = kinds;
    const leastHeld = await heapOf([
      '-r',
      plain.file,
      '-e',
      minimalSrvClient(nameserver, 'svc.prod.kw', PRINT_HEAP),
    ]);
    return [
      ...leastRows,
      {
        case: 'heap held after the first intercepted connect, collected',
        svcdisc: kb(held),
        baseline: `${kb(leastHeld)} (the least SRV client after ${plain.name})`,
        ratio: `+${kb(held - leastHeld)}`,
        target: 'report',
        runs: HEAP_RUNS,
        after,
      },
    ];
  });
  rows.push(...first);
  return rows;
}

runAlone(module, async () => [...(await run()), ...(await floors())]);
