// Pure rules, plus the real histogram: the event-loop delay without the sampling period.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoopDelayMonitor, loopDelayMs, loopDelayResolutionMs, MAX_RESOLUTION_MS, MIN_RESOLUTION_MS } from '../../daemon/loop-delay.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const block = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

test('the sampling period is not a delay', () => {
  assert.equal(loopDelayMs(20_135_935, 20), 0.136);
  assert.equal(loopDelayMs(19_000_000, 20), 0, 'never negative');
  assert.equal(loopDelayMs(55_500_000, 20), 35.5);
  assert.equal(loopDelayMs(255_500_000, 250), 5.5);
});

test('the period is a quarter of the fastest advert interval, 20 to 250 ms', () => {
  assert.equal(loopDelayResolutionMs(1000), MAX_RESOLUTION_MS);
  assert.equal(loopDelayResolutionMs(100), 25);
  assert.equal(loopDelayResolutionMs(10), MIN_RESOLUTION_MS);
  assert.equal(loopDelayResolutionMs(Infinity), MAX_RESOLUTION_MS, 'no instances: the slowest');
});

test('an idle loop reads near 0, and a 150 ms block shows as the recent and lifetime maximum', async () => {
  const m = new LoopDelayMonitor(20);
  try {
    await sleep(300);
    // Generous: 2 shared cores; the point is that the 20 ms period is gone.
    assert.ok(m.readings().delayP50Ms < 10, `p50 ${m.readings().delayP50Ms} ms`);
    block(150);
    await sleep(60);
    const r = m.readings();
    assert.ok(r.recentMaxMs >= 100, `recent max ${r.recentMaxMs} ms`);
    assert.ok(r.delayMaxMs >= r.recentMaxMs);
    m.retune(25);
    assert.equal(m.readings().resolutionMs, 25);
    assert.ok(m.readings().delayMaxMs >= 100, 'the lifetime maximum survives a retune');
  } finally {
    m.stop();
  }
});
