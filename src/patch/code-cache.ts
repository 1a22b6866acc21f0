// V8's code cache for the service-side bundle (dist/patch/side.js). A first connect to a service
// name runs some 60 KB of JavaScript that nothing has compiled yet: V8 parses the bundle, then
// compiles each function the first time it is called, and that is most of what a first
// connect costs beyond loading dgram and the DNS round trip (bench/README.md). `node
// dist/warm.js` (run by `npm install` and `npm run build`) makes the first connects programs
// make and keeps V8's code cache of the bundle, with every function those compiled, beside it:
// one file per Node version and architecture. The preload reads it when it loads the bundle, if
// the file is there and was made from this very bundle (its size and mtime are in the file's
// header; V8 itself checks only the source's length); V8 rejects a cache of another V8 version
// or other V8 flags, and the bundle then compiles as it would have. Without the file the
// bundle is required as any module is. Nothing is written at run time. The start-up bundle
// (dist/patch/install.js) has a cache of the same format, made here and read by
// ../../register.cjs, which loads it before any of these modules can.
import fs = require('node:fs');
import path = require('node:path');

import type * as vm from 'node:vm';
import { debug } from '../debug.js';

const HEADER = 16;
const MAGIC = 0x73766331; // "svc1"

/** The header of the code cache of `file` as it is now: a magic ("svc1"), the bundle's size
 * and its mtime (ms), so that the cache is for that very file. */
function headerOf(file: string): Buffer {
  const { size, mtimeMs } = fs.statSync(file);
  const header = Buffer.alloc(HEADER);
  header.writeUInt32BE(MAGIC, 0);
  header.writeUInt32BE(size, 4);
  header.writeDoubleBE(mtimeMs, 8);
  return header;
}

/** Whether `cached` has the header of `file` as it is now (headerOf). Read through a DataView:
 * Buffer's read and compare methods cost Node 20 about 0.1 ms at their first calls. */
function isCacheOf(cached: Buffer, file: string): boolean {
  if (cached.length <= HEADER) return false;
  const { size, mtimeMs } = fs.statSync(file);
  const header = new DataView(cached.buffer, cached.byteOffset, HEADER);
  return (
    header.getUint32(0) === MAGIC &&
    header.getUint32(4) === size &&
    header.getFloat64(8) === mtimeMs
  );
}

/** Where the code cache of `file` is kept for this Node. */
function codeCacheFile(file: string): string {
  return `${file}.${process.version}-${process.arch}.cache`;
}

/** The CommonJS wrapper Node's loader once used: stack traces keep the bundle's line numbers. */
const wrap = (source: string) =>
  `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;

/** The bundles loaded since produceCodeCache(), to make their cache from. */
const scripts = new Map<string, vm.Script>();
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
  let cached: Buffer | undefined;
  let source: string;
  try {
    if (!producing) {
      cached = fs.readFileSync(codeCacheFile(file));
      if (!isCacheOf(cached, file)) {
        debug('code cache %s is not for this %s: not used', codeCacheFile(file), file);
        return fallback();
      }
    }
    source = fs.readFileSync(file, 'utf8');
  } catch {
    return fallback(); // no cache for this Node, or no bundle (src/ run by tsx)
  }
  const { Script } = require('node:vm') as typeof vm;
  const script = new Script(wrap(source), {
    filename: file,
    ...(cached ? { cachedData: cached.subarray(HEADER) } : {}),
  });
  if (cached) {
    debug(
      'code cache %s %s',
      codeCacheFile(file),
      script.cachedDataRejected ? 'rejected by V8' : 'used',
    );
  }
  if (producing) scripts.set(file, script);
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
 */
export function writeCodeCache(file: string): string {
  const script = scripts.get(file);
  if (!script) throw new Error(`${file} was not loaded since produceCodeCache()`);
  const target = codeCacheFile(file);
  const temporary = `${target}.${process.pid}`;
  fs.writeFileSync(temporary, Buffer.concat([headerOf(file), script.createCachedData()]));
  fs.renameSync(temporary, target);
  return target;
}
