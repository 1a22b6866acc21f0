import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { orderEndpoints, pickEndpoint } from '../src/discovery/order.js';
import { chiSquare, seeded } from './records.js';

interface E {
  name: string;
  priority: number;
  weight: number;
}

const e = (name: string, priority: number, weight: number): E => ({ name, priority, weight });
const names = (list: E[]) => list.map((endpoint) => endpoint.name);
/** Returns the given numbers in turn. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
};

describe('orderEndpoints (RFC 2782)', () => {
  test('lower priorities come first, and every endpoint is in the order once', () => {
    const endpoints = [e('c', 30, 1), e('a', 10, 1), e('b', 20, 1), e('a2', 10, 5)];
    const ordered = orderEndpoints(endpoints, seeded(1));
    assert.deepEqual(
      ordered.map((x) => x.priority),
      [10, 10, 20, 30],
    );
    assert.deepEqual(names(ordered).sort(), ['a', 'a2', 'b', 'c']);
  });

  test('the pick is the first endpoint whose running sum is greater than r in [0, sum)', () => {
    const group = [e('sixty', 1, 60), e('thirty', 1, 30), e('ten', 1, 10)];
    // r = 0 -> running sums 60 > 0: the first.
    assert.deepEqual(names(orderEndpoints(group, sequence(0))), ['sixty', 'thirty', 'ten']);
    // r = 59.99 -> still the first; r = 60 -> 60 is not > 60, so the second.
    assert.equal(orderEndpoints(group, sequence(0.5999))[0]?.name, 'sixty');
    assert.equal(orderEndpoints(group, sequence(0.6))[0]?.name, 'thirty');
    // r = 99.99 -> the last.
    assert.equal(orderEndpoints(group, sequence(0.9999))[0]?.name, 'ten');
    // After 'thirty' is taken the sum is 70: r = 0.9 * 70 = 63 > 60 -> 'ten' before 'sixty'.
    assert.deepEqual(names(orderEndpoints(group, sequence(0.6, 0.9))), ['thirty', 'ten', 'sixty']);
  });

  test('weight 0 is never chosen while a weighted endpoint of its priority remains', () => {
    const group = [e('zero', 1, 0), e('one', 1, 1), e('zero2', 1, 0)];
    for (const r of [0, 0.3, 0.9999]) {
      assert.equal(orderEndpoints(group, sequence(r))[0]?.name, 'one');
    }
  });

  test('an all-zero group is shuffled uniformly', () => {
    const group = [e('a', 1, 0), e('b', 1, 0), e('c', 1, 0)];
    assert.deepEqual(names(orderEndpoints(group, sequence(0.99, 0.99, 0))), ['c', 'b', 'a']);
    const random = seeded(7);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) {
      const first = orderEndpoints(group, random)[0]?.name ?? '';
      counts['abc'.indexOf(first)]!++;
    }
    // df = 2, p = 0.001 critical value 13.82.
    assert.ok(chiSquare(counts, [1 / 3, 1 / 3, 1 / 3]) < 13.82, `counts ${counts}`);
  });

  test('weights are honoured over 20 000 draws (chi-square), not inverted', () => {
    const group = [e('w60', 1, 60), e('w30', 1, 30), e('w10', 1, 10), e('w0', 1, 0)];
    const random = seeded(42);
    const counts = [0, 0, 0];
    for (let i = 0; i < 20_000; i++) {
      const first = orderEndpoints(group, random)[0]?.name;
      counts[['w60', 'w30', 'w10'].indexOf(first ?? '')]!++;
    }
    assert.equal(
      counts.reduce((a, b) => a + b),
      20_000,
      'weight 0 was picked first',
    );
    assert.ok(chiSquare(counts, [0.6, 0.3, 0.1]) < 13.82, `counts ${counts}`);
    // An inverted picker (the bug seen in npm packages) would fail this.
    assert.ok(counts[0]! > counts[1]! && counts[1]! > counts[2]!);
  });

  test('equal weights {1, 1} give 1/2 each, not the 2/3 of the RFC text read literally', () => {
    const group = [e('a', 1, 1), e('b', 1, 1)];
    const random = seeded(3);
    let a = 0;
    for (let i = 0; i < 20_000; i++) if (orderEndpoints(group, random)[0]?.name === 'a') a++;
    // df = 1, p = 0.001 critical value 10.83.
    assert.ok(chiSquare([a, 20_000 - a], [0.5, 0.5]) < 10.83, `a first ${a} times`);
  });

  test('the second place follows the weights of those left', () => {
    const group = [e('w60', 1, 60), e('w30', 1, 30), e('w10', 1, 10)];
    const random = seeded(11);
    // Given w60 first, the second is w30 with 30/40 and w10 with 10/40.
    const counts = [0, 0];
    for (let i = 0; i < 40_000; i++) {
      const order = names(orderEndpoints(group, random));
      if (order[0] === 'w60') counts[order[1] === 'w30' ? 0 : 1]!++;
    }
    assert.ok(chiSquare(counts, [0.75, 0.25]) < 10.83, `counts ${counts}`);
  });

  test('the input is not modified', () => {
    const endpoints = Object.freeze([e('b', 2, 1), e('a', 1, 1)]);
    const ordered = orderEndpoints(endpoints, seeded(5));
    assert.deepEqual(names([...endpoints]), ['b', 'a']);
    assert.notEqual(ordered, endpoints);
    assert.deepEqual(orderEndpoints([], Math.random), []);
  });
});

describe('pickEndpoint: the choice of one request', () => {
  test('is the first of the RFC 2782 order drawn with the same random number', () => {
    const endpoint = fc.record({
      name: fc.string(),
      priority: fc.integer({ min: 0, max: 3 }),
      weight: fc.integer({ min: 0, max: 5 }),
    });
    fc.assert(
      fc.property(
        fc.array(endpoint, { maxLength: 8 }),
        fc.double({ min: 0, max: 0.9999999, noNaN: true }),
        (list, r) => {
          assert.equal(
            pickEndpoint(list, () => r),
            orderEndpoints(list, sequence(r))[0],
          );
        },
      ),
    );
  });

  test('passes over skipped (ejected) endpoints while others remain, then takes them', () => {
    const list = [e('a', 10, 50), e('b', 10, 50), e('backup', 20, 1)];
    const skipA = (x: E) => x.name === 'a';
    for (const r of [0, 0.3, 0.9999])
      assert.equal(pickEndpoint(list, sequence(r), skipA)?.name, 'b');
    const skipFirst = (x: E) => x.priority === 10;
    assert.equal(pickEndpoint(list, sequence(0.1), skipFirst)?.name, 'backup');
    assert.equal(pickEndpoint(list, sequence(0.1), () => true)?.name, 'a');
    assert.equal(pickEndpoint([], Math.random), undefined);
  });

  test('weights 60/30/10 hold over 30 000 picks (chi-square), and a backup is never picked', () => {
    const list = [e('w60', 1, 60), e('w30', 1, 30), e('w10', 1, 10), e('backup', 2, 100)];
    const random = seeded(7);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 30_000; i++) {
      const name = pickEndpoint(list, random)?.name ?? '';
      counts[name] = (counts[name] ?? 0) + 1;
    }
    assert.equal(counts.backup, undefined);
    const observed = [counts.w60 ?? 0, counts.w30 ?? 0, counts.w10 ?? 0];
    assert.ok(chiSquare(observed, [0.6, 0.3, 0.1]) < 13.82, `counts ${observed}`);
  });
});
