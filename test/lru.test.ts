// The resolver's cache (src/discovery/lru.ts): bounded, the CLOCK rule (an entry used since it
// last came up for eviction is passed over once), and every value that leaves seen by dispose
// (the resolver clears its refresh timer there).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lru } from '../src/discovery/lru.js';

test('when full, the oldest entry not used since it was set makes room; a used one is passed over once; peek does not mark', () => {
  const disposed: string[] = [];
  const lru = new Lru<string, string>(3, (value) => disposed.push(value));
  lru.set('a', 'A');
  lru.set('b', 'B');
  lru.set('c', 'C');
  assert.equal(lru.get('a'), 'A'); // a is marked: b is the first to go
  assert.equal(lru.peek('b'), 'B'); // peek leaves b unmarked
  lru.set('d', 'D');
  assert.deepEqual(disposed, ['B']);
  assert.equal(lru.peek('b'), undefined);
  assert.equal(lru.size, 3);
  lru.set('e', 'E'); // c, never used, goes before a (passed over, now behind c)
  assert.deepEqual(disposed, ['B', 'C']);
  assert.deepEqual(
    ['a', 'd', 'e'].map((key) => lru.peek(key)),
    ['A', 'D', 'E'],
  );
});

test('when every entry was used, each is passed over once and the oldest then goes', () => {
  const disposed: string[] = [];
  const lru = new Lru<string, string>(2, (value) => disposed.push(value));
  lru.set('a', 'A');
  lru.set('b', 'B');
  lru.get('a');
  lru.get('b');
  lru.set('c', 'C');
  assert.deepEqual(disposed, ['A']);
  assert.deepEqual(
    ['b', 'c'].map((key) => lru.peek(key)),
    ['B', 'C'],
  );
});

test('a value replaced by another is disposed, the same value set again is not; clear disposes all', () => {
  const disposed: string[] = [];
  const lru = new Lru<string, string>(2, (value) => disposed.push(value));
  lru.set('a', 'A1');
  lru.set('a', 'A2');
  assert.deepEqual(disposed, ['A1']);
  lru.set('a', 'A2');
  assert.deepEqual(disposed, ['A1']);
  lru.set('b', 'B');
  lru.set('a', 'A3'); // set again, a is the newest: b goes first
  lru.set('c', 'C');
  assert.deepEqual(disposed, ['A1', 'A2', 'B']);
  lru.clear();
  assert.deepEqual(disposed, ['A1', 'A2', 'B', 'A3', 'C']);
  assert.equal(lru.size, 0);
});
