// Start-up cost is per file loaded: the preload's path (install, the connect and lookup
// patches, the config, and what they need) is bundled into the one file dist/patch/install.js,
// replacing tsc's output of it. The resolver (dns-packet, lru-cache) and the registration code
// stay apart: they load on the first intercepted name, or when the program listens. (ConfigError recognises the errors of either copy.)
import { build } from 'esbuild';

const apart =
  /^(?:\.\.\/discovery\/resolver\.js|\.\.\/update\/registrar\.js|dns-packet|lru-cache)$/;

await build({
  entryPoints: ['src/patch/install.ts'],
  outfile: 'dist/patch/install.js',
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
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
