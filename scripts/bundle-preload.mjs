// Start-up cost is per file loaded: the preload's path (install, the connect and lookup
// patches, the config, and what they need) is bundled into the one file dist/patch/install.js,
// replacing tsc's output of it. The service side (the service connect, the pools, the
// resolver and its cache, the DNS client and its wire codec) is a second bundle,
// dist/patch/side.js, required on the first intercepted name; it takes the modules both need
// (src/patch/shared.ts) from the first, which re-exports them as `shared`. The registration
// code stays apart, loaded when the program listens.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
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

// The source files whose modules the service side takes from the start-up bundle (those
// src/patch/shared.ts re-exports), with their exports by name (tsc's output, built just
// before): the side's modules get them as ES module bindings, where a CommonJS
// `module.exports = …` would have esbuild copy the whole namespace again for each module that
// imports it.
const require = createRequire(import.meta.url);
const reexported = readFileSync('src/patch/shared.ts', 'utf8').matchAll(
  /^export \* from '\.\.\/(.+)\.js';$/gm,
);
const shared = new Map(
  [...reexported].map(([, name]) => [
    resolve('src', `${name}.js`),
    Object.keys(require(resolve('dist', `${name}.js`))),
  ]),
);
if (shared.size === 0) throw new Error('src/patch/shared.ts re-exports no module: nothing shared');

await build({
  ...common,
  entryPoints: ['src/patch/side.ts'],
  outfile: 'dist/patch/side.js',
  plugins: [
    {
      name: 'shared-from-install',
      setup(build) {
        build.onResolve({ filter: /^\.\.?\// }, (args) => {
          if (args.namespace === 'shared') return { path: args.path, external: true };
          const path = resolve(args.resolveDir, args.path);
          return shared.has(path) ? { path, namespace: 'shared' } : undefined;
        });
        build.onResolve({ filter: /^svcdisc:shared$/ }, () => ({
          path: 'start-up bundle',
          namespace: 'shared',
        }));
        build.onLoad({ filter: /.*/, namespace: 'shared' }, (args) => ({
          contents:
            args.path === 'start-up bundle'
              ? // Taken once, from the module cache where the start-up bundle is: resolving
                // './install.js' from here costs a first connect about 0.5 ms.
                `const loaded = require.cache[__filename.replace(/side\\.js$/, 'install.js')];
                 module.exports = (loaded ? loaded.exports : require('./install.js')).shared;`
              : `export const { ${shared.get(args.path).join(', ')} } = require('svcdisc:shared');`,
          loader: 'js',
        }));
      },
    },
  ],
});
