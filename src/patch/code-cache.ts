// V8's code cache for the service-side bundle (dist/patch/side.js). A first connect to a service
// name runs some 60 KB of JavaScript that nothing has compiled yet: V8 parses the bundle, then
// compiles each function the first time it is called, and that is most of what a first
// connect costs beyond loading dgram and the DNS round trip (bench/README.md). `node
// dist/warm.js` (run by `npm install` and `npm run build`) makes the first connects programs
// make and keeps V8's code cache of the bundle, with every function those compiled, beside it:
// one file per Node version and architecture, and per set of V8 flags (below). The preload reads
// it when it loads the bundle, if the file is there and was made from this very bundle (the file
// holds a copy of the source it was made from, compared whole; V8 itself checks only the source's
// length); V8 rejects a cache of another V8 version or other V8 flags, and the bundle then
// compiles as it would have.
// Without the file the bundle is required as any module is. Nothing is written at run time. The
// start-up bundle (dist/patch/install.js) has a cache of the same format and names, made here and
// read by ../../register.cjs, which loads it before any of these modules can.
//
// V8 flags: V8 rejects a cache made under other flags (a hash of them is in its header), and
// some are common in production: `--max-old-space-size` in NODE_OPTIONS changes the hash on Node
// 20 and 22, `--stack-trace-limit` on every line (docs/node-internals.md). Without a cache for
// them a process paid about 1 ms more at start-up and 4 ms more at its first connect (Node 22).
// So a cache made in a process with options that may set V8 flags is named by V8's hash of its
// flags (`side.js.v22.23.5-x64-56e67acd.cache`), beside the one `npm install` made: `node
// dist/warm.js` run with the program's options makes it, and processes without them keep theirs.
import fs = require('node:fs');
import path = require('node:path');

import type * as vm from 'node:vm';
import { debug } from '../debug.js';

/**
 * A cache file: svcdisc's header (HEADER bytes: MAGIC, then the length of the source V8
 * compiled: the bundle in the CommonJS wrapper, HEAD and TAIL), a copy of that source, then V8's
 * code cache. The loaders compare the bundle's bytes as read with the copy's middle, then
 * compile the copy. Until the twenty-ninth pass ("svc1") the header held the bundle's size and
 * mtime: a stat costs Node 20 about 0.2 ms at start-up, and an mtime says nothing of the
 * content (npm gives every file it unpacks the same one). In that pass ("svc2") the copy was of
 * the bundle alone, and a load made three strings of its source in the young generation: the
 * bundle read, the copy to compare it with, the wrapped source; one now, 180 KB less at a first
 * connect (bench/README.md, the thirtieth pass). The bundles are ASCII
 * (scripts/bundle-preload.mjs), whose characters the copy keeps a byte each; any other would
 * make the copy differ from the bundle's bytes, and the cache would not be used.
 */
const HEADER = 8;
const MAGIC = 0x73766333; // "svc3"
/** The CommonJS wrapper Node's loader once used: stack traces keep the bundle's line numbers. */
const HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const TAIL = '\n});';

/** A cache file's content for `source` (a bundle in the wrapper) and V8's cache of it. */
function cacheFileOf(source: string, v8Cache: Buffer): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt32BE(MAGIC, 0);
  header.writeUInt32BE(source.length, 4);
  return Buffer.concat([header, Buffer.from(source, 'latin1'), v8Cache]);
}

/** Where V8's cache starts in a cache file's content `cached`, if it has svcdisc's header. */
function v8CacheStart(cached: Buffer): number | undefined {
  if (cached.length <= HEADER) return undefined;
  const header = new DataView(cached.buffer, cached.byteOffset, HEADER);
  if (header.getUint32(0) !== MAGIC) return undefined;
  const start = HEADER + header.getUint32(4);
  return start < cached.length ? start : undefined;
}

/**
 * From the cache file's content `cached`, if it was made from `bundle` (the bundle's bytes as
 * read now): the source to compile (the copy, in its wrapper) and V8's cache; else undefined.
 * Read with a DataView, Uint8Arrays over the file, `compare` with one argument (a memcmp in
 * Node's binding) and `latin1Slice` (Buffer's own decoder, which Node 20 to 26 have and do not
 * document): other Buffer methods' first calls cost Node 20 0.04-0.07 ms each (`subarray`,
 * `equals`). `compare`'s first call costs Node 20 about 0.1 M instructions more than the string
 * compare it replaced (the twenty-ninth pass's), taken back at the first connect.
 */
function fromCache(
  cached: Buffer,
  bundle: Buffer,
): { source: string; v8Cache: Uint8Array } | undefined {
  const start = v8CacheStart(cached);
  if (
    start === undefined ||
    start - HEADER !== HEAD.length + bundle.length + TAIL.length ||
    bundle.compare(
      new Uint8Array(cached.buffer, cached.byteOffset + HEADER + HEAD.length, bundle.length),
    ) !== 0
  ) {
    return undefined;
  }
  const source = (cached as Buffer & Latin1Slice).latin1Slice(HEADER, start);
  if (!source.startsWith(HEAD) || !source.endsWith(TAIL)) return undefined;
  return {
    source,
    v8Cache: new Uint8Array(cached.buffer, cached.byteOffset + start, cached.length - start),
  };
}

