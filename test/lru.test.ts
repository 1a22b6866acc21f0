// The resolver's cache (src/discovery/lru.ts): bounded, least recently used out first, and
// every value that leaves seen by dispose (the resolver clears its refresh timer there).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lru } from '../src/discovery/lru.js';

test('when full, the least recently used entry makes room; get makes an entry the most recent, peek does not', () => {
  const disposed: string[] = [];
  const lru = new Lru<string, string>(3, (value) => disposed.push(value));
  lru.set('a', 'A');
  lru.set('b', 'B');
  lru.set('c', 'C');
  assert.equal(lru.get('a'), 'A'); // a is now the most recent: b is the oldest
  assert.equal(lru.peek('b'), 'B'); // peek leaves b the oldest
  lru.set('d', 'D');
  assert.deepEqual(disposed, ['B']);
  assert.equal(lru.peek('b'), undefined);
  assert.equal(lru.size, 3);
  lru.set('e', 'E'); // c is the oldest now
  assert.deepEqual(disposed, ['B', 'C']);
  assert.deepEqual(
    ['a', 'd', 'e'].map((key) => lru.peek(key)),
    ['A', 'D', 'E'],
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
  lru.set('a', 'A3'); // replacing makes a the most recent: b goes first
  lru.set('c', 'C');
  assert.deepEqual(disposed, ['A1', 'A2', 'B']);
  lru.clear();
  assert.deepEqual(disposed, ['A1', 'A2', 'B', 'A3', 'C']);
  assert.equal(lru.size, 0);
});
