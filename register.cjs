'use strict';
// The preload: `node -r svcdisc/register app.js`, `node --import svcdisc/register app.mjs`, or
// NODE_OPTIONS="--require svcdisc/register". Installs the patches that route connections to
// names under SVCDISC_DOMAINS through DNS SRV. A bad SVCDISC_* value stops the program at
// start with a message naming it; SVCDISC_DISABLE=1 installs (and checks) nothing.
//
// It loads dist/patch/install.js, the start-up bundle, from V8's code cache of it when
// dist/warm.js made one for this Node from this very bundle (the cache file holds a copy of it,
// compared whole, and that copy is what is compiled), else as any module. The cache holds the
// functions start-up runs, compiled: about a third of the preload's start-up (1 to 2 ms) is
// compiling them. The same file format and choice of cache as the service side's
// (src/patch/code-cache.ts), written here in plain JavaScript because it runs before any of
// svcdisc's modules is loaded (from a module of its own it cost 1 ms more). Any failure to read
// the files is the same as no cache.
//
// This file is compiled at every start, without a cache: each KB of its code costs 0.05 to
// 0.1 ms (V8 parses a function once when it compiles the file and again at its first call).
// So what every start runs is top-level code, and what only some do (a cache chosen by V8
// flags, the debug lines, the errors of install(), in the bundle's preload()) is out of its
// way (bench/README.md, the twenty-ninth pass). Comments cost next to nothing.
//
// Not a regular expression: V8 compiles one at its first use (0.03 to 0.3 ms here).
const disable = (process.env.SVCDISC_DISABLE ?? '').trim().toLowerCase();
/** The options that load code, whose values are not options: none of them sets a V8 flag. */
const LOADS = ['-r', '--require', '--import', '-e', '--eval', '-p', '--print'];

/** The CommonJS wrapper of a bundle in its cache (src/patch/code-cache.ts's HEAD and TAIL). */
const HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const TAIL = '\n});';

/** Node's builtins without the CommonJS loader where this Node can (scripts/bundle-preload.mjs). */
const builtin = process.getBuiltinModule ?? require;

if (disable !== '1' && disable !== 'true') {
  const fs = builtin('node:fs');
  const { sep } = builtin('node:path');
  const dir = `${__dirname}${sep}dist${sep}patch`;
  const file = `${dir}${sep}install.js`;
  // Loaded already (the program required svcdisc before its preload): that one module, whose
  // install() the API (uninstall(), installedResolver()) reaches, not a second copy.
  let svcdisc = require.cache[file];
  if (svcdisc?.loaded) svcdisc = svcdisc.exports;
  else {
    let cache;
    let v8Cache;
    let source;
    try {
      // The plain name where no option may set a V8 flag (NODE_OPTIONS split at spaces), as
      // src/patch/code-cache.ts's readCodeCache() chooses; else cacheForFlags().
      const prefix = `${file}.${process.version}-${process.arch}`;
      const options = process.env.NODE_OPTIONS;
      cache =
        onlyLoads(process.execArgv) && (!options || onlyLoads(options.split(' ')))
          ? { name: `${prefix}.cache`, cached: fs.readFileSync(`${prefix}.cache`) }
          : cacheForFlags(fs, dir, prefix);
      if (cache) {
        // The file: svcdisc's header, a copy of the source the cache was made from in the
        // CommonJS wrapper (HEAD, TAIL), V8's cache (v8CacheStart()). The bundle's bytes are
        // compared with the copy's middle, and the copy is compiled: one string of the source
        // (fromCache() in src/patch/code-cache.ts says why, and why a DataView, a Uint8Array,
        // `compare` and latin1Slice, not other Buffer methods; no stat).
        const read = fs.readFileSync(file);
        const { cached } = cache;
        const start = v8CacheStart(cached);
        const copy =
          start - 8 === HEAD.length + read.length + TAIL.length &&
          read.compare(
            new Uint8Array(cached.buffer, cached.byteOffset + 8 + HEAD.length, read.length),
          ) === 0
            ? cached.latin1Slice(8, start)
            : '';
        if (copy.startsWith(HEAD) && copy.endsWith(TAIL)) {
          source = copy;
          v8Cache = new Uint8Array(cached.buffer, cached.byteOffset + start, cached.length - start);
        } else debug('code cache %s is not for this %s: not used', cache.name, file);
      }
    } catch {}
    // Outside the try: a bundle that throws as it loads throws once (from the catch, it ran
    // again).
    if (source === undefined) svcdisc = require(file);
    else {
      const script = new (builtin('node:vm').Script)(source, {
        filename: file,
        cachedData: v8Cache,
      });
      if (!script.cachedDataRejected) debug('code cache %s used', cache.name);
      else
        debug(
          "code cache %s rejected by V8 (made by another build of Node or under other V8 flags: `node %s` with this program's options makes one)",
          cache.name,
          `${__dirname}${sep}dist${sep}warm.js`,
        );
      const Module = module.constructor;
      const bundle = new Module(file, module);
      bundle.filename = file;
      bundle.paths = Module._nodeModulePaths(dir);
      require.cache[file] = bundle;
      try {
        script
          .runInThisContext()
          .call(bundle.exports, bundle.exports, (id) => bundle.require(id), bundle, file, dir);
      } catch (error) {
        delete require.cache[file];
        throw error;
      }
      bundle.loaded = true;
      svcdisc = bundle.exports;
    }
  }
  svcdisc.preload();
}