/** Buffer's decoder of its bytes as Latin-1, which Node's own code uses and does not document. */
interface Latin1Slice {
  latin1Slice(start: number, end: number): string;
}

/** The options that load code, whose values are not options: none of them sets a V8 flag. */
const LOADS = ['-r', '--require', '--import', '-e', '--eval', '-p', '--print'];

/** Whether `options` are only LOADS and their values ('' between two spaces included). */
function onlyLoads(options: readonly string[]): boolean {
  for (let i = 0; i < options.length; i++) {
    const option = options[i] as string;
    const equals = option.indexOf('=');
    if (LOADS.includes(option)) i++;
    else if (option !== '' && (equals < 0 || !LOADS.includes(option.slice(0, equals))))
      return false;
  }
  return true;
}

/** Whether this process has no option that may set a V8 flag, on its command line or in
 * NODE_OPTIONS (split at spaces, not by a pattern: V8 compiles one at its first use). Where it
 * may (Node's own options too, which leave V8's flags alone: they cost a flagHash()), its cache
 * is named by V8's hash of its flags. */
function plainOptions(): boolean {
  const options = process.env.NODE_OPTIONS;
  return onlyLoads(process.execArgv) && (!options || onlyLoads(options.split(' ')));
}

/** The 32-bit little-endian word at `offset` of `bytes`, in hex (a DataView, as fromCache). */
const hexWord = (bytes: Uint8Array, offset: number) =>
  new DataView(bytes.buffer, bytes.byteOffset + offset, 4)
    .getUint32(0, true)
    .toString(16)
    .padStart(8, '0');

/** Where V8 writes the hash of the flags a code cache was made under, in its header: the fourth
 * 32-bit word (after its magic, its version's hash and the source's), on Node 20 to 26. */
const V8_FLAG_HASH = 12;

/** V8's hash of this process's V8 flags, as V8 writes it in a code cache: that of an empty
 * script, made here. 0.03-0.05 ms where V8 flags were given; 0.2-0.3 where none were (a first
 * cache made, which checking one does not pay). */
function flagHash(): string {
  const { Script } = require('node:vm') as typeof vm;
  return hexWord(new Script('').createCachedData(), V8_FLAG_HASH);
}

/** The plain name of the code cache of `file` for this Node; with a flag hash, the name of one
 * made under the V8 flags of that hash. */
const codeCacheFile = (file: string, hash?: string) =>
  `${file}.${process.version}-${process.arch}${hash ? `-${hash}` : ''}.cache`;

/** Whether dist/warm.js made a cache of `file` for this Node under V8 flags: a look at the
 * folder, so that a process whose options set none pays for the flag hash only where there is
 * one to find (0.2-0.3 ms where no V8 flag was given, `--enable-source-maps` alone). */
function flaggedCacheExists(file: string): boolean {
  const prefix = `${path.basename(file)}.${process.version}-${process.arch}-`;
  return fs.readdirSync(path.dirname(file)).some((name) => name.startsWith(prefix));
}

/**
 * The code cache of `file` for this process, and its name. A process without options that may
 * set V8 flags takes the one with the plain name (what `npm install` made), as before flags
 * were looked at, and so does one with such options where no cache was made under flags (V8
 * then takes it or rejects it). Otherwise: the one named with its flag hash, made by
 * dist/warm.js run with those options, else the plain one if it was made under the same flags
 * (Node's own options, or flags outside the hash); undefined where there is none of those, with a
 * line saying how to make one. Throws where there is no file at all.
 */
function readCodeCache(file: string): { name: string; cached: Buffer } | undefined {
  const plain = codeCacheFile(file);
  if (plainOptions() || !flaggedCacheExists(file))
    return { name: plain, cached: fs.readFileSync(plain) };
  const hash = flagHash();
  const name = codeCacheFile(file, hash);
  try {
    return { name, cached: fs.readFileSync(name) };
  } catch {}
  const cached = fs.readFileSync(plain);
  const start = v8CacheStart(cached);
  if (
    start !== undefined &&
    cached.length >= start + V8_FLAG_HASH + 4 &&
    hexWord(cached, start + V8_FLAG_HASH) !== hash
  ) {
    debug(
      "code cache %s was made under other V8 flags: not used (`node %s` with this program's options makes one for them)",
      plain,
      path.join(__dirname, '..', 'warm.js'),
    );
    return undefined;
  }
  return { name: plain, cached };
}

/** The bundles loaded since produceCodeCache(), to make their cache from, and the source V8
 * compiled (in the wrapper). */
