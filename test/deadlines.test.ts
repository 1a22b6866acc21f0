import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Deadlines, Expiring } from '../src/patch/deadlines.js';
import { untilIo as until } from './records.js';

/** An entry that records when it expired, on the clock Deadlines uses. */
class Entry extends Expiring {
  setAt = 0;
  expiredAt = Number.NaN;
  done = false;
  constructor(
    readonly log: string[],
    readonly name: string,
    readonly then?: () => void,
  ) {
    super();
  }
  expire(): void {
    this.expiredAt = performance.now();
    this.log.push(this.name);
    this.then?.();
  }
  settle(): boolean {
    return this.done;
  }
}
const entry = (log: string[], name: string, then?: () => void) => new Entry(log, name, then);

test('deadlines expire once each, in the order they fall due, never before', async () => {
  const deadlines = new Deadlines();
  const log: string[] = [];
  const late = entry(log, 'late');
  const early = entry(log, 'early');
  const middle = entry(log, 'middle');
  // The earliest is set last: the one timer is armed again for it.
  for (const [e, ms] of [
    [late, 90],
    [middle, 60],
    [early, 20],
  ] as const) {
    e.setAt = performance.now();
    deadlines.set(e, ms);
  }
  assert.equal(deadlines.size, 3);
  await until(() => log.length === 3);
  assert.deepEqual(log, ['early', 'middle', 'late']);
  assert.ok(early.expiredAt - early.setAt >= 20, `early after ${early.expiredAt - early.setAt} ms`);
  assert.ok(middle.expiredAt - middle.setAt >= 60);
  assert.ok(late.expiredAt - late.setAt >= 90);
  assert.equal(deadlines.size, 0);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(log, ['early', 'middle', 'late'], 'nothing expires twice');
});

test('a deleted deadline never expires; a replaced one expires at its new time only', async () => {
  const deadlines = new Deadlines();
  const log: string[] = [];
  const deleted = entry(log, 'deleted');
  const moved = entry(log, 'moved');
  const kept = entry(log, 'kept');
  deadlines.set(deleted, 10);
  deadlines.set(moved, 10);
  deadlines.set(kept, 40);
  deadlines.delete(deleted);
  deadlines.delete(deleted); // a second delete, as a connect's end after its failure does
  moved.setAt = performance.now();
  deadlines.set(moved, 60);
  assert.equal(deadlines.size, 2, 'a replaced deadline is still one');
  await until(() => log.length === 2);
  assert.deepEqual(log, ['kept', 'moved']);
  assert.ok(moved.expiredAt - moved.setAt >= 60);
});

test('an entry may set its next deadline as it expires', async () => {
  const deadlines = new Deadlines();
  const log: string[] = [];
  let turns = 0;
  const chained = entry(log, 'turn', () => {
    if (++turns < 3) deadlines.set(chained, 10);
  });
  deadlines.set(chained, 10);
  await until(() => log.length === 3);
  assert.equal(deadlines.size, 0);
});

test('a settled entry is dropped when the timer fires, never expired; the others expire', async () => {
  const deadlines = new Deadlines();
  const log: string[] = [];
  const settledEarly = entry(log, 'settled early');
  const settledLate = entry(log, 'settled late');
  const pending = entry(log, 'pending');
  deadlines.set(settledEarly, 10);
  deadlines.set(pending, 200);
  deadlines.set(settledLate, 300);
  settledEarly.done = true;
  settledLate.done = true;
  // The timer fires for the first (settled) entry: both settled ones leave the list then.
  await until(() => deadlines.size === 1);
  assert.deepEqual(log, []);
  await until(() => log.length === 1);
  assert.deepEqual(log, ['pending']);
  assert.equal(deadlines.size, 0);
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.deepEqual(log, ['pending'], 'a settled entry never expires');
});
