// The soak run of `npm run soak`, shortened: records change every second, an endpoint flaps,
// steady load; nothing leaks and nothing fails outside the documented codes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DOCUMENTED_CODES, runSoak, WORKERS } from './soak.js';

test('soak (6 s): handles and heap flat, no unhandled rejection, only documented errors', async () => {
  const report = await runSoak(6);
  assert.equal(report.unhandledRejections, 0);
  assert.deepEqual(
    Object.keys(report.errors).filter((code) => !DOCUMENTED_CODES.has(code)),
    [],
    JSON.stringify(report.errors),
  );
  assert.ok(report.requests > 500, `only ${report.requests} requests`);
  // One flapping endpoint of two published: every request has a healthy endpoint to go to,
  // but one connected to the flapping endpoint just before it stops listening: a server that
  // closes resets the connections in its accept queue (README), one per worker at most each
  // time, however many requests the machine's speed allowed in between.
  assert.ok(report.requests - report.ok <= report.closes * WORKERS, JSON.stringify(report));
  assert.ok(report.handles[1] <= report.handles[0] + 5, `handles ${report.handles}`);
  assert.ok(report.heapMb[1] < report.heapMb[0] + 10, `heap ${report.heapMb} MB`);
});
