// dns.promises under the preload: not loaded at start-up (Node copies the binding's
// getaddrinfo into it when it loads), patched when the program first reaches it, by any way.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { FixtureServer } from './fixture-server.js';
import { a, srv } from './records.js';
import { tempDir } from './temp-dir.js';

const REGISTER = join(__dirname, '..', 'register.cjs');
/** The sources, run by tsx in the child, so that `npm run mutate` reaches what it tests. */
const INDEX = join(__dirname, '..', 'src', 'index.ts');

describe('dns.promises under the preload', () => {
  let server: FixtureServer;
  before(async () => {
    server = await FixtureServer.start({
      records: [srv('user.prod.kw', 'a.kw', 8080), a('a.kw', '127.0.0.2')],
    });
  });
  after(() => server.close());

  const node = async (args: string[]) =>
    (
      await promisify(execFile)(process.execPath, ['-r', REGISTER, ...args], {
        env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: server.nameserver },
      })
    ).stdout;

  test('is not loaded by the preload', async () => {
    assert.equal(
      await node([
        '-e',
        "const l = process.moduleLoadList; console.log(l.includes('NativeModule internal/dns/promises'), l.includes('NativeModule dns/promises'))",
      ]),
      'false false\n',
    );
  });

  const synthetic =
    "({ address }) => console.log(address.startsWith('198.18.') ? 'synthetic' : address)";
  for (const [way, expression] of [
    ["require('dns').promises", "require('dns').promises.lookup('user.prod.kw')"],
    ["require('dns/promises')", "require('dns/promises').lookup('user.prod.kw')"],
    ["require('node:dns/promises')", "require('node:dns/promises').lookup('user.prod.kw')"],
    [
      'util.promisify(dns.lookup) after dns.promises',
      "(require('dns').promises, require('util').promisify(require('dns').lookup)('user.prod.kw'))",
    ],
  ]) {
    test(`is patched when the program first reaches it: ${way}`, async () => {
      assert.equal(await node(['-e', `${expression}.then(${synthetic})`]), 'synthetic\n');
    });
  }

  test('is patched for ES modules that import node:dns, and named imports of node:dns/promises see it', async () => {
    const dir = tempDir('dns-promises');
    const file = join(dir, 'app.mjs');
    writeFileSync(
      file,
      `import dns from 'node:dns';
import { lookup } from 'node:dns/promises';
const one = await dns.promises.lookup('user.prod.kw');
const two = await lookup('user.prod.kw');
console.log([one, two].map(({ address }) => address.startsWith('198.18.') ? 'synthetic' : address).join(' '));
`,
    );
    assert.equal(await node([file]), 'synthetic synthetic\n');
  });

  test('install() in an ES module after its named imports of node:dns: they see the patch, and uninstall() takes it back', async () => {
    const dir = tempDir('dns-named');
    const file = join(dir, 'app.mjs');
    writeFileSync(
      file,
      `import { lookup } from 'node:dns';
import { lookup as lookupPromise } from 'node:dns/promises';
import { createRequire } from 'node:module';
const { install, uninstall } = createRequire(import.meta.url)(${JSON.stringify(INDEX)});
const original = lookup;
const originalPromise = lookupPromise;
install({ domains: 'kw', nameservers: process.env.SVCDISC_NAMESERVERS });
const show = ({ address }) => (address.startsWith('198.18.') ? 'synthetic' : address);
const viaCallback = await new Promise((resolve, reject) =>
  lookup('user.prod.kw', (error, address) => (error ? reject(error) : resolve({ address }))));
console.log(show(viaCallback), show(await lookupPromise('user.prod.kw')));
uninstall();
console.log(lookup === original, lookupPromise === originalPromise);
`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], {
      env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: server.nameserver },
    });
    assert.equal(stdout, 'synthetic synthetic\ntrue true\n');
  });

  test('names outside the domains get what Node gives', async () => {
    const script =
      "require('dns/promises').lookup('localhost', { family: 4 }).then(({ address }) => console.log(address))";
    assert.equal(await node(['-e', script]), '127.0.0.1\n');
  });
});
