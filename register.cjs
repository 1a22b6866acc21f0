'use strict';
// The preload: `node -r svcdisc/register app.js`, `node --import svcdisc/register app.mjs`, or
// NODE_OPTIONS="--require svcdisc/register". Installs the patches that route connections to
// names under SVCDISC_DOMAINS through DNS SRV. A bad SVCDISC_* value stops the program at
// start with a message naming it; SVCDISC_DISABLE=1 installs (and checks) nothing.
// Not a regular expression: V8 compiles one at its first use (0.03 to 0.3 ms here).
const disable = (process.env.SVCDISC_DISABLE ?? '').trim().toLowerCase();
const disabled = disable === '1' || disable === 'true';
/** Node's builtins without the CommonJS loader where this Node can (scripts/bundle-preload.mjs). */
const builtin = process.getBuiltinModule ?? require;

/**
 * dist/patch/install.js, the start-up bundle, from V8's code cache of it when dist/warm.js
 * made one for this Node from this very bundle, else as any module. The cache holds the
 * functions start-up runs, compiled: about a third of the preload's start-up (1 to 2 ms) is
 * compiling them. The same file format and loading as the service side's
 * (src/patch/code-cache.ts), written here in plain JavaScript because it runs before any of
 * svcdisc's modules is loaded (from a module of its own it cost 1 ms more). Any failure to read
 * the files is the same as no cache.
 */
function loadInstall() {
  const fs = builtin('node:fs');
  const path = builtin('node:path');
  const dir = path.join(__dirname, 'dist', 'patch');
  const file = path.join(dir, 'install.js');
  // Loaded already (the program required svcdisc before its preload): that one module, whose
  // install() the API (uninstall(), installedResolver()) reaches, not a second copy.
  const loaded = require.cache[file];
  if (loaded?.loaded) return loaded.exports;
  let cacheFile;
  let cached;
  let source;
  try {
    const cache = readCache(file);
    if (cache) {
      cacheFile = cache.name;
      cached = cache.cached;
      const { size, mtimeMs } = fs.statSync(file);
      // A DataView, not Buffer's read methods: those cost Node 20 about 0.1 ms at their first
      // calls.
      const header = new DataView(cached.buffer, cached.byteOffset, cached.length);
      if (
        cached.length > 16 &&
        header.getUint32(0) === 0x73766331 &&
        header.getUint32(4) === size &&
        header.getFloat64(8) === mtimeMs
      ) {
        source = fs.readFileSync(file, 'utf8');
      } else debug('code cache %s is not for this %s: not used', cacheFile, file);
    }
  } catch {}
  // Outside the try: a bundle that throws as it loads throws once (from the catch, it ran again).
  if (source === undefined) return require(file);
  const script = new (builtin('node:vm').Script)(
    `(function (exports, require, module, __filename, __dirname) { ${source}\n});`,
    { filename: file, cachedData: cached.subarray(16) },
  );
  if (!script.cachedDataRejected) debug('code cache %s used', cacheFile);
  else
    debug(
      "code cache %s rejected by V8 (made by another build of Node or under other V8 flags: `node %s` with this program's options makes one)",
      cacheFile,
      path.join(__dirname, 'dist', 'warm.js'),
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
  return bundle.exports;
}

/** The options that load code, whose values are not options: none of them sets a V8 flag. */
const LOADS = ['-r', '--require', '--import', '-e', '--eval', '-p', '--print'];

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
 * The code cache of the start-up bundle `file` for this process's V8 flags, `{ name, cached }`;
 * undefined where the one there is was made under other flags (a line says so); thrown where
 * there is none. The names and the choice of src/patch/code-cache.ts's readCodeCache(), which
 * says why: the plain name where no option may set a V8 flag (NODE_OPTIONS split at spaces) or
 * no cache was made under flags, else the name with V8's hash of the flags (the fourth word of a
 * code cache's header, here an empty script's), or the plain one if made under the same flags.
 */
function readCache(file) {
  const fs = builtin('node:fs');
  const prefix = `${file}.${process.version}-${process.arch}`;
  const options = process.env.NODE_OPTIONS;
  const path = builtin('node:path');
  if (
    (onlyLoads(process.execArgv) && (!options || onlyLoads(options.split(' ')))) ||
    !fs.readdirSync(path.dirname(file)).some((name) => name.startsWith(`${path.basename(prefix)}-`))
  ) {
    return { name: `${prefix}.cache`, cached: fs.readFileSync(`${prefix}.cache`) };
  }
  const hexWord = (bytes, offset) =>
    new DataView(bytes.buffer, bytes.byteOffset + offset, 4)
      .getUint32(0, true)
      .toString(16)
      .padStart(8, '0');
  // V8's flag hash: the fourth word of V8's header, after svcdisc's 16 bytes in a cache file.
  const V8_FLAG_HASH = 12;
  const hash = hexWord(new (builtin('node:vm').Script)('').createCachedData(), V8_FLAG_HASH);
  try {
    return { name: `${prefix}-${hash}.cache`, cached: fs.readFileSync(`${prefix}-${hash}.cache`) };
  } catch {}
  const cached = fs.readFileSync(`${prefix}.cache`);
  if (cached.length >= 16 + V8_FLAG_HASH + 4 && hexWord(cached, 16 + V8_FLAG_HASH) !== hash) {
    debug(
      "code cache %s was made under other V8 flags: not used (`node %s` with this program's options makes one for them)",
      `${prefix}.cache`,
      path.join(__dirname, 'dist', 'warm.js'),
    );
    return undefined;
  }
  return { name: `${prefix}.cache`, cached };
}

/** NODE_DEBUG=svcdisc lines; util.debuglog is loaded only when NODE_DEBUG is set at all. */
function debug(...args) {
  if (process.env.NODE_DEBUG) builtin('node:util').debuglog('svcdisc')(...args);
}

if (!disabled) {
  try {
    loadInstall().install();
  } catch (error) {
    // Another copy of svcdisc installed first (two preloads, as NODE_OPTIONS in a base image and
    // -r in the command): the program runs with that installation, as it would with one preload.
    if (error?.code === 'ERR_SVCDISC_INSTALLED') {
      debug(
        '%s: another copy of svcdisc is installed already: this one installs nothing',
        __dirname,
      );
    } else if (error?.code === 'ERR_SVCDISC_CONFIG') {
      process.stderr.write(`svcdisc: ${error.message}\n`);
      process.exit(1);
    } else {
      throw error;
    }
  }
}
