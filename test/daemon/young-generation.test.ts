import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapSpaceStatistics } from 'node:v8';
import { silentLogger } from '../../core/logger.js';
import { WARM_MIN_MS } from '../../daemon/precise-timer.js';
import { openYoungGenerationSweeper, prepareTakeover, SWEEP_ABOVE, SWEEP_MIN_MS, YoungGenerationSweeper } from '../../daemon/young-generation.js';

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

test('before a takeover: a sweep only with SWEEP_MIN_MS to go, and no warm-up when the sweep ate the time it needed', () => {
  let t = 0;
  const calls: string[] = [];
  const sweeper = (full: boolean, tookMs: number) => ({
    sweepIfFull: () => {
      calls.push('sweep');
      t += full ? tookMs : 0.003;
      return full;
    },
  });
  const warm = () => void calls.push('warm');
  const run = (leftMs: number, s: ReturnType<typeof sweeper> | null) => {
    calls.length = 0;
    prepareTakeover(leftMs, s, warm, () => t);
    return [...calls];
  };
  assert.deepEqual(run(SWEEP_MIN_MS, sweeper(true, 0.5)), ['sweep', 'warm']);
  assert.deepEqual(run(SWEEP_MIN_MS - 0.01, sweeper(true, 0.5)), ['warm'], 'too little time for a sweep');
  assert.deepEqual(run(SWEEP_MIN_MS, sweeper(false, 0)), ['sweep', 'warm'], 'looked, nothing to sweep');
  assert.deepEqual(run(2, sweeper(true, 2 - WARM_MIN_MS + 0.01)), ['sweep'], 'the sweep left under WARM_MIN_MS');
  assert.deepEqual(run(2, null), ['warm'], 'no sweeper on this V8');
});
