// The daemon's real-time clock: whole-ms delays for Node's timer lists.
// Its plain timers are Node's: Node takes a timer's start from libuv's loop
// time, read once per loop turn, so against performance.now() a timer armed
// late in a turn can fire that much early (SLACK_MS allows for a loaded
// machine). The precise ones (the takeover timers) never fire early.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gridMs, watchedClock } from '../../daemon/watched-clock.js';
import { silentLogger } from '../../core/logger.js';

const SLACK_MS = 2;

test('fractional delays fire in due order, not early beyond the loop turn, and a cleared one never', async () => {
  const clock = watchedClock(silentLogger(), { late: 0, worstLateMs: 0 });
  const start = performance.now();
  const fired: { name: string; after: number }[] = [];
  const done = new Promise<void>((resolve) => {
    const at = (name: string) => () => {
      fired.push({ name, after: performance.now() - start });
      if (fired.length === 3) resolve();
    };
    clock.setTimeout(at('b'), 12.2);
    clock.setTimeout(at('a'), 4.7);
    const cleared = clock.setTimeout(at('cleared'), 8.4);
    clock.setTimeout(at('c'), 20.9);
    clock.clearTimeout(cleared);
  });
  await done;
  assert.deepEqual(
    fired.map((f) => f.name),
    ['a', 'b', 'c'],
  );
  const asked = { a: 4.7, b: 12.2, c: 20.9 } as Record<string, number>;
  for (const f of fired) assert.ok(f.after >= asked[f.name]! - SLACK_MS, `${f.name} fired after ${f.after} ms, asked ${asked[f.name]}`);
});

for (const kind of ['plain', 'precise'] as const) {
  test(`${kind} re-armable timers: each start replaces the last, a cancelled one never fires, and a blocked loop is counted late`, async () => {
    const stats = { late: 0, worstLateMs: 0 };
    const clock = watchedClock(silentLogger(), stats);
    const make = kind === 'plain' ? clock.createTimer! : clock.precise!.createTimer!;
    const fired: { name: string; after: number }[] = [];
    const start = performance.now();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const timer = (name: string) => make(() => fired.push({ name, after: performance.now() - start }));

    // Re-armed every 5 ms for 40 ms, 20 ms each time: fires once, 20 ms after the last start.
    const rearmed = timer('rearmed');
    let lastStart = 0;
    for (let i = 0; i < 8; i++) {
      lastStart = performance.now() - start;
      rearmed.start(20.3);
      await sleep(5);
    }
    const cancelled = timer('cancelled');
    cancelled.start(6.1);
    cancelled.cancel();
    const disposed = timer('disposed');
    disposed.start(6.1);
    disposed.dispose();
    await sleep(60);
    assert.deepEqual(
      fired.map((f) => f.name),
      ['rearmed'],
    );
    const early = kind === 'plain' ? SLACK_MS : 0;
    assert.ok(fired[0]!.after >= lastStart + 20.3 - early, `fired ${fired[0]!.after - lastStart} ms after its last start`);

    // Fired, then started again: fires again. The loop blocked past its due time: counted late.
    rearmed.start(4.2);
    const blockedUntil = performance.now() + 30;
    while (performance.now() < blockedUntil);
    await sleep(20);
    assert.equal(fired.length, 2);
    assert.equal(stats.late, 1, 'the blocked firing was counted late');
    assert.ok(stats.worstLateMs > 20, `worst ${stats.worstLateMs} ms`);
    rearmed.dispose();
  });
}

test('plain timers of 500 ms and more fire on a grid of a fiftieth of their delay; re-armed from a firing, they count from its grid point', async () => {
  assert.equal(gridMs(1000), 20);
  assert.equal(gridMs(500), 10);
  assert.equal(gridMs(499), 0);
  assert.equal(gridMs(100), 0);
  const clock = watchedClock(silentLogger(), { late: 0, worstLateMs: 0 });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // Five timers of 500 ms (grid 10 ms) started 3 ms apart: without the grid they would fire 3 ms apart.
  const fired: number[] = [];
  const starts: number[] = [];
  const timers = Array.from({ length: 5 }, () => clock.createTimer!(() => fired.push(performance.now())));
  for (const t of timers) {
    starts.push(performance.now());
    t.start(500);
    await sleep(3);
  }
  await sleep(560);
  assert.equal(fired.length, 5);
  for (let i = 0; i < 5; i++) {
    assert.ok(fired[i]! >= starts[i]! + 500 - SLACK_MS, `timer ${i} fired ${fired[i]! - starts[i]!} ms after its start`);
    // On the grid: Node's loop time is whole ms, so up to 1 ms before a grid point; late by what the loop was busy with.
    const off = ((fired[i]! % 10) + 10) % 10;
    assert.ok(off >= 9 || off < 4, `timer ${i} fired ${off.toFixed(2)} ms past a 10 ms grid point`);
  }
  // Re-armed from its own firing: the delay counts from the grid point it fired on, so the intervals stay exact.
  const chained: number[] = [];
  let rearms = 0;
  const t = clock.createTimer!(() => {
    chained.push(performance.now());
    if (rearms++ < 2) t.start(600);
  });
  t.start(600);
  await sleep(1900);
  assert.equal(chained.length, 3);
  for (let i = 1; i < 3; i++) {
    const gap = chained[i]! - chained[i - 1]!;
    // Counted from the actual firing instead, each gap would be up to a grid step (12 ms) longer.
    assert.ok(gap >= 600 - SLACK_MS - 1 && gap < 603, `re-armed gap ${gap.toFixed(2)} ms for 600 ms`);
  }
  for (const x of [...timers, t]) x.dispose();
});

