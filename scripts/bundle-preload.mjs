// Start-up cost is per file loaded: the preload's path (install, the connect and lookup
// patches, the config, and what they need) is bundled into the one file dist/patch/install.js,
// replacing tsc's output of it. The service side (the service connect, the pools, the
// resolver and its cache, the DNS client and its wire codec) is a second bundle,
// dist/patch/side.js, required on the first intercepted name. The registration code stays
// apart, loaded when the program listens.
import { readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const common = {
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
};

const apart = /^(?:\.\/side\.js|\.\.\/update\/registrar\.js|dns-packet)$/;

await build({
  ...common,
  entryPoints: ['src/patch/install.ts'],
  outfile: 'dist/patch/install.js',
  plugins: [
    {
      name: 'keep-apart',
      setup(build) {
        build.onResolve({ filter: apart }, (args) =>
          args.importer.endsWith('src/patch/install.ts') || !args.path.startsWith('.')
            ? { path: args.path, external: true }
            : undefined,
        );
      },
    },
  ],
});

// The service side carries its own copy of every module it runs, the leaves it has in common
// with the start-up path included (names, errors, the SRV name templates), so that all it runs
// is in its code cache (src/patch/code-cache.ts): functions it took from the start-up bundle
// were compiled at the first connect (about 0.5 ms). Of the settings (src/config.ts) it
// imports types only: the settings' table is the start-up bundle's alone (createResolver(),
// which validates options, is a module of its own for that).
const side = await build({
  ...common,
  entryPoints: ['src/patch/side.ts'],
  outfile: 'dist/patch/side.js',
  metafile: true,
});
if (side.metafile.outputs['dist/patch/side.js'].inputs['src/config.ts']?.bytesInOutput) {
  throw new Error(
    'dist/patch/side.js includes src/config.ts: the side must not run the settings table',
  );
}

// Both bundles take Node's builtins from process.getBuiltinModule() (Node >= 20.16; require()
// where it is missing), which skips the CommonJS loader: a require("node:…") costs 10–40 µs
// there on Node 22 and 24, for a builtin already loaded too, and a bundle requires a builtin
// once per module that imports it (the start-up bundle eleven times). Start-up in the preload
// −0.2 ms on Node 22, −0.13 on Node 24, nothing on Node 20 (bench/README.md, the eighth pass).
//
// And each bundle assigns its exports once, at its end, as a plain object: esbuild defines an
// ES module's exports as getters, for live bindings, with helpers that copy them a second time
// (__export, __toCommonJS), which cost about 0.1 ms of start-up (the ninth pass); a bundle's
// exports are functions, bound once, and its one reader (index.js, the loaders) takes them by
// name, so esbuild's __esModule mark is left out too. The bundles' require is a plain function
// (src/patch/code-cache.ts), so no require.resolve, require.cache or the like may be used.
const EXPORTS =
  /var (\w+) = \{\};\n__export\(\1, \{\n((?: {2}[\w$]+: \(\) => [\w$]+,?\n)+)\}\);\nmodule\.exports = __toCommonJS\(\1\);\n/;
const ANNOTATION =
  /\/\/ Annotate the CommonJS export names for ESM import in node:\n0 && \(module\.exports = \{[^}]*\}\);\n$/;

/** The bundle without esbuild's runtime helpers (the `var __x = …` statements before the first
 * module), which only the exports block used: the build fails if anything else uses one. */
function withoutHelpers(out, file) {
  const start = out.indexOf('\nvar __');
  const end = out.indexOf('\n\n// ');
  if (start < 0 || end < start) return out;
  const rest = out.slice(end + 2);
  for (const [, name] of out.slice(start, end).matchAll(/^var (__\w+) =/gm)) {
    if (new RegExp(`\\b${name}\\b`).test(rest)) throw new Error(`${file}: uses esbuild's ${name}`);
  }
  return out.slice(0, start + 1) + rest;
}

// Each bundle is written in ASCII. esbuild escapes other characters in code (its default
// charset), not in the comments it keeps, where an escape changes nothing but their look. One
// such character makes Node decode the whole file on its slow path, and one outside Latin-1
// into a string of two bytes a character, which V8 keeps as the script's source for the life
// of the process: the service side's two (an en dash and a micro sign, in comments) cost each
// first connect 0.07–0.1 ms of decoding and the process 90 KB of heap (bench/README.md, the
// twenty-second pass).
const ascii = (out) =>
  out.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

// The service side's source is padded (a comment of spaces at its end) past V8's largest
// object in the young generation, 128 KiB on Node 20 to 26: a larger one is allocated in the
// young large-object space, which neither counts towards a scavenge nor is copied by one. At
// 90 KB, the string a first connect compiles (the copy in its code cache, or the file) took a
// short program's young generation past the share at which V8 schedules a scavenge, and its
// first connect ran one, 0.6 to 3.8 ms, on Node 20, 22 and 24 alike (bench/README.md, the
// thirty-second pass). It costs 41 KB more heap held, and nothing at start-up.
const LARGE_OBJECT = 128 * 1024;
const largeObjectPadding = (length) => {
  const padding = LARGE_OBJECT + 4096 - length;
  return padding > 0 ? `//${' '.repeat(padding)}\n` : '';
};

for (const file of ['dist/patch/install.js', 'dist/patch/side.js']) {
  let out = readFileSync(file, 'utf8').replace(
    /\brequire\("(node:[a-z_/]+)"\)/g,
    '(process.getBuiltinModule ?? require)("$1")',
  );
  if (out.includes('require("node:')) {
    throw new Error(`${file}: a require("node:…") that is not a call with a builtin's name`);
  }
  const exports = EXPORTS.exec(out);
  if (!exports) throw new Error(`${file}: esbuild's exports block is not where it was`);
  const names = [...exports[2].matchAll(/ {2}([\w$]+): \(\) => ([\w$]+)/g)].map(
    ([, name, local]) => (name === local ? name : `${name}: ${local}`),
  );
  out = withoutHelpers(out.replace(exports[0], '').replace(ANNOTATION, ''), file);
  out += `module.exports = { ${names.join(', ')} };\n`;
  if (/\brequire\.\w/.test(out)) throw new Error(`${file}: uses a property of require`);
  out = ascii(out);
  if (file === 'dist/patch/side.js') out += largeObjectPadding(out.length);
  writeFileSync(file, out);
}
