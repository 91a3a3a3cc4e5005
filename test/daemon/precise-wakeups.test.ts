// The shared wake timer behind the takeover timers' last stretch, on a fake
// wake timer and a simulated clock: one timer armed for the earliest wait,
// waits run in due order, cancels hold, and what a wait runs may add more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PreciseWakeups } from '../../daemon/precise-wakeups.js';

function fakeWake() {
  let now = 500;
  let onWake: (() => void) | null = null;
  const state = { armedAt: null as number | null, arms: [] as number[], closed: false };
  const open = (fn: () => void) => {
    onWake = fn;
    return {
      arm: (us: number) => {
        state.arms.push(us);
        state.armedAt = us > 0 ? now + us / 1000 : null;
      },
      close: () => void (state.closed = true),
    };
  };
  /** Runs the wake timer's expiries up to `until` (each one a loop turn). */
  const runUntil = (until: number) => {
    for (let i = 0; i < 100 && state.armedAt !== null && state.armedAt <= until; i++) {
      now = state.armedAt;
      state.armedAt = null;
      onWake!();
    }
    now = Math.max(now, until);
  };
  return { open, state, runUntil, now: () => now };
}

test('one wake timer, armed for the earliest wait; each wait runs at its time, in due order', () => {
  const f = fakeWake();
  const w = new PreciseWakeups(f.open, f.now);
  const ran: string[] = [];
  const at: Record<string, number> = {};
  const mark = (name: string) => () => {
    ran.push(name);
    at[name] = f.now();
  };
  w.after(mark('b'), 2.5);
  w.after(mark('a'), 1.2);
  w.after(mark('c'), 2.5);
  assert.equal(f.state.armedAt, 501.2, 'armed for the earliest');
  f.runUntil(510);
  assert.deepEqual(ran, ['a', 'b', 'c']);
  assert.equal(at.a, 501.2);
  assert.equal(at.b, 502.5);
  assert.equal(at.c, 502.5, 'equal due times run on the same wake-up, in the order asked');
  assert.equal(f.state.armedAt, null, 'nothing left: not re-armed');
});

test('a cancelled wait never runs; the timer wakes for nothing at most once, then moves to the next', () => {
  const f = fakeWake();
  const w = new PreciseWakeups(f.open, f.now);
  const ran: string[] = [];
  const a = w.after(() => ran.push('a'), 1);
  w.after(() => ran.push('b'), 2);
  w.cancel(a);
  w.cancel(a);
  f.runUntil(510);
  assert.deepEqual(ran, ['b']);
});

test('what a wait runs may ask for another wait, and it is armed for', () => {
  const f = fakeWake();
  const w = new PreciseWakeups(f.open, f.now);
  const ran: number[] = [];
  w.after(() => {
    ran.push(f.now());
    w.after(() => ran.push(f.now()), 0.3);
  }, 1);
  f.runUntil(510);
  assert.deepEqual(ran, [501, 501.3]);
});

test('never armed for 0 (which would disarm a timerfd): a wait already due is asked for 1 µs', () => {
  const f = fakeWake();
  const w = new PreciseWakeups(f.open, f.now);
  let ran = 0;
  w.after(() => ran++, -0.5);
  assert.equal(f.state.arms.at(-1), 1);
  f.runUntil(501);
  assert.equal(ran, 1);
});

test('a wait that throws passes the error on and leaves the later waits armed for', () => {
  const f = fakeWake();
  const w = new PreciseWakeups(f.open, f.now);
  const ran: string[] = [];
  w.after(() => {
    throw new Error('boom');
  }, 1);
  w.after(() => ran.push('same time'), 1);
  w.after(() => ran.push('later'), 2);
  assert.throws(() => f.runUntil(501), /boom/);
  f.runUntil(510);
  assert.deepEqual(ran, ['same time', 'later']);
});

test('close drops what waits and closes the timer', () => {
  const f = fakeWake();
  const w = new PreciseWakeups(f.open, f.now);
  let ran = 0;
  w.after(() => ran++, 1);
  w.close();
  assert.equal(f.state.closed, true);
  f.runUntil(510);
  assert.equal(ran, 0);
});

test('a wait with slack runs early on an earlier wait’s wake-up, never one without; alone it runs at its due time', () => {
  const f = fakeWake();
  const w = new PreciseWakeups(f.open, f.now);
  const at: Record<string, number> = {};
  const mark = (name: string) => () => void (at[name] = f.now());
  w.after(mark('first'), 1);
  w.after(mark('slack'), 1.6, 1);
  w.after(mark('strict'), 1.7);
  w.after(mark('beyond'), 2.5, 1);
  f.runUntil(501.05);
  assert.equal(at.first, 501);
  assert.equal(at.slack, 501, 'due 0.6 ms later, within its 1 ms slack: on the same wake-up');
  assert.equal(at.strict, undefined, 'no slack: it waits for its due time');
  assert.equal(at.beyond, undefined, 'behind one that may not run yet');
  assert.equal(f.state.armedAt, 501.7, 'armed for the due time of the next, not its slack');
  f.runUntil(510);
  assert.equal(at.strict, 501.7);
  assert.equal(at.beyond, 501.7, 'due 0.8 ms after that wake-up: on it');
  // Alone, a wait with slack is armed for and runs at its due time.
  w.after(mark('alone'), 10, 1);
  assert.equal(f.state.armedAt, 520);
  f.runUntil(530);
  assert.equal(at.alone, 520);
});
