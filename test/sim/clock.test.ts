import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../sim/index.js';

test('timers fire at their own (fractional) due time, in FIFO order for ties', () => {
  const c = new VirtualClock();
  const seen: string[] = [];
  c.setTimeout(() => seen.push(`b@${c.now()}`), 3609.375);
  c.setTimeout(() => seen.push(`a@${c.now()}`), 10);
  c.setTimeout(() => seen.push(`c@${c.now()}`), 3609.375);
  c.increment(5000);
  assert.deepEqual(seen, ['a@10', 'b@3609.375', 'c@3609.375']);
  assert.equal(c.now(), 5000);
});

test('a timer set from a callback runs in the same increment when due; cancelled ones never run', () => {
  const c = new VirtualClock();
  const seen: number[] = [];
  const cancelled = c.setTimeout(() => seen.push(-1), 50);
  c.setTimeout(() => {
    seen.push(c.now());
    c.setTimeout(() => seen.push(c.now()), 0);
    c.setTimeout(() => seen.push(c.now()), 25.5);
  }, 20);
  c.clearTimeout(cancelled);
  c.increment(100);
  assert.deepEqual(seen, [20, 20, 45.5]);
  assert.equal(c.pending, 0);
});

test('many cancellations are compacted away without losing live timers', () => {
  const c = new VirtualClock();
  let fired = 0;
  for (let i = 0; i < 5000; i++) {
    const t = c.setTimeout(() => fired++, 1000 + i);
    if (i % 10 !== 0) c.clearTimeout(t);
  }
  assert.equal(c.pending, 500);
  c.increment(10000);
  assert.equal(fired, 500);
  assert.throws(() => c.set(0));
});