/** Whether `options` are only LOADS and their values ('' between two spaces included). */
function onlyLoads(options) {
  for (let i = 0; i < options.length; i++) {
    const equals = options[i].indexOf('=');
    if (LOADS.includes(options[i])) i++;
    else if (options[i] !== '' && (equals < 0 || !LOADS.includes(options[i].slice(0, equals))))
      return false;
  }
  return true;
}

/**
 * With options that may set a V8 flag: the code cache of the start-up bundle for this process's
 * V8 flags, `{ name, cached }`; undefined where the one there is was made under other flags (a
 * line says so); thrown where there is none. As src/patch/code-cache.ts's readCodeCache(),
 * which says why: the plain one (`${prefix}.cache`) where no cache was made under flags, else
 * the one named with V8's hash of the flags (the fourth word of a code cache's header, here an
 * empty script's), or the plain one if made under the same flags.
 */
function cacheForFlags(fs, dir, prefix) {
  const plain = `${prefix}.cache`;
  const named = `${prefix.slice(dir.length + 1)}-`;
  if (!fs.readdirSync(dir).some((name) => name.startsWith(named))) {
    return { name: plain, cached: fs.readFileSync(plain) };
  }
  const hexWord = (bytes, offset) =>
    new DataView(bytes.buffer, bytes.byteOffset + offset, 4)
      .getUint32(0, true)
      .toString(16)
      .padStart(8, '0');
  // V8's flag hash: the fourth word of V8's header, after svcdisc's header and copy.
  const V8_FLAG_HASH = 12;
  const hash = hexWord(new (builtin('node:vm').Script)('').createCachedData(), V8_FLAG_HASH);
  try {
    return { name: `${prefix}-${hash}.cache`, cached: fs.readFileSync(`${prefix}-${hash}.cache`) };
  } catch {}
  const cached = fs.readFileSync(plain);
  const start = v8CacheStart(cached);
  if (
    start > 0 &&
    cached.length >= start + V8_FLAG_HASH + 4 &&
    hexWord(cached, start + V8_FLAG_HASH) !== hash
  ) {
    debug(
      "code cache %s was made under other V8 flags: not used (`node %s` with this program's options makes one for them)",
      plain,
      builtin('node:path').join(__dirname, 'dist', 'warm.js'),
    );
    return undefined;
  }
  return { name: plain, cached };
}

/** Where V8's cache starts in the cache file `cached`: after svcdisc's header (8 bytes: "svc3"
 * and the copy's length) and the copy of the source; 0 where the file is not in that format.
 * As src/patch/code-cache.ts's v8CacheStart(). */
function v8CacheStart(cached) {
  if (cached.length <= 8) return 0;
  const header = new DataView(cached.buffer, cached.byteOffset, 8);
  if (header.getUint32(0) !== 0x73766333) return 0;
  const start = 8 + header.getUint32(4);
  return start < cached.length ? start : 0;
}

/** NODE_DEBUG=svcdisc lines; util.debuglog is loaded only when NODE_DEBUG is set at all. */
function debug(...args) {
  if (process.env.NODE_DEBUG) builtin('node:util').debuglog('svcdisc')(...args);
}
