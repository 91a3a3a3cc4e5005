// The bench's reading of the hypervisor's steal from /proc/stat, and where it places it in time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SAMPLE_MS, StealSeries, startStealSampler, stealMsIn } from '../../bench/lib/host-steal.js';

const STAT = (steal: number) =>
  `cpu  2539788 119 374374 7059412 24307 0 36672 ${steal} 0 0\ncpu0 1 2 3 4 5 6 7 1 0 0\ncpu1 1 2 3 4 5 6 7 ${steal - 1} 0 0\nintr 1\n`;

test('steal is read from the all-CPU line, in 10 ms ticks', () => {
  assert.equal(stealMsIn(STAT(2373)), 23_730);
});

test('no steal column, or no cpu line, gives null rather than a figure', () => {
  assert.equal(stealMsIn('cpu  1 2 3 4 5 6 7\n'), null);
  assert.equal(stealMsIn(''), null);
});

test('steal is counted in the samples around a span, not elsewhere', () => {
  const s = new StealSeries();
  // A tick shows up at 1,000 ms; another at 5,000 ms.
  for (let at = 0; at <= 6000; at += SAMPLE_MS) s.add(at, 100 + (at >= 1000 ? 10 : 0) + (at >= 5000 ? 10 : 0));
  assert.equal(s.total(), 20);
  assert.equal(s.between(950, 960), 10, 'a span just before the tick was counted');
  assert.equal(s.between(1040, 1050), 10, 'a span just after the tick was counted');
  assert.equal(s.between(3000, 3040), 0, 'no tick near a span in between');
  assert.equal(s.between(600, 5400), 20);
  assert.equal(s.between(-500, -400), 0, 'before the first sample');
  assert.equal(new StealSeries().between(0, 10), 0);
});

test('the sampler says so when /proc/stat has no steal', () => {
  const none = startStealSampler(Date.now, () => 'cpu  1 2 3\n');
  none.stop();
  assert.equal(none.available, false);
  let steal = 50;
  const some = startStealSampler(Date.now, () => STAT(steal));
  steal = 53;
  some.stop();
  assert.equal(some.available, true);
  assert.equal(some.series.total(), 30);
});
