// Nameservers the host has no route to, in a network namespace of the test's own (`unshare -n`,
// root): a container whose network is not up yet, an IPv6 server on a host without IPv6. Such
// a server counts as failed and the next one is asked; nothing is thrown out of the preload.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..');

/** Why the tests cannot run here; under CI that is an error, never a skip. */
function unavailable(): string | undefined {
  const probe = spawnSync('unshare', ['-n', 'true']);
  if (probe.status === 0) return undefined;
  const reason = `unshare -n does not work here (needs root and util-linux): ${probe.error?.message ?? probe.stderr}`;
  if (process.env.CI) throw new Error(reason);
  return reason;
}

/** Runs `script` with sh in a new network namespace (only loopback, brought up), from the
 * project's root; resolves with stdout and the exit code. */
async function inNamespace(
  script: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      'unshare',
      ['-n', 'sh', '-c', `ip link set lo up 2>/dev/null; ${script}`],
      { cwd: ROOT, env: { PATH: process.env.PATH }, timeout: 30_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('nameservers without a route (network namespace)', { skip: unavailable() }, () => {
  test('bug fix: an unreachable nameserver is a DNS error the program can catch, not an uncaught ERR_SOCKET_BAD_PORT', async () => {
    const program = `fetch('http://user.prod.kw/').then(() => console.log('answered'), (e) => console.log(e.cause.code, e.cause.message))`;
    const { code, stdout, stderr } = await inNamespace(
      `SVCDISC_NAMESERVERS=192.0.2.1 SVCDISC_TIMEOUT_MS=500 node -r ./register.cjs -e "${program.replaceAll('"', '\\"')}"`,
    );
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /ERR_SOCKET_BAD_PORT/);
    assert.match(
      stdout,
      /^ECONNREFUSED querySrv ECONNREFUSED user\.prod\.kw: .*192\.0\.2\.1:53 ENETUNREACH/,
    );
  });

  test('a nameserver name the system resolver cannot find is an error naming it', async () => {
    const program = `fetch('http://user.prod.kw/').then(() => console.log('answered'), (e) => console.log(e.cause.message))`;
    const { code, stdout, stderr } = await inNamespace(
      `SVCDISC_NAMESERVERS=nowhere.invalid node -r ./register.cjs -e "${program.replaceAll('"', '\\"')}"`,
    );
    assert.equal(code, 0, stderr);
    assert.match(
      stdout,
      /^querySrv ECONNREFUSED user\.prod\.kw: no nameserver to ask: nowhere\.invalid:53 host name not found by the system resolver \(E\w+\) \(asked nowhere\.invalid:53\)$/m,
    );
  });

  test('the unreachable servers count as failed and the next one answers (IPv4, IPv6, link-local)', async () => {
    // svcdisc serve on the namespace's loopback is the last server asked.
    const { code, stdout, stderr } = await inNamespace(
      `node dist/cli.js serve --listen 127.0.0.1:5300 >/dev/null 2>&1 & server=$!
       for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.2; SVCDISC_NAMESERVERS=127.0.0.1:5300 node dist/cli.js resolve info.kw >/dev/null 2>&1; [ $? -ne 1 ] && break; done
       SVCDISC_NAMESERVERS=192.0.2.1,[2001:db8::1]:53,[fe80::1],127.0.0.1:5300 SVCDISC_TIMEOUT_MS=500 SVCDISC_ATTEMPTS=1 \\
         node dist/cli.js resolve user.prod.kw --json; status=$?
       kill $server; exit $status`,
    );
    assert.equal(code, 0, stderr);
    const answer = JSON.parse(stdout) as { records: { port: number }[] };
    assert.deepEqual(answer.records.map((r) => r.port).sort(), [28081, 28082, 28083, 28084]);
  });
});
