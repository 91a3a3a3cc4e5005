// The event-loop delay from timers' lateness: one tick of its own a second, the VRRP timers' lateness fed in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoopDelayMonitor, loopDelayMs, TICK_MS, type LoopDelayHost } from '../../daemon/loop-delay.js';
import { watchedClock } from '../../daemon/watched-clock.js';
import { silentLogger } from '../../core/logger.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const block = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

test('histogram readings in µs read as ms, an on-time sample as 0', () => {
  assert.equal(loopDelayMs(1), 0);
  assert.equal(loopDelayMs(136), 0.136);
  assert.equal(loopDelayMs(35_500), 35.5);
});

test('one tick a second whatever the advert interval: the monitor wakes the daemon once a second', () => {
  const intervals: number[] = [];
  const host: LoopDelayHost = {
    now: () => 0,
    setInterval: (_fn, ms) => {
      intervals.push(ms);
      return { unref: () => undefined };
    },
    clearInterval: () => undefined,
  };
  const m = new LoopDelayMonitor(host);
  m.stop();
  assert.deepEqual(intervals, [TICK_MS]);
  assert.equal(TICK_MS, 1000);
});

test('an idle loop reads near 0, and a 150 ms block over a due tick shows as the recent and lifetime maximum', async () => {
  const m = new LoopDelayMonitor(undefined, 20);
  try {
    await sleep(300);
    // Generous: 2 shared cores.
    assert.ok(m.readings().delayP50Ms < 10, `p50 ${m.readings().delayP50Ms} ms`);
    await sleep(5);
    block(150);
    await sleep(60);
    const r = m.readings();
    assert.ok(r.recentMaxMs >= 100, `recent max ${r.recentMaxMs} ms`);
    assert.ok(r.delayMaxMs >= r.recentMaxMs);
  } finally {
    m.stop();
  }
});

test("a timer's lateness noted from outside counts: the maximum, and the window's p99 once it rotates", () => {
  let now = 0;
  let tick: () => void = () => undefined;
  const host: LoopDelayHost = {
    now: () => now,
    setInterval: (fn) => {
      tick = fn;
      return { unref: () => undefined };
    },
    clearInterval: () => undefined,
  };
  const m = new LoopDelayMonitor(host);
  m.note(42);
  m.note(-0.5);
  // The histogram keeps 2 significant digits: 42 ms reads within 1%.
  const near42 = (ms: number) => Math.abs(ms - 42) <= 0.42;
  assert.ok(near42(m.readings().recentMaxMs), `${m.readings().recentMaxMs}`);
  for (let k = 1; k <= 5; k++) {
    now = k * TICK_MS;
    tick();
  }
  const r = m.readings();
  assert.ok(near42(r.delayMaxMs), `${r.delayMaxMs}`);
  assert.equal(r.delayP50Ms, 0, 'the on-time ticks and the early timer');
  assert.ok(near42(r.delayP99Ms), `${r.delayP99Ms}`);
});

test("a delay beyond the histogram's hour counts as an hour, without a throw", () => {
  const host: LoopDelayHost = { now: () => 0, setInterval: () => ({ unref: () => undefined }), clearInterval: () => undefined };
  const m = new LoopDelayMonitor(host);
  m.note(5 * 3_600_000);
  const max = m.readings().recentMaxMs;
  assert.ok(Math.abs(max - 3_600_000) <= 36_000, `${max}`);
});

test('watchedClock notes the lateness of its plain timers and of its grid points', async () => {
  const noted: number[] = [];
  const clock = watchedClock(silentLogger(), { late: 0, worstLateMs: 0 }, undefined, (ms) => noted.push(ms));
  await new Promise<void>((resolve) => {
    clock.setTimeout(() => resolve(), 10);
    block(60);
  });
  assert.equal(noted.length, 1);
  assert.ok(noted[0]! >= 40, `plain timer ${noted[0]} ms late`);
  // 500 ms and more fire on a grid (a 10 ms step here): noted against the grid point, not the delay.
  noted.length = 0;
  await new Promise<void>((resolve) => {
    const t = clock.createTimer!(() => {
      t.dispose();
      resolve();
    });
    t.start(500);
  });
  assert.equal(noted.length, 1);
  assert.ok(noted[0]! > -2 && noted[0]! < 8, `grid timer ${noted[0]} ms from its grid point (not up to a step late)`);
  // A precise timer of the same length is not on the grid: its own lateness is noted.
  noted.length = 0;
  await new Promise<void>((resolve) => {
    const t = clock.precise!.createTimer!(() => {
      t.dispose();
      resolve();
    });
    t.start(500);
  });
  assert.equal(noted.length, 1, 'the precise timer noted');
  assert.ok(noted[0]! > -1 && noted[0]! < 5, `precise timer ${noted[0]} ms late`);
});
