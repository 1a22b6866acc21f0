// The package as users get it: packed, installed into another folder, used by require,
// import and the preload flags.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { FixtureServer } from './fixture-server.js';
import { a, srv } from './records.js';
import { tempDir } from './temp-dir.js';

const ROOT = join(__dirname, '..');

describe('the installed package', () => {
  let app: string;
  let server: FixtureServer;
  let files: string;
  before(async () => {
    server = await FixtureServer.start({
      records: [srv('user.prod.kw', 'a.kw', 8080), a('a.kw', '127.0.0.2')],
    });
    const dir = tempDir('pack');
    files = execFileSync('npm', ['pack', '--json', '--pack-destination', dir, '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'));
    assert.ok(tarball);
    app = join(dir, 'app');
    execFileSync('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}');
    execFileSync(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball)],
      { cwd: app, stdio: 'ignore' },
    );
  });
  after(() => server.close());

  // Asynchronous: the fixture server answers from this process's event loop.
  const node = async (args: string[], env: Record<string, string> = {}) => {
    const options = {
      cwd: app,
      encoding: 'utf8' as const,
      env: { PATH: process.env.PATH, ...env },
    };
    return (await promisify(execFile)(process.execPath, args, options)).stdout;
  };

  test('holds the compiled code, the preload and the licence, not the sources, tests or source maps', () => {
    const [{ files: packed }] = JSON.parse(files) as [{ files: { path: string }[] }];
    const paths = packed.map((file) => file.path);
    for (const needed of [
      'dist/index.js',
      'dist/index.d.ts',
      'register.cjs',
      'package.json',
      'README.md',
      'LICENSE',
    ]) {
      assert.ok(paths.includes(needed), `${needed} missing`);
    }
    assert.ok(!paths.some((path) => path.startsWith('src/') || path.startsWith('test/')));
    // No source map that would point at sources the package does not ship, and no code
    // cache of the Node that built it: `npm install` makes one for the Node that installs.
    assert.deepEqual(
      paths.filter((path) => path.endsWith('.map') || path.endsWith('.cache')),
      [],
    );
  });

  test('require("svcdisc") resolves a name from another folder', async () => {
    const script = `require('svcdisc').createResolver({ nameservers: ['${server.nameserver}'] })
      .resolve('user.prod.kw').then((r) => console.log(r.endpoints[0].port));`;
    assert.equal(await node(['-e', script]), '8080\n');
  });

  test('import("svcdisc") and named ESM imports work', async () => {
    assert.equal(
      await node([
        '-e',
        `import('svcdisc').then((m) => console.log(typeof m.createResolver, typeof m.order))`,
      ]),
      'function function\n',
    );
    const esm = `import { createResolver, DnsError } from 'svcdisc';
      const r = createResolver({ nameservers: ['${server.nameserver}'] });
      const { endpoints } = await r.resolve('user.prod.kw');
      console.log(endpoints[0].port, typeof DnsError);`;
    assert.equal(await node(['--input-type=module', '-e', esm]), '8080 function\n');
  });

  test('the svcdisc command is installed and serves the shipped demo zone by default', async () => {
    const bin = join(app, 'node_modules', '.bin', 'svcdisc');
    const { stdout } = await promisify(execFile)(bin, ['serve', '--help'], {
      env: { PATH: process.env.PATH },
    });
    assert.match(
      stdout,
      /--zone FILE +the master file \(default: the demo zone, .*node_modules\/svcdisc\/fixtures\/demo\.zone\)/,
    );
    const resolved = await promisify(execFile)(bin, ['resolve', 'user.prod.kw', '--json'], {
      env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: server.nameserver },
    });
    assert.equal(JSON.parse(resolved.stdout).chosen.port, 8080);
  });

  test('its types compile in a consumer with skipLibCheck false: CommonJS and ESM, nodenext and bundler', async () => {
    // A consumer as users have one: typescript and @types/node, none of svcdisc's dev types.
    const types = join(app, 'node_modules', '@types');
    mkdirSync(types, { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(types, 'node'));
    assert.ok(!existsSync(join(types, 'dns-packet')));
    const use = (
      from: string,
    ) => `import { createResolver, DnsError, install, type Resolution, type SvcdiscOptions } from ${from};
const options: SvcdiscOptions = { domains: ['prod.kw'], nameservers: ['127.0.0.1:5300'] };
export async function first(name: string): Promise<number | undefined> {
  try {
    const resolution: Resolution = await createResolver(options).resolve(name);
    return resolution.endpoints[0]?.port;
  } catch (error) {
    if (error instanceof DnsError) return error.code === 'ENOTFOUND' ? undefined : -1;
    throw error;
  }
}
export const installed: boolean = install({ disable: true });
`;
    const consumers = {
      'cjs-nodenext': { module: 'nodenext', moduleResolution: 'nodenext', file: 'index.cts' },
      'esm-nodenext': { module: 'nodenext', moduleResolution: 'nodenext', file: 'index.mts' },
      'esm-bundler': { module: 'esnext', moduleResolution: 'bundler', file: 'index.ts' },
      'cjs-node16': { module: 'node16', moduleResolution: 'node16', file: 'index.ts' },
    };
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const [kind, { module, moduleResolution, file }] of Object.entries(consumers)) {
      const dir = join(app, kind);
      mkdirSync(dir);
      writeFileSync(join(dir, file), use("'svcdisc'"));
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module,
            moduleResolution,
            target: 'es2022',
            strict: true,
            skipLibCheck: false,
            noEmit: true,
            types: ['node'],
          },
          files: [file],
        }),
      );
      const run = await promisify(execFile)(process.execPath, [tsc, '-p', dir], {
        cwd: dir,
      }).then(
        () => '',
        (error: { stdout: string }) => error.stdout,
      );
      assert.equal(run, '', `${kind}: ${run}`);
    }
  });

  test('-r and --import svcdisc/register load, and a bad variable stops the program', async () => {
    assert.equal(await node(['-r', 'svcdisc/register', '-e', 'console.log("ran")']), 'ran\n');
    assert.equal(await node(['--import', 'svcdisc/register', '-e', 'console.log("ran")']), 'ran\n');
    await assert.rejects(
      node(['-r', 'svcdisc/register', '-e', '0'], { SVCDISC_TCP: 'maybe' }),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr, /svcdisc: SVCDISC_TCP="maybe" is not valid: expected 1 or 0/);
        return true;
      },
    );
  });

  test("a second copy of svcdisc's preload in the process installs nothing and stops nothing", async () => {
    // As NODE_OPTIONS of a base image and -r in the command, each with its own copy.
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        '-r',
        'svcdisc/register',
        '-r',
        join(ROOT, 'register.cjs'),
        '-e',
        "require('dns').lookup('user.prod.kw', (error) => console.log(error ?? 'found'))",
      ],
      {
        cwd: app,
        env: {
          PATH: process.env.PATH,
          NODE_DEBUG: 'svcdisc',
          SVCDISC_NAMESERVERS: server.nameserver,
        },
      },
    );
    assert.equal(stdout, 'found\n'); // by the first copy's installation: no such name in DNS
    const line = `${ROOT}: another copy of svcdisc is installed already: this one installs nothing`;
    assert.ok(stderr.includes(line), stderr);
  });

  test('npm install made the code cache of the service side for this Node; the preload uses it', async () => {
    const patch = join(app, 'node_modules', 'svcdisc', 'dist', 'patch');
    const cache = `side.js.${process.version}-${process.arch}.cache`;
    assert.ok(existsSync(join(patch, cache)), `${cache} missing`);
    const { stderr } = await promisify(execFile)(
      process.execPath,
      ['-r', 'svcdisc/register', '-e', "require('dns').lookup('user.prod.kw', console.log)"],
      {
        cwd: app,
        env: {
          PATH: process.env.PATH,
          NODE_DEBUG: 'svcdisc',
          SVCDISC_NAMESERVERS: server.nameserver,
        },
      },
    );
    assert.match(stderr, new RegExp(`code cache \\S+/${cache.replaceAll('.', '\\.')} used`));
  });
});