const scripts = new Map<string, { script: vm.Script; source: string }>();
let producing = false;

/** The CJS loader (what require('node:module') returns, whose first load costs a first connect
 * about 0.5 ms): every CommonJS `module` is an instance of it. */
const Module = module.constructor as typeof import('node:module') & {
  new (id: string, parent: NodeJS.Module): NodeJS.Module;
  _nodeModulePaths(dir: string): string[];
  _cache: NodeJS.Dict<NodeJS.Module>;
};

/**
 * Loads the bundle `file` (an absolute path) from its code cache when this Node has a valid
 * one (see the top), else with `fallback` (the requiring module's own `require` of it). The
 * bundle's own requires resolve as they would, and it is in the module cache under its path
 * like any module: loaded once, as require() loads a module. (Until the twenty-first pass each
 * call compiled and ran a new copy: every install() after an uninstall() had a service side of
 * its own, new functions and classes that V8 had to learn again, and new HTTP connections ran
 * 6–10 % slower in the bench's rounds: bench/README.md.) Producing a cache (dist/warm.js), it
 * compiles the bundle anew.
 */
export function requireBundle(file: string, fallback: () => unknown): unknown {
  const loaded = Module._cache[file];
  if (loaded?.loaded && !producing) return loaded.exports;
  let cache: { name: string; cached: Buffer } | undefined;
  let v8Cache: Uint8Array | undefined;
  let source: string | undefined; // the bundle in the wrapper, as V8 compiles it
  try {
    if (producing) source = HEAD + fs.readFileSync(file, 'utf8') + TAIL;
    else {
      cache = readCodeCache(file);
      if (cache) {
        const from = fromCache(cache.cached, fs.readFileSync(file));
        if (from) ({ source, v8Cache } = from);
        else debug('code cache %s is not for this %s: not used', cache.name, file);
      }
    }
  } catch {
    // No cache for this Node, or no bundle (src/ run by tsx).
  }
  // Outside the try: a bundle that throws as it loads throws once (from the catch, it ran again).
  if (source === undefined) return fallback();
  const { Script } = require('node:vm') as typeof vm;
  const script = new Script(source, {
    filename: file,
    ...(v8Cache ? { cachedData: v8Cache } : {}),
  });
  if (cache) {
    if (!script.cachedDataRejected) debug('code cache %s used', cache.name);
    else
      debug(
        "code cache %s rejected by V8 (made by another build of Node or under other V8 flags: `node %s` with this program's options makes one)",
        cache.name,
        path.join(__dirname, '..', 'warm.js'),
      );
  }
  if (producing) scripts.set(file, { script, source });
  const dir = path.dirname(file);
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = Module._nodeModulePaths(dir);
  Module._cache[file] = bundle;
  try {
    const run = script.runInThisContext() as (...args: unknown[]) => void;
    // The bundle's require is its module's (Module.createRequire would make another module, at
    // 0.05-0.3 ms): a bundle only calls it (scripts/bundle-preload.mjs checks).
    run.call(bundle.exports, bundle.exports, (id: string) => bundle.require(id), bundle, file, dir);
  } catch (error) {
    delete Module._cache[file];
    throw error;
  }
  bundle.loaded = true;
  return bundle.exports;
}

/** For dist/warm.js: bundles loaded from now on are compiled so that a cache can be made. */
export function produceCodeCache(): void {
  producing = true;
}

/**
 * Writes the code cache of `file`, loaded by requireBundle since produceCodeCache(): every
 * function compiled so far is in it. Written to a temporary name and renamed, so that a
 * process loading the bundle meanwhile reads the old file or the new one, never half of one.
 * @returns the files written
 */
export function writeCodeCache(file: string): string[] {
  const loaded = scripts.get(file);
  if (!loaded) throw new Error(`${file} was not loaded since produceCodeCache()`);
  const plain = codeCacheFile(file);
  // With options that may set V8 flags: the cache named with their hash, and the plain one too
  // where there is none yet (an install run with Node's own options, used by processes without).
  const targets = plainOptions()
    ? [plain]
    : [codeCacheFile(file, flagHash()), ...(fs.existsSync(plain) ? [] : [plain])];
  const data = cacheFileOf(loaded.source, loaded.script.createCachedData());
  for (const target of targets) {
    const temporary = `${target}.${process.pid}`;
    fs.writeFileSync(temporary, data);
    fs.renameSync(temporary, target);
  }
  // The one a process with these options reads, and what it checks (which compiles the reading
  // and the check, for the start-up bundle's cache, written after the side's).
  const read = readCodeCache(file);
  if (!read || read.name !== targets[0]) {
    throw new Error(`${targets[0]} written, but ${read?.name} would be read`);
  }
  if (!fromCache(read.cached, fs.readFileSync(file)))
    throw new Error(`${read.name} is not for ${file}`);
  return targets;
}
