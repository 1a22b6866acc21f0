// svcdisc demo (npm start): the demo zone served on a free port, accepting updates; four HTTP
// backends that register themselves (SVCDISC_ANNOUNCE) with weights 60/30/10 and a priority-20
// backup; an unmodified client run under the preload. One screen shows where the requests go
// against the weights; halfway one backend stops, withdraws its record, and traffic fails over.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { UsageError } from '../errors.js';
import { DnsServer } from '../server/serve.js';
import { DEMO_ZONE, help, parseArgs } from './args.js';

const ROOT = join(__dirname, '..', '..');
const REGISTER = join(ROOT, 'register.cjs');
/** Not in the demo zone: it exists only while the backends announce it. */
const SERVICE = 'api.prod.kw';
/** TTL of the records the backends publish, s: how soon clients see one leave. */
const ANNOUNCE_TTL = 1;

interface Backend {
  label: string;
  priority: number;
  weight: number;
  process?: ChildProcess;
  /** Requests answered before and after the stop halfway. */
  requests: [number, number];
  stoppedAt?: number;
  /** When it answered its last request, s from the start. */
  lastAt?: number;
}

const BACKENDS: Omit<Backend, 'requests'>[] = [
  { label: 'alpha', priority: 10, weight: 60 },
  { label: 'beta', priority: 10, weight: 30 },
  { label: 'gamma', priority: 10, weight: 10 },
  { label: 'backup', priority: 20, weight: 100 },
];

interface Screen {
  backends: Backend[];
  failed: number;
  elapsed: number;
  seconds: number;
  dns: string;
  events: string[];
}

/** Each backend's priority and weight, and the requests it answered in each half. */
function render({ backends, failed, elapsed, seconds, dns, events }: Screen): string {
  const lowest = Math.min(...backends.map((b) => b.priority));
  const weights = backends.reduce((sum, b) => sum + (b.priority === lowest ? b.weight : 0), 0);
  const totals = [0, 1].map(
    (half) => backends.reduce((sum, b) => sum + (b.requests[half] ?? 0), 0) || 1,
  );
  const cell = (count: number, half: number) =>
    `${count} (${((count / (totals[half] ?? 1)) * 100).toFixed(0)}%)`.padStart(14);
  const lines = [
    `svcdisc demo: an unmodified client asks http://${SERVICE}/ under node -r svcdisc/register`,
    `zone ${DEMO_ZONE}, served on ${dns}; the backends registered themselves (RFC 2136)`,
    '',
    'backend  priority  weight  weight share    first half   second half',
  ];
  for (const b of backends) {
    const share =
      b.priority === lowest && weights > 0
        ? `${((b.weight / weights) * 100).toFixed(0)}%`
        : 'backup';
    const state = b.stoppedAt === undefined ? '' : `  stopped at ${b.stoppedAt.toFixed(1)} s`;
    const columns = [
      b.label.padEnd(8),
      String(b.priority).padStart(8),
      String(b.weight).padStart(6),
      share.padStart(12),
    ];
    lines.push(`${columns.join('  ')}${cell(b.requests[0], 0)}${cell(b.requests[1], 1)}${state}`);
  }
  lines.push(
    '',
    `failed requests: ${failed}    ${elapsed.toFixed(1)} s of ${seconds} s`,
    ...events,
  );
  return lines.join('\n');
}

