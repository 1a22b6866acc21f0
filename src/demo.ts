// svcdisc demo (npm start): the demo zone served on a free port, an HTTP backend for each SRV
// record of user.prod.kw, and an unmodified client run under the preload. One screen shows
// where the requests go against the weights; halfway one backend stops and traffic fails over.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type * as packet from 'dns-packet';
import { DEMO_ZONE, type Help, type ParseArgs } from './cli.js';
import { DnsServer } from './server/serve.js';

const ROOT = join(__dirname, '..');
const SERVICE = 'user.prod.kw';

interface Backend {
  label: string;
  priority: number;
  weight: number;
  server: http.Server;
  /** Requests answered before and after the stop halfway. */
  requests: [number, number];
  stoppedAt?: number;
}

async function startBackend(record: packet.SrvAnswer, address: string): Promise<Backend> {
  const label = record.data.target.split('.')[0] ?? record.data.target;
  const server = http.createServer((_req, res) => res.end(label));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const where = `${address}:${record.data.port}`;
      reject(
        new Error(
          `backend ${label} cannot listen on ${where} (${error.code}): free it, or edit ${DEMO_ZONE}`,
        ),
      );
    });
    server.listen(record.data.port, address, resolve);
  });
  const { priority = 0, weight = 0 } = record.data;
  return { label, priority, weight, server, requests: [0, 0] };
}

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
    `zone ${DEMO_ZONE}, served on ${dns}`,
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

export async function demoCommand(
  args: string[],
  out: (line: string) => void,
  parseArgs: ParseArgs,
  help: Help,
): Promise<number> {
  const { flags } = parseArgs('demo', args, { seconds: 'value', help: 'flag' });
  if (flags.has('help')) return help('demo', out);
  const seconds = Number(flags.get('seconds') ?? 14);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 600) {
    throw new Error(`--seconds must be 1-600, not "${flags.get('seconds')}"`);
  }
  const dns = await DnsServer.start({
    zoneFile: DEMO_ZONE,
    host: '127.0.0.1',
    port: 0,
    watchIntervalMs: 0,
  });
  const backends: Backend[] = [];
  try {
    const records = dns.zone.records.filter(
      (r): r is packet.SrvAnswer => r.type === 'SRV' && r.name === SERVICE,
    );
    for (const record of records) {
      const glue = dns.zone.records.find((r) => r.type === 'A' && r.name === record.data.target) as
        | packet.StringAnswer
        | undefined;
      backends.push(await startBackend(record, glue?.data ?? '127.0.0.1'));
    }
    return await runClient(backends, seconds, dns.address, out);
  } finally {
    for (const b of backends) b.server.close();
    await dns.close();
  }
}

async function runClient(
  backends: Backend[],
  seconds: number,
  dns: string,
  out: (line: string) => void,
): Promise<number> {
  const tty = process.stdout.isTTY === true;
  const started = Date.now();
  const screen: Screen = { backends, failed: 0, elapsed: 0, seconds, dns, events: [] };
  const failures = new Map<string, number>();
  const draw = () => {
    screen.elapsed = (Date.now() - started) / 1000;
    return render(screen);
  };
  // Halfway, the busiest backend goes away: new connections to it are refused.
  const [victim] = [...backends].sort((x, y) => x.priority - y.priority || y.weight - x.weight);
  const client = spawn(
    process.execPath,
    ['-r', join(ROOT, 'register.cjs'), join(ROOT, 'examples', 'demo-client.js')],
    {
      env: {
        ...process.env,
        SVCDISC_NAMESERVERS: dns,
        SVCDISC_DOMAINS: 'kw',
        DEMO_SECONDS: String(seconds),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  createInterface({ input: client.stdout }).on('line', (line) => {
    const [status, value = ''] = line.split(' ');
    const backend = backends.find((b) => b.label === value);
    if (status === 'ok' && backend) backend.requests[victim?.stoppedAt === undefined ? 0 : 1]++;
    else {
      screen.failed++;
      failures.set(value, (failures.get(value) ?? 0) + 1);
    }
  });
  const refresh = setInterval(() => {
    if (tty) process.stdout.write(`\x1b[H\x1b[2J${draw()}\n`);
  }, 250);
  const stopper = setTimeout(
    () => {
      if (!victim) return;
      victim.server.close();
      victim.stoppedAt = (Date.now() - started) / 1000;
      screen.events.push(
        `${victim.label} stopped at ${victim.stoppedAt.toFixed(1)} s: its share moves to the others, and no request fails`,
      );
    },
    (seconds * 1000) / 2,
  );
  const code = await new Promise<number>((resolve) =>
    client.on('exit', (status) => resolve(status ?? 1)),
  );
  clearInterval(refresh);
  clearTimeout(stopper);
  if (tty) process.stdout.write(`\x1b[H\x1b[2J${draw()}\n`);
  else out(draw());
  if (failures.size > 0)
    out(`failures: ${[...failures].map(([why, n]) => `${why} x${n}`).join(', ')}`);
  return code === 0 && screen.failed === 0 ? 0 : 1;
}
