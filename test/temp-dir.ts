// Temporary directories of the tests and benchmarks: made under the system's temporary folder
// and removed, with what is in them, when the process that made them exits, a failed test's
// included. (Until the twenty-sixth pass only the code-cache test removed its own, in an
// after() hook: each `npm test` left some 60 directories behind, 130 MB of them the dock test's
// client image, and `.ci/run` three times that; `.ci/run` now fails a run that leaves one.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

function removeAll(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A new directory `svcdisc-<name>-XXXXXX` under the temporary folder, removed at exit. */
export function tempDir(name: string): string {
  if (made.length === 0) process.once('exit', removeAll);
  const dir = mkdtempSync(join(tmpdir(), `svcdisc-${name}-`));
  made.push(dir);
  return dir;
}
