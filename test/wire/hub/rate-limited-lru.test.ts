import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimitedLru } from '../../../wire/hub/rate-limited-lru.js';

const limits = { intervalMs: 60_000, capacity: 3, totalPerInterval: 100 };

test('a key passes once per interval and reports what it held back', () => {
  const lru = new RateLimitedLru(limits);
  assert.deepEqual(lru.hit('a', 0), { pass: true, suppressed: 0 });
  for (let t = 1; t <= 5; t++) assert.deepEqual(lru.hit('a', t * 1000), { pass: false });
  assert.deepEqual(lru.hit('a', 59_999), { pass: false });
  assert.deepEqual(lru.hit('a', 60_000), { pass: true, suppressed: 6 });
  assert.deepEqual(lru.hit('a', 60_001), { pass: false });
});

test('keys are independent', () => {
  const lru = new RateLimitedLru(limits);
  assert.equal(lru.hit('a', 0).pass, true);
  assert.equal(lru.hit('b', 0).pass, true);
  assert.equal(lru.hit('a', 1).pass, false);
});

test('memory is bounded: the least recently seen key is forgotten, not every new one refused', () => {
  const lru = new RateLimitedLru(limits);
  for (const k of ['a', 'b', 'c']) lru.hit(k, 0);
  lru.hit('a', 1); // a is now the most recent
  assert.equal(lru.hit('d', 2).pass, true, 'a new key still passes at capacity');
  assert.equal(lru.size, 3);
  assert.equal(lru.hit('b', 3).pass, true, 'b was evicted, so it counts as new again');
  assert.equal(lru.hit('a', 4).pass, false, 'a was kept');
  // A lifetime cap would never name the 1,025th sender; the LRU does.
  const big = new RateLimitedLru({ intervalMs: 60_000, capacity: 1024, totalPerInterval: 10_000 });
  for (let i = 0; i < 5000; i++) big.hit(`s${i}`, 0);
  assert.equal(big.size, 1024);
  assert.equal(big.hit('late-comer', 1).pass, true);
});

test('the total budget bounds a flood of distinct keys per interval', () => {
  const lru = new RateLimitedLru({ intervalMs: 1000, capacity: 100, totalPerInterval: 2 });
  assert.equal(lru.hit('a', 0).pass, true);
  assert.equal(lru.hit('b', 0).pass, true);
  assert.equal(lru.hit('c', 0).pass, false);
  assert.equal(lru.overBudget, 1);
  assert.deepEqual(lru.hit('c', 1000), { pass: true, suppressed: 1 }, 'the next window names it, with its count');
});
