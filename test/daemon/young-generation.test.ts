import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapSpaceStatistics } from 'node:v8';
import { silentLogger } from '../../core/logger.js';
import { openYoungGenerationSweeper, SWEEP_ABOVE, YoungGenerationSweeper } from '../../daemon/young-generation.js';

test('a sweep scavenges only a young generation over SWEEP_ABOVE full', () => {
  let used = 0;
  let scavenges = 0;
  const sweeper = new YoungGenerationSweeper({ usage: () => ({ used, capacity: 1000 }), scavenge: () => void scavenges++ });
  used = 1000 * SWEEP_ABOVE;
  assert.equal(sweeper.sweepIfFull(), false, 'exactly at the share: left alone');
  used = 1000 * SWEEP_ABOVE + 1;
  assert.equal(sweeper.sweepIfFull(), true);
  assert.equal(scavenges, 1);
  assert.deepEqual(sweeper.stats, { sweeps: 1, skipped: 1 });
  const unknown = new YoungGenerationSweeper({ usage: () => ({ used: 5, capacity: 0 }), scavenge: () => void scavenges++ });
  assert.equal(unknown.sweepIfFull(), false, 'no capacity reported: nothing forced');
  assert.equal(scavenges, 1);
});

function newSpaceUsed(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
}

test("this node's V8 gives a sweeper that empties the young generation, without putting gc on the global object", () => {
  const hadGc = typeof (globalThis as { gc?: unknown }).gc === 'function';
  const sweeper = openYoungGenerationSweeper(silentLogger());
  assert.ok(sweeper, 'a sweeper');
  assert.equal(typeof (globalThis as { gc?: unknown }).gc === 'function', hadGc, 'the global gc as it was');
  // Young garbage until the new space is over the share (bounded: a scavenge may empty it meanwhile).
  let sink: unknown[] = [];
  let swept = false;
  for (let round = 0; round < 200 && !swept; round++) {
    for (let i = 0; i < 2000; i++) sink.push({ i, s: `x${i}` });
    sink = [];
    const before = newSpaceUsed();
    swept = sweeper.sweepIfFull();
    if (swept) assert.ok(newSpaceUsed() < before / 2, `after the sweep ${newSpaceUsed()} bytes of ${before}`);
  }
  assert.ok(swept, 'the young generation got over the share and was swept');
  assert.equal(sweeper.stats.sweeps, 1);
});
