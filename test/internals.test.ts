// Where this Node lacks an internal the preload relies on, what depends on it is given up and
// one coded warning says so, once; the connection itself still ends as Node would end it. And
// the options Node's connect reads for an address are the ones svcdisc passes on to it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { type AddressInfo, createServer, Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { addressOptions, type Normalized, tagNormalized } from '../src/patch/socket.js';
import { FixtureServer } from './fixture-server.js';
import { a, srv } from './records.js';
import { tempDir } from './temp-dir.js';

const REGISTER = join(__dirname, '..', 'register.cjs');

/** A TCP port nothing listens on (it was free a moment ago). */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let dns: FixtureServer;
before(async () => {
  const [one, two] = [await refusedPort(), await refusedPort()];
  dns = await FixtureServer.start({
    records: [
      srv('down.prod.kw', 'one.kw', one, 10, 1),
      srv('down.prod.kw', 'two.kw', two, 10, 1),
      a('one.kw', '127.0.0.1'),
      a('two.kw', '127.0.0.1'),
    ],
  });
});
after(() => dns.close());

/** Two connects in a row to a service whose two endpoints both refuse; prints, for each, the
 * error's code and how many endpoints were tried. */
const PROGRAM = `
const net = require('net');
const once = () => new Promise((resolve) => {
  net.connect({ host: 'down.prod.kw', port: 80 }).on('error', (e) => resolve(e.code + ' ' + e.attempts.length));
});
once().then((first) => once().then((second) => console.log(first + ', ' + second)));
`;

async function run(preloads: string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [...preloads, '-r', REGISTER, '-e', PROGRAM], {
    env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: dns.nameserver },
  });
}

test('without the handle swap of happy eyeballs, failover is given up with one coded warning', async () => {
  const complete = await run([]);
  assert.equal(complete.stdout, 'ECONNREFUSED 2, ECONNREFUSED 2\n');
  assert.equal(complete.stderr, '');

  const dir = tempDir('internals');
  const hide = join(dir, 'hide.js');
  writeFileSync(
    hide,
    `const { Socket } = require('net');
const symbol = Object.getOwnPropertySymbols(Socket.prototype).find((s) => s.description === 'kReinitializeHandle');
delete Socket.prototype[symbol];
`,
  );
  const lacking = await run(['-r', hide]);
  assert.equal(lacking.stdout, 'ECONNREFUSED 1, ECONNREFUSED 1\n');
  const warnings = lacking.stderr
    .split('\n')
    .filter((line) => line.includes('SVCDISC_NODE_INTERNALS'));
  assert.equal(warnings.length, 1, lacking.stderr);
  assert.match(
    warnings[0] ?? '',
    /lacks Socket kReinitializeHandle: a failed connect is not retried at the next SRV endpoint/,
  );
});

/** `options` behind a Proxy that adds to `keys` each string key read of it. */
function watched(options: Normalized[0], keys: Set<string>): Normalized[0] {
  return new Proxy(options, {
    get(target, key, receiver) {
      if (typeof key === 'string') keys.add(key);
      return Reflect.get(target, key, receiver);
    },
  });
}

test("http.Agent's getName makes its key from host, port, localAddress, family and socketPath alone", () => {
  // svcdisc's pool key of an endpoint is kept for requests with the same five fields, without
  // asking Node's getName again (src/patch/agent.ts): true while it reads nothing else, with
  // the fields set or not, and nothing of its agent. A Node whose getName reads more makes
  // agent.ts compare its keys.
  const { getName } = http.Agent.prototype;
  const fields = ['family', 'host', 'localAddress', 'port', 'socketPath'];
  const everySet = {
    host: 'a.kw',
    port: 8080,
    localAddress: '127.0.0.1',
    family: 4,
    socketPath: '/s',
  };
  for (const options of [{}, everySet, { ...everySet, servername: 'b.kw', timeout: 1 }]) {
    const read = new Set<string>();
    const ofAgent = new Set<string>();
    const agent = watched(new http.Agent() as unknown as Normalized[0], ofAgent);
    getName.call(agent, watched(options as Normalized[0], read) as http.AgentOptions);
    assert.deepEqual([...read].sort(), fields);
    assert.deepEqual([...ofAgent], [], 'nothing of the agent');
  }
  assert.equal(getName.call(new http.Agent(), everySet), 'a.kw:8080:127.0.0.1:4:/s');
});

test("a connect to an endpoint's address passes on every option Node's connect reads for an address", async () => {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    // This Node's own connect (nothing is installed in this process), to an address.
    const socket = new Socket();
    const connected = new Promise((resolve, reject) => {
      socket.once('connect', resolve).once('error', reject);
    });
    const nodeReads = new Set<string>();
    // The argument list as the connect patch hands it to Node's connect: normalised already.
    const args = tagNormalized([watched({ host: '127.0.0.1', port }, nodeReads), null]);
    (socket.connect as (...args: unknown[]) => Socket)(args);
    const inCall = [...nodeReads].sort();
    await connected;
    socket.destroy();
    // Nothing more is read after the call: the connect is made from what it read then.
    assert.deepEqual([...nodeReads].sort(), inCall);
    const passedOn = Object.keys(addressOptions({}, '127.0.0.1', port)).sort();
    assert.deepEqual(inCall, passedOn);
    // Each comes from the program's options, through the prototype chain as Node reads it.
    const read = new Set<string>();
    addressOptions(watched({}, read), '127.0.0.1', port);
    assert.deepEqual(
      [...read].sort(),
      passedOn.filter((key) => key !== 'host' && key !== 'port'),
    );
    const inherited = Object.create({ localAddress: '127.0.0.1' }) as Normalized[0];
    assert.equal(addressOptions(inherited, '127.0.0.2', 1).localAddress, '127.0.0.1');
  } finally {
    server.close();
  }
});
