// scripts/mutate.mjs (npm run mutate, minutes) breaks each guarantee by replacing a text of the
// source; a text an edit has changed makes that mutation stale, and nothing else runs it. This
// checks, in a second, that every text to mutate is still there and every test named exists.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MUTATIONS, plan, ROOT } from '../scripts/mutations.mjs';

test('every mutation of npm run mutate finds its texts in the source and its tests', () => {
  assert.ok(MUTATIONS.length > 0);
  for (const mutation of MUTATIONS) {
    for (const change of plan(mutation)) {
      assert.deepEqual(change.gone, [], `${mutation.guarantee}: texts gone from ${change.file}`);
      assert.notEqual(change.mutated, change.original, mutation.guarantee);
    }
    for (const file of mutation.tests) {
      assert.ok(existsSync(join(ROOT, file)), `${mutation.guarantee}: no ${file}`);
    }
  }
});