const registered = (dns: DnsServer) =>
  dns.zone.records.filter((r) => r.type === 'SRV' && r.name === SERVICE).length;

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`${what} within ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function demoCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { flags } = parseArgs('demo', args, { seconds: 'value', help: 'flag' });
  if (flags.has('help')) return help('demo', out);
  const seconds = Number(flags.get('seconds') ?? 14);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 600) {
    throw new UsageError(`svcdisc demo: --seconds must be 1-600, not "${flags.get('seconds')}"`);
  }
  const dns = await DnsServer.start({
    zoneFile: DEMO_ZONE,
    host: '127.0.0.1',
    port: 0,
    watchIntervalMs: 0,
    updates: { allowUnsigned: true },
  });
  const backends: Backend[] = BACKENDS.map((b) => ({ ...b, requests: [0, 0] }));
  try {
    const started = Date.now();
    for (const b of backends) {
      b.process = spawn(
        process.execPath,
        ['-r', REGISTER, join(ROOT, 'examples', 'demo-backend.js')],
        {
          env: {
            ...process.env,
            DEMO_LABEL: b.label,
            SVCDISC_NAMESERVERS: dns.address,
            SVCDISC_ANNOUNCE: SERVICE,
            SVCDISC_ANNOUNCE_ADDRESS: '127.0.0.1',
            SVCDISC_ANNOUNCE_PRIORITY: String(b.priority),
            SVCDISC_ANNOUNCE_WEIGHT: String(b.weight),
            SVCDISC_ANNOUNCE_TTL: String(ANNOUNCE_TTL),
          },
          stdio: 'inherit',
        },
      );
    }
    await waitFor(
      () => registered(dns) === backends.length,
      10_000,
      'the backends did not all register',
    );
    const event = `${backends.map((b) => b.label).join(', ')} registered themselves in ${((Date.now() - started) / 1000).toFixed(1)} s`;
    return await runClient(backends, seconds, dns, [event], out);
  } finally {
    const running = backends.filter(
      (b) => b.process && b.process.exitCode === null && b.process.signalCode === null,
    );
    const exited = running.map((b) => new Promise((resolve) => b.process?.once('exit', resolve)));
    for (const b of running) b.process?.kill('SIGTERM');
    await Promise.all(exited);
    await dns.close();
  }
}

async function runClient(
  backends: Backend[],
  seconds: number,
  dns: DnsServer,
  events: string[],
  out: (line: string) => void,
): Promise<number> {
  const tty = process.stdout.isTTY === true;
  const started = Date.now();
  const screen: Screen = { backends, failed: 0, elapsed: 0, seconds, dns: dns.address, events };
  const failures = new Map<string, number>();
  const draw = () => {
    screen.elapsed = (Date.now() - started) / 1000;
    return render(screen);
  };
  // Halfway, the busiest backend is stopped (SIGTERM): it withdraws its record and exits.
  const [victim] = [...backends].sort((x, y) => x.priority - y.priority || y.weight - x.weight);
  const client = spawn(
    process.execPath,
    ['-r', REGISTER, join(ROOT, 'examples', 'demo-client.js')],
    {
      env: {
        ...process.env,
        SVCDISC_NAMESERVERS: dns.address,
        SVCDISC_DOMAINS: 'kw',
        DEMO_SECONDS: String(seconds),
        DEMO_URL: `http://${SERVICE}/`,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  createInterface({ input: client.stdout }).on('line', (line) => {
    const [status, value = ''] = line.split(' ');
    const backend = backends.find((b) => b.label === value);
    if (status === 'ok' && backend) {
      backend.requests[victim?.stoppedAt === undefined ? 0 : 1]++;
      backend.lastAt = (Date.now() - started) / 1000;
    } else {
      screen.failed++;
      failures.set(value, (failures.get(value) ?? 0) + 1);
    }
  });
  const refresh = setInterval(() => {
    if (tty) process.stdout.write(`\x1b[H\x1b[2J${draw()}\n`);
  }, 250);
  let watcher: NodeJS.Timeout | undefined;
  const stopper = setTimeout(
    () => {
      if (!victim?.process) return;
      victim.stoppedAt = (Date.now() - started) / 1000;
      const before = registered(dns);
      victim.process.kill('SIGTERM');
      // Its record goes at once; it serves on until clients have moved (demo-backend.js).
      watcher = setInterval(() => {
        if (registered(dns) >= before) return;
        clearInterval(watcher);
        events.push(
          `${victim.label} was stopped at ${victim.stoppedAt?.toFixed(1)} s and withdrew its record: clients move to the others within its TTL (${ANNOUNCE_TTL} s), and no request fails`,
        );
      }, 50);
    },
    (seconds * 1000) / 2,
  );
  const code = await new Promise<number>((resolve) =>
    client.on('exit', (status) => resolve(status ?? 1)),
  );
  clearInterval(refresh);
  clearInterval(watcher);
  clearTimeout(stopper);
  if (victim?.stoppedAt !== undefined && victim.lastAt !== undefined) {
    events.push(
      `${victim.label} answered its last request ${Math.max(0, victim.lastAt - victim.stoppedAt).toFixed(1)} s after the stop`,
    );
  }
  if (tty) process.stdout.write(`\x1b[H\x1b[2J${draw()}\n`);
  else out(draw());
  if (failures.size > 0)
    out(`failures: ${[...failures].map(([why, n]) => `${why} x${n}`).join(', ')}`);
  return code === 0 && screen.failed === 0 ? 0 : 1;
}
