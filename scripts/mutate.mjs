// Mutation check: breaks one guarantee at a time the way a careless change would, runs the
// tests that guard it, and expects them to fail. A mutation the tests survive is reported and
// the run fails. `npm run mutate` (about six minutes; `npm run mutate -- WORD` runs the mutations whose guarantee
// names WORD); test/README.md lists the same table.
// The source is restored after each mutation, also when the run is interrupted.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { MUTATIONS, plan, ROOT } from './mutations.mjs';

const only = process.argv.slice(2);
let survived = 0;
for (const mutation of MUTATIONS) {
  if (only.length > 0 && !only.some((word) => mutation.guarantee.includes(word))) continue;
  const changes = plan(mutation);
  const stale = changes.filter((change) => change.gone.length > 0);
  if (stale.length > 0) {
    for (const { file, gone } of stale) {
      console.error(
        `✖ ${file}: the text to mutate is gone (${gone.join('; ')}); update scripts/mutations.mjs`,
      );
    }
    survived++;
    continue;
  }
  const restore = () => {
    for (const { path, original } of changes) writeFileSync(path, original);
  };
  process.once('SIGINT', restore);
  for (const { path, mutated } of changes) writeFileSync(path, mutated);
  let result;
  try {
    result = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...mutation.tests], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 300_000,
    });
  } finally {
    restore();
    process.off('SIGINT', restore);
  }
  const failed = /^# fail [1-9]/m.test(result.stdout ?? '') || result.status !== 0;
  if (failed) console.log(`✔ caught: ${mutation.guarantee} (${mutation.tests.join(', ')})`);
  else {
    survived++;
    console.error(
      `✖ survived: ${mutation.guarantee} (${mutation.file}; ${mutation.tests.join(', ')} still pass)`,
    );
  }
}
if (survived > 0) process.exit(1);