test('timers sharing a grid point fire in start order; one a firing cancels or re-arms is skipped, and the rest still fire', async () => {
  const clock = watchedClock(silentLogger(), { late: 0, worstLateMs: 0 });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const order: string[] = [];
  const t: Record<string, ReturnType<NonNullable<typeof clock.createTimer>>> = {};
  // All five started within one turn: the same 10 ms grid point.
  for (const name of ['a', 'b', 'c', 'd', 'e']) {
    t[name] = clock.createTimer!(() => {
      order.push(name);
      if (name === 'a') t.c!.cancel(); // a later one of the same point, cancelled
      if (name === 'b') t.d!.start(500); // a later one, moved to a later point
    });
  }
  for (const name of ['a', 'b', 'c', 'd', 'e']) t[name]!.start(500);
  await sleep(560);
  assert.deepEqual(order, ['a', 'b', 'e'], 'c cancelled, d re-armed: both skipped on this point');
  await sleep(520);
  assert.deepEqual(order, ['a', 'b', 'e', 'd'], 'd fires on its new point, once');
  for (const x of Object.values(t)) x.dispose();
});

test('the takeover hook runs before a precise timer fires, and an advert it reads (a re-arm) stops the firing', async () => {
  let fired = 0;
  let firedAt = 0;
  let hooks = 0;
  // The daemon passes the hub's drain of held sockets; here the "advert" read re-arms the timer once.
  let rearmOnHook = true;
  const clock = watchedClock(
    silentLogger(),
    { late: 0, worstLateMs: 0 },
    {
      beforeFire: () => {
        hooks++;
        if (rearmOnHook) {
          rearmOnHook = false;
          timer.start(15);
        }
      },
    },
  );
  const timer = clock.precise!.createTimer!(() => {
    fired++;
    firedAt = performance.now();
  });
  const started = performance.now();
  timer.start(10);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(hooks, 2, 'once at the first due time, once at the re-armed one');
  assert.equal(fired, 1, 'fired only at the re-armed time');
  assert.ok(firedAt - started >= 25, `fired ${(firedAt - started).toFixed(2)} ms after the start, re-armed for 15 ms at 10 ms`);
  // Plain timers (an Adver_Timer) do not run the hook.
  const plain = clock.createTimer!(() => undefined);
  plain.start(5);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(hooks, 2);
  timer.dispose();
  plain.dispose();
});

test('plain timers under 0.1 s sleep on the wake timer, counted from the due time they fired for; longer ones and the takeover hooks stay off it', () => {
  const waits: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  let hooks = 0;
  const clock = watchedClock(silentLogger(), { late: 0, worstLateMs: 0 }, { beforeFire: () => hooks++, beforeWait: () => hooks++ }, undefined, {
    wake: (fn, ms) => {
      const w = { fn, ms, cancelled: false };
      waits.push(w);
      return w;
    },
    cancelWake: (w) => void ((w as (typeof waits)[number]).cancelled = true),
  });
  const spin = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };
  /** Fires the latest wait `lateMs` after the moment it was asked for. */
  const wakeLate = (lateMs: number) => {
    const w = waits.at(-1)!;
    spin(w.ms + lateMs);
    w.fn();
  };
  let fired = 0;
  let lateBy = 0;
  const adver = clock.createTimer!(() => {
    fired++;
    adver.start(10);
    if (lateBy > 0) spin(0.5);
  });
  adver.start(10);
  assert.equal(waits.length, 1);
  assert.ok(waits[0]!.ms > 9.5 && waits[0]!.ms < 10.001, `first wait ${waits[0]!.ms} ms`);
  // Woken 2 ms late (and the advert took 0.5 ms): the next due time is 10 ms after the first, not after now.
  lateBy = 2;
  wakeLate(2);
  assert.equal(fired, 1);
  assert.ok(waits[1]!.ms < 8.01, `after a 2 ms late wake-up the next waits ${waits[1]!.ms.toFixed(3)} ms`);
  // Woken 8 ms late: no sooner than half an interval from the firing (no burst of adverts).
  wakeLate(8);
  assert.equal(fired, 2);
  assert.ok(waits[2]!.ms >= 5 && waits[2]!.ms < 5.6, `after an 8 ms late wake-up the next waits ${waits[2]!.ms.toFixed(3)} ms`);
  // A cancel cancels the wait; a start afterwards counts from now.
  adver.cancel();
  assert.equal(waits[2]!.cancelled, true);
  waits[2]!.fn();
  assert.equal(fired, 2, 'a cancelled wait that still runs fires nothing');
  adver.start(20);
  assert.ok(waits[3]!.ms > 19.5 && waits[3]!.ms < 20.001, `a fresh start waits ${waits[3]!.ms} ms`);
  adver.dispose();
  assert.equal(waits[3]!.cancelled, true);
  // 0.1 s and longer: a Node timeout, not the wake timer.
  const slow = clock.createTimer!(() => undefined);
  slow.start(100);
  assert.equal(waits.length, 4);
  slow.dispose();
  assert.equal(hooks, 0, 'no takeover hook runs for a plain timer');
});
