// Checks the import graph of src/: no cycle (type-only imports count: they are a cycle to a
// reader), and layers that import one way, errors/clock/dns -> config -> discovery ->
// patch/update/server -> cli/warm -> index. Run by `npm test`; prints each problem, exits 1 on any.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', 'src');

/** A module's layer: it may import its own layer and those below, never one above. */
function layerOf(file) {
  const path = relative(ROOT, file);
  if (/^(errors|debug|events|clock)\.ts$/.test(path) || path.startsWith('dns/')) return 0;
  if (path === 'config.ts') return 1;
  if (path.startsWith('discovery/')) return 2;
  if (/^(patch|update|server|dock)\//.test(path)) return 3;
  if (path === 'cli.ts' || path === 'warm.ts' || path.startsWith('cli/')) return 4;
  return 5; // index.ts: the public API
}
const LAYERS = [
  'errors, dns',
  'config',
  'discovery',
  'patch, update, server, dock',
  'cli, warm',
  'index',
];

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Relative modules a file imports, statically or with require()/import(). */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/\b(?:import|export)\b[^'"]*?\bfrom\s*'(\.[^']+\.js)'/g),
    ...text.matchAll(/\b(?:require|import)\(\s*'(\.[^']+\.js)'\s*\)/g),
  ].map((match) => match[1]);
  return [...new Set(specifiers)].map((specifier) =>
    resolve(dirname(file), specifier.replace(/\.js$/, '.ts')),
  );
}

const files = sources(ROOT);
const graph = new Map(files.map((file) => [file, importsOf(file)]));
const problems = [];
const name = (file) => relative(ROOT, file);

for (const [file, imports] of graph) {
  for (const imported of imports) {
    if (!graph.has(imported))
      problems.push(`${name(file)} imports ${name(imported)}: no such file`);
    else if (layerOf(imported) > layerOf(file))
      problems.push(
        `${name(file)} (${LAYERS[layerOf(file)]}) imports ${name(imported)} (${LAYERS[layerOf(imported)]}), a layer above it`,
      );
  }
}

// Cycles: a depth-first search that reports each back edge with the path it closes.
const state = new Map();
const stack = [];
function visit(file) {
  state.set(file, 'open');
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (!graph.has(next)) continue;
    if (state.get(next) === 'open') {
      const cycle = stack.slice(stack.indexOf(next)).concat(next);
      problems.push(`import cycle: ${cycle.map(name).join(' -> ')}`);
    } else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(file, 'done');
}
for (const file of files) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  process.exit(1);
}
console.log(`imports: ${files.length} modules of src/, no cycle, layers one way`);
