// Pure, plus one real histogram: the event-loop delay without the sampling period.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LOOP_DELAY_RESOLUTION_MS, loopDelayMs } from '../../daemon/loop-delay.js';

test('the sampling period is not a delay', () => {
  assert.equal(loopDelayMs(20_135_935), 0.136);
  assert.equal(loopDelayMs(19_000_000), 0, 'never negative');
  assert.equal(loopDelayMs(55_500_000), 35.5);
});

test('an idle loop reads near 0, not near the 20 ms period', async () => {
  const h = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  h.enable();
  await new Promise((r) => setTimeout(r, 500));
  h.disable();
  assert.ok(h.percentile(50) / 1e6 >= LOOP_DELAY_RESOLUTION_MS, 'the raw reading includes the period');
  // Generous: 2 shared cores; the point is that 20 ms is gone.
  assert.ok(loopDelayMs(h.percentile(50)) < 10, `p50 ${loopDelayMs(h.percentile(50))} ms`);
});
