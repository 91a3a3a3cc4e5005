/**
 * Returning freed malloc memory (glibc's malloc_trim through the addon): memory
 * freed in the middle of the heap is given back, and the resident set shrinks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { returnFreedHeap } from '../../../wire/socket/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function rssMiB(): number {
  return process.memoryUsage.rss() / 2 ** 20;
}

test('memory freed inside the heap goes back to the kernel', () => {
  returnFreedHeap();
  // 64 KiB backing stores come from malloc's heap (under its 128 KiB mmap threshold),
  // with one kept every 64 so the freed ones lie between live ones, not only at the top.
  let chunks: Buffer[] | null = Array.from({ length: 1600 }, () => Buffer.allocUnsafeSlow(64 * 1024).fill(1));
  const kept = chunks.filter((_, i) => i % 64 === 63);
  chunks = null;
  gc();
  gc();
  const before = rssMiB();
  assert.equal(returnFreedHeap(), true, 'malloc_trim released nothing');
  const after = rssMiB();
  assert.ok(before - after >= 50, `rss ${before.toFixed(1)} -> ${after.toFixed(1)} MiB: expected most of the 100 MiB freed to go back`);
  assert.equal(kept.length, 25);
});
