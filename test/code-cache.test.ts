// The code caches of the preload's bundles (src/patch/code-cache.ts for the service side,
// register.cjs for the start-up bundle): made by dist/warm.js, read by the preload only when
// made from the very bundle it loads, and never written at run time. On a copy of dist, in
// fresh processes under the preload, as users run it.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { FixtureServer } from './fixture-server.js';
import { a, srv, untilIo } from './records.js';
import { tempDir } from './temp-dir.js';

const ROOT = join(__dirname, '..');

describe('the code caches of the start-up bundle and the service side', () => {
  let dir: string;
  let side: string;
  let startUp: string;
  /** The caches for this Node, beside the bundles. */
  let cache: string;
  let startUpCache: string;
  let server: FixtureServer;
  let backend: net.Server;
  let accepted = 0;
  before(async () => {
    dir = tempDir('code-cache');
    cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'register.cjs'), join(dir, 'register.cjs'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    side = join(dir, 'dist', 'patch', 'side.js');
    cache = `${side}.${process.version}-${process.arch}.cache`;
    startUp = join(dir, 'dist', 'patch', 'install.js');
    startUpCache = `${startUp}.${process.version}-${process.arch}.cache`;
    for (const name of readdirSync(join(dir, 'dist', 'patch'))) {
      if (name.endsWith('.cache')) rmSync(join(dir, 'dist', 'patch', name));
    }
    backend = net.createServer((socket) => {
      accepted++;
      socket.end();
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const { port } = backend.address() as net.AddressInfo;
    server = await FixtureServer.start({
      records: [srv('svc.prod.kw', 'host.kw', port), a('host.kw', '127.0.0.1')],
    });
  });
  after(() => {
    server.close();
    backend.close();
  });

  /** A fresh process under the copy's preload (after `first`, Node options) that runs `code`
   * with svc.prod.kw's nameserver and svcdisc's debug lines on. */
  const underPreload = (code: string, first: string[] = []) =>
    promisify(execFile)(process.execPath, [...first, '-r', join(dir, 'register.cjs'), '-e', code], {
      env: {
        PATH: process.env.PATH,
        NODE_DEBUG: 'svcdisc',
        SVCDISC_NAMESERVERS: server.nameserver,
      },
    });

  /** A fresh process under the copy's preload (after `first`, Node options) connects to
   * svc.prod.kw; its debug lines. */
  const connectByName = async (first: string[] = []): Promise<string> => {
    const before = accepted;
    const { stdout, stderr } = await underPreload(
      "require('net').connect(1, 'svc.prod.kw', function () { this.destroy(); console.log('connected'); })",
      first,
    );
    assert.equal(stdout, 'connected\n');
    // The backend the SRV record names got the connection (its accept may come a turn later).
    await untilIo(() => accepted === before + 1, 'the connection at the SRV endpoint');
    return stderr;
  };

  test('without a cache the bundle loads as any module, and nothing is written', async () => {
    const stderr = await connectByName();
    assert.doesNotMatch(stderr, /code cache/);
    assert.deepEqual(
      readdirSync(join(dir, 'dist', 'patch')).filter((name) => name.endsWith('.cache')),
      [],
    );
  });

  test('dist/warm.js makes both caches for this Node, and the preload uses them', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'dist', 'warm.js')], {
      env: { PATH: process.env.PATH },
    });
    assert.equal(stdout, `svcdisc: code cache ${startUpCache}\nsvcdisc: code cache ${cache}\n`);
    // Over half the bundles' size: the functions the warm-up compiled are in them.
    assert.ok(readFileSync(cache).length > readFileSync(side).length / 2);
    assert.ok(readFileSync(startUpCache).length > readFileSync(startUp).length / 2);
    const stderr = await connectByName();
    assert.match(stderr, /code cache .*\/install\.js\.v[\d.]+-\w+\.cache used\n/);
    assert.match(stderr, /code cache .*\/side\.js\.v[\d.]+-\w+\.cache used\n/);
  });

  test("the service side's source is a large object: its load adds nothing to the young generation's count towards a scavenge", async () => {
    // V8 allocates a young object over 128 KiB in its young large-object space, which the
    // trigger of its scavenge task does not count and a scavenge does not copy; the side's
    // source is padded past that (scripts/bundle-preload.mjs). Without it, its 90 KB string
    // made a short program's first connect run a scavenge.
    const { stdout, stderr } = await underPreload(`
      const v8 = require('v8');
      const used = (space) =>
        v8.getHeapSpaceStatistics().find((s) => s.space_name === space).space_used_size;
      const before = used('new_large_object_space');
      require('net').connect(1, 'svc.prod.kw', function () { this.destroy(); });
      console.log(used('new_large_object_space') - before);`);
    assert.match(stderr, /code cache .*\/side\.js\.v[\d.]+-\w+\.cache used\n/);
    assert.ok(Number(stdout) >= readFileSync(side).length, `${stdout} bytes`);
  });

  test("a require hook sees none of svcdisc's loads of Node's builtins, only the program's", {
    skip: !process.getBuiltinModule && 'this Node has no process.getBuiltinModule',
  }, async () => {
    // As an APM's preload before svcdisc's would: every require of a builtin, and by whom.
    const hook = join(dir, 'hook.cjs');
    writeFileSync(
      hook,
      `const Module = require('node:module');
         const load = Module._load;
         const bySvcdisc = [];
         const byOthers = [];
         Module._load = function (request, parent) {
           if (Module.isBuiltin(request)) {
             const mine = parent?.filename?.startsWith(${JSON.stringify(dir)});
             (mine ? bySvcdisc : byOthers).push(request);
           }
           return load.apply(this, arguments);
         };
         process.on('exit', () =>
           process.stderr.write('by svcdisc ' + JSON.stringify(bySvcdisc) + ', by others ' + JSON.stringify(byOthers) + '\\n'),
         );`,
    );
    const stderr = await connectByName(['-r', hook]);
    assert.match(stderr, /\.cache used\n/);
    // The program's require('net') is seen; svcdisc's own loads (net, dns, fs, path, vm,
    // dgram, …, in register.cjs and both bundles) are not.
    assert.match(stderr, /by svcdisc \[\], by others \[[^\]]*"net"[^\]]*\]\n/);
  });

  test('dist/warm.js run under the preload (NODE_OPTIONS, as in a Dockerfile) makes them too', async () => {
    rmSync(cache);
    rmSync(startUpCache);
    const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'dist', 'warm.js')], {
      env: { PATH: process.env.PATH, NODE_OPTIONS: `--require ${join(dir, 'register.cjs')}` },
    });
    assert.equal(stdout, `svcdisc: code cache ${startUpCache}\nsvcdisc: code cache ${cache}\n`);
    const stderr = await connectByName();
    assert.match(stderr, /install\.js\.\S+\.cache used\n/);
    assert.match(stderr, /side\.js\.\S+\.cache used\n/);
    // Again, with the preload's start-up bundle loaded from its cache this time.
    const again = await promisify(execFile)(process.execPath, [join(dir, 'dist', 'warm.js')], {
      env: { PATH: process.env.PATH, NODE_OPTIONS: `--require ${join(dir, 'register.cjs')}` },
    });
    assert.equal(again.stdout, stdout);
    assert.match(await connectByName(), /install\.js\.\S+\.cache used\n/);
  });

  test('with the start-up bundle from its cache, a bad variable still stops the program', async () => {
    const child = spawnSync(
      process.execPath,
      ['-r', join(dir, 'register.cjs'), '-e', 'console.log("ran")'],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, NODE_DEBUG: 'svcdisc', SVCDISC_TIMEOUT_MS: 'soon' },
      },
    );
    assert.match(child.stderr, /install\.js\.\S+\.cache used\n/);
    assert.match(child.stderr, /svcdisc: SVCDISC_TIMEOUT_MS="soon" is not valid/);
    assert.equal(child.stdout, '');
    assert.equal(child.status, 1);
  });

  test('the start-up bundle from its cache is the module require() gets', () => {
    // index.js requires ./patch/install.js: the same instance, which sees the installation.
    const child = spawnSync(
      process.execPath,
      [
        '-r',
        join(dir, 'register.cjs'),
        '-e',
        `const svcdisc = require(${JSON.stringify(join(dir, 'dist', 'index.js'))});
         console.log(svcdisc.uninstall(), svcdisc.uninstall())`,
      ],
      { encoding: 'utf8', env: { PATH: process.env.PATH, NODE_DEBUG: 'svcdisc' } },
    );
    assert.match(child.stderr, /install\.js\.\S+\.cache used\n/);
    assert.equal(child.stdout, 'true false\n');
  });

  test('svcdisc required before its preload: one start-up bundle, whose API sees the installation', () => {
    // As `import { installedResolver } from 'svcdisc'; import 'svcdisc/register';` runs. With
    // its cache, the preload reads the bundle itself (without, require() finds it loaded).
    assert.ok(existsSync(startUpCache));
    const child = spawnSync(
      process.execPath,
      [
        '-e',
        `const svcdisc = require(${JSON.stringify(join(dir, 'dist', 'index.js'))});
         require(${JSON.stringify(join(dir, 'register.cjs'))});
         console.log(typeof svcdisc.installedResolver(), svcdisc.uninstall(), svcdisc.uninstall())`,
      ],
      { encoding: 'utf8', env: { PATH: process.env.PATH, SVCDISC_NAMESERVERS: server.nameserver } },
    );
    assert.equal(child.stderr, '');
    assert.equal(child.stdout, 'object true false\n');
  });

  test('the service side from its cache is loaded once: an install after an uninstall reuses it', async () => {
    // A new copy per install() was code V8 had to learn again (bench/README.md, the
    // twenty-first pass).
    const index = JSON.stringify(join(dir, 'dist', 'index.js'));
    const { stdout, stderr } = await underPreload(
      `const svcdisc = require(${index});
       const connect = () => new Promise((resolve, reject) => {
         require('net').connect(1, 'svc.prod.kw', function () { this.destroy(); resolve(); }).on('error', reject);
       });
       connect()
         .then(() => { svcdisc.uninstall(); svcdisc.install(); return connect(); })
         .then(() => console.log('connected twice'));`,
    );
    assert.equal(stdout, 'connected twice\n');
    assert.equal(stderr.match(/code cache \S+\/side\.js\.\S+\.cache used\n/g)?.length, 1, stderr);
  });

  test("under V8 flags npm install's cache is not used; dist/warm.js with them makes theirs beside it", async () => {
    // --stack-trace-limit changes V8's flag hash on Node 20 to 26 (--max-old-space-size on 20
    // and 22 only), so V8 rejects a cache made without it: a process with it used to compile both
    // bundles, 1 ms more at start-up and 4 at its first connect (Node 22).
    const flag = '--stack-trace-limit=20';
    const plain = [startUpCache, cache].map((file) => readFileSync(file));
    const without = await connectByName([flag]);
    for (const bundle of ['install', 'side']) {
      assert.match(
        without,
        new RegExp(
          `code cache \\S+/${bundle}\\.js\\.v[\\d.]+-\\w+\\.cache rejected by V8 \\(made by another build of Node or under other V8 flags: \`node \\S+/dist/warm\\.js\` with this program's options makes one\\)\n`,
        ),
      );
    }
    assert.doesNotMatch(without, /\.cache used/);
    // As a Dockerfile would, after its ENV NODE_OPTIONS: the caches for those flags, named by
    // V8's hash of them, and npm install's left as they were.
    const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'dist', 'warm.js')], {
      env: {
        PATH: process.env.PATH,
        NODE_OPTIONS: `${flag} --require ${join(dir, 'register.cjs')}`,
      },
    });
    const hash = stdout.match(/install\.js\.v[\d.]+-\w+-([0-9a-f]{8})\.cache\n/)?.[1];
    assert.ok(hash, stdout);
    const flagged = (file: string) => file.replace(/\.cache$/, `-${hash}.cache`);
    assert.equal(
      stdout,
      `svcdisc: code cache ${flagged(startUpCache)}\nsvcdisc: code cache ${flagged(cache)}\n`,
    );
    assert.deepEqual(
      [startUpCache, cache].map((file) => readFileSync(file)),
      plain,
    );
    // The flag on the command line where the warm-up had it in NODE_OPTIONS: the same flags.
    const withFlag = await connectByName([flag]);
    for (const file of [startUpCache, cache]) {
      assert.ok(withFlag.includes(`code cache ${flagged(file)} used\n`), withFlag);
    }
    // Without options, and with one of Node's own (V8's flags as without): npm install's.
    for (const options of [[], ['--enable-source-maps']]) {
      const stderr = await connectByName(options);
      for (const file of [startUpCache, cache]) {
        assert.ok(stderr.includes(`code cache ${file} used\n`), stderr);
      }
    }
    // Other flags again, now that caches for some flags exist: told before compiling.
    const other = await connectByName(['--stack-trace-limit=21']);
    for (const file of [startUpCache, cache]) {
      assert.ok(
        other.includes(
          `code cache ${file} was made under other V8 flags: not used (\`node ${join(dir, 'dist', 'warm.js')}\` with this program's options makes one for them)\n`,
        ),
        other,
      );
    }
    assert.doesNotMatch(other, /\.cache used|rejected by V8/);
  });

  test('a cache is read for the content it was made from, whatever the mtime', async () => {
    // The cache holds a copy of the bundle's source, compared whole: a file copied or unpacked
    // with another mtime keeps its cache (until the twenty-ninth pass its size and mtime).
    const later = new Date(Date.now() + 60_000);
    utimesSync(side, later, later);
    utimesSync(startUp, later, later);
    const same = await connectByName();
    assert.match(same, /code cache \S+\/side\.js\.\S+\.cache used\n/);
    assert.match(same, /code cache \S+\/install\.js\.\S+\.cache used\n/);
    // One character changed (in a comment), the length kept: V8, which checks only the length,
    // would run the cached code of the other source.
    for (const file of [side, startUp]) {
      const source = readFileSync(file, 'utf8');
      const edited = source.replace('// src/', '// Src/');
      assert.notEqual(edited, source);
      writeFileSync(file, edited);
    }
    const stderr = await connectByName();
    assert.match(stderr, /code cache .* is not for this .*side\.js: not used/);
    assert.match(stderr, /code cache .* is not for this .*install\.js: not used/);
    assert.doesNotMatch(stderr, /\.cache used\n/);
  });

  test("what is compiled is the cache's copy, whose CommonJS wrapper is checked as well", async () => {
    await promisify(execFile)(process.execPath, [join(dir, 'dist', 'warm.js')], {
      env: { PATH: process.env.PATH },
    });
    // The copy is the bundle in the wrapper V8 compiled, the bundle's bytes compared with its
    // middle: a wrapper changed at the same length (a parameter renamed in the side's, the
    // closing parenthesis in the start-up bundle's) would compile to other code.
    const side = readFileSync(cache);
    side[side.indexOf('exports', 8) + 6] = 'a'.charCodeAt(0);
    writeFileSync(cache, side);
    const startUp = readFileSync(startUpCache);
    const close = 8 + startUp.readUInt32BE(4) - 2;
    assert.equal(String.fromCharCode(startUp[close] as number), ')');
    startUp[close] = ' '.charCodeAt(0);
    writeFileSync(startUpCache, startUp);
    const stderr = await connectByName();
    assert.match(stderr, /code cache .* is not for this .*side\.js: not used/);
    assert.match(stderr, /code cache .* is not for this .*install\.js: not used/);
  });

  test('a cache V8 rejects leaves the bundle compiled as it would have been', async () => {
    await promisify(execFile)(process.execPath, [join(dir, 'dist', 'warm.js')], {
      env: { PATH: process.env.PATH },
    });
    for (const file of [cache, startUpCache]) {
      const made = readFileSync(file);
      // svcdisc's header and copy of the source still match the bundle; what V8 made (after
      // them) is replaced with noise.
      const start = 8 + made.readUInt32BE(4);
      writeFileSync(
        file,
        Buffer.concat([made.subarray(0, start), Buffer.alloc(made.length - start, 7)]),
      );
    }
    const stderr = await connectByName();
    assert.match(stderr, /side\.js\.\S+\.cache rejected by V8 /);
    assert.match(stderr, /install\.js\.\S+\.cache rejected by V8 /);
    assert.ok(existsSync(cache));
    assert.ok(existsSync(startUpCache));
  });
});

