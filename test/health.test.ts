import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EJECT_BASE_MS, EJECT_MAX_MS, EndpointHealth } from '../src/patch/health.js';

/** A health record on a clock the test moves. */
function healthAt(start = 1000) {
  const clock = { now: start };
  return { health: new EndpointHealth(() => clock.now), clock };
}

test('each failure in a row doubles the cool-down, up to 30 s; an endpoint is ejected until it ends', () => {
  const { health, clock } = healthAt();
  const coolDowns = Array.from({ length: 7 }, () => health.eject('a:80'));
  assert.deepEqual(coolDowns, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  assert.equal(EJECT_BASE_MS, 1000);
  assert.equal(EJECT_MAX_MS, 30_000);
  clock.now += 29_999;
  assert.equal(health.isEjected('a:80'), true);
  clock.now += 1;
  assert.equal(health.isEjected('a:80'), false);
  // Still on record: the next failure starts from the cap, not from 1 s.
  assert.equal(health.eject('a:80'), 30_000);
});

test('one success clears the record: the next failure starts again at 1 s', () => {
  const { health } = healthAt();
  health.eject('a:80');
  health.eject('a:80');
  health.restore('a:80');
  assert.equal(health.isEjected('a:80'), false);
  assert.equal(health.size, 0);
  assert.equal(health.eject('a:80'), 1000);
});

test('preferHealthy moves ejected endpoints to the end, in their order, and keeps the rest', () => {
  const { health, clock } = healthAt();
  const order = ['a', 'b', 'c', 'd'];
  assert.equal(
    health.preferHealthy(order, (k) => k),
    order,
  ); // nothing on record: as it is
  health.eject('a');
  health.eject('c');
  assert.deepEqual(
    health.preferHealthy(order, (k) => k),
    ['b', 'd', 'a', 'c'],
  );
  clock.now += 1000; // both cool-downs over
  assert.deepEqual(
    health.preferHealthy(order, (k) => k),
    order,
  );
});

test('at most 10 000 endpoints are on record; the one failed longest ago goes first', () => {
  const { health } = healthAt();
  health.eject('first');
  health.eject('second');
  health.eject('first'); // failed again: now the most recent
  for (let i = 0; i < 9_998; i++) health.eject(`e${i}`);
  assert.equal(health.size, 10_000);
  health.eject('one more');
  assert.equal(health.size, 10_000);
  assert.equal(health.isEjected('second'), false);
  assert.equal(health.isEjected('first'), true);
});