test('a bundle that throws as it loads runs once a load, and its error reaches the program as a failed connect or lookup', () => {
  // Its cache there but not for it (the header): the loader falls back to require(), which
  // throws; until 2026-12-06 the loader's catch then required it again.
  const dir = tempDir('code-cache-throws');
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'register.cjs'), join(dir, 'register.cjs'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const run = (code: string, first: string[] = []) =>
    spawnSync(process.execPath, [...first, '-r', join(dir, 'register.cjs'), '-e', code], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, NODE_DEBUG: 'svcdisc', SVCDISC_NAMESERVERS: '127.0.0.1:9' },
    });
  const breakBundle = (name: string) => {
    const file = join(dir, 'dist', 'patch', name);
    const source = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      `process.stderr.write('${name} evaluated\\n'); throw new Error('${name} is broken');\n${source}`,
    );
    writeFileSync(`${file}.${process.version}-${process.arch}.cache`, Buffer.alloc(64, 1));
  };
  const evaluations = (stderr: string, name: string) =>
    stderr.split('\n').filter((line) => line === `${name} evaluated`).length;

  // The service side, loaded at the first connect to a service name: the socket's error.
  breakBundle('side.js');
  const side = run(
    "require('net').connect(1, 'svc.prod.kw').on('error', (e) => console.log(e.message))",
  );
  assert.match(side.stderr, /code cache \S+side\.js\.\S+\.cache is not for this /);
  assert.equal(evaluations(side.stderr, 'side.js'), 1, side.stderr);
  assert.equal(side.stdout, 'side.js is broken\n');
  assert.equal(side.status, 0);
  // Every way in that loads it gets that error as Node's own failures come, never thrown;
  // each tries to load it again. A write before the error waits, as while Node looks up.
  const ways = run(`
    const socket = require('net').connect(1, 'svc.prod.kw', () => console.log('connected'));
    socket.write('early');
    socket.on('error', (e) => console.log('net.connect:', e.message, socket.connecting));
    require('dns').lookup('svc.prod.kw', (e) => console.log('dns.lookup:', e.message));
    require('dns').promises.lookup('svc.prod.kw').catch((e) => console.log('dns.promises.lookup:', e.message));
    require('http').get('http://svc.prod.kw/').on('error', (e) => console.log('http.get:', e.message));
  `);
  assert.deepEqual(ways.stdout.trim().split('\n').sort(), [
    'dns.lookup: side.js is broken',
    'dns.promises.lookup: side.js is broken',
    'http.get: side.js is broken',
    'net.connect: side.js is broken false',
  ]);
  assert.equal(evaluations(ways.stderr, 'side.js'), 4, ways.stderr);
  assert.equal(ways.status, 0, ways.stderr);
  // With http loaded before the preload, whose install() adopts its pools at once: it starts.
  const early = run(
    "require('http').get('http://svc.prod.kw/').on('error', (e) => console.log(e.message))",
    ['-r', 'http'],
  );
  assert.match(early.stderr, /pools not adopted: side\.js is broken/);
  assert.equal(early.stdout, 'side.js is broken\n');
  assert.equal(early.status, 0, early.stderr);

  // The start-up bundle, loaded by the preload: the program does not start.
  breakBundle('install.js');
  const startUp = run('console.log("ran")');
  assert.match(startUp.stderr, /code cache \S+install\.js\.\S+\.cache is not for this /);
  assert.equal(evaluations(startUp.stderr, 'install.js'), 1, startUp.stderr);
  assert.match(startUp.stderr, /install\.js is broken/);
  assert.equal(startUp.stdout, '');
  assert.notEqual(startUp.status, 0);
});

test('the files the preload compiles are ASCII: V8 keeps one byte a character of their source', () => {
  // A single other character makes Node decode a whole file on its slow path, and one outside
  // Latin-1 into two bytes a character (scripts/bundle-preload.mjs); esbuild escapes them in
  // code, not in comments.
  for (const file of ['register.cjs', 'dist/patch/install.js', 'dist/patch/side.js']) {
    const bytes = readFileSync(join(ROOT, file));
    const at = bytes.findIndex((byte) => byte > 0x7f);
    assert.equal(at, -1, `${file} has a byte over 0x7f at ${at}: ${bytes.subarray(at, at + 20)}`);
  }
});
