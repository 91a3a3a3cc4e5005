// Receive moderation's scheduling, on simulated time with sockets that record
// what was asked of them (the real socket's pause, resume and drain are in
// test/lab/receive-moderation.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { holdForIntervalMs, ReceiveModerator, type HeldSocket, type ModeratorHost } from '../../../wire/socket/receive-moderation.js';

function simulatedHost(start = 1003.4) {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  /** Every timer made and not cleared, fired or not: what refresh may re-arm. */
  const made = new Map<number, { ms: number; fn: () => void }>();
  const calls = { setTimeout: 0, refresh: 0 };
  const host: ModeratorHost = {
    now: () => now,
    setTimeout: (fn, ms) => {
      calls.setTimeout++;
      timers.set(++seq, { at: now + ms, fn });
      made.set(seq, { ms, fn });
      return seq;
    },
    clearTimeout: (h) => {
      timers.delete(h as number);
      made.delete(h as number);
    },
    refresh: (h) => {
      const t = made.get(h as number);
      assert.ok(t, 'refresh of a cleared timer (Node would ignore it)');
      calls.refresh++;
      timers.set(h as number, { at: now + t.ms, fn: t.fn });
    },
  };
  /** Runs the timers due up to `until`, in order, advancing time to each. */
  const runUntil = (until: number) => {
    for (let i = 0; i < 1000; i++) {
      const due = [...timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      timers.delete(due[0]);
      now = due[1].at;
      due[1].fn();
    }
    now = Math.max(now, until);
  };
  return { host, runUntil, now: () => now, timers: () => timers.size, calls };
}

function recordingSocket(name: string, log: string[]): HeldSocket {
  return { pause: () => log.push(`${name} pause`), resume: () => (log.push(`${name} resume`), true), drain: () => log.push(`${name} drain`) };
}

test('a socket that cannot be watched again stays held: drained before a takeover, retried every 10 ms until it resumes', () => {
  const sim = simulatedHost(1003.4);
  const log: string[] = [];
  let failing = 3;
  const a: HeldSocket = {
    pause: () => log.push('pause'),
    resume: () => (log.push('resume'), failing-- <= 0),
    drain: () => log.push('drain'),
  };
  const m = new ReceiveModerator(sim.host);
  m.hold(a, 100);
  sim.runUntil(1101);
  assert.deepEqual(log, ['pause', 'resume'], "the first resume, at the hold's end, failed");
  assert.equal(m.stats.held, 1, 'still held');
  m.drainAll();
  assert.deepEqual(log.slice(2), ['drain'], 'read before a takeover timer acts');
  sim.runUntil(1125);
  assert.deepEqual(log.slice(3), ['resume', 'resume'], 'tried again at 1110 and 1120');
  sim.runUntil(1200);
  assert.deepEqual(log.slice(5), ['resume'], 'watched again at 1130');
  assert.equal(m.stats.held, 0);
  assert.equal(sim.timers(), 0, 'nothing left armed');
  // release() retries the same way.
  failing = 1;
  m.hold(a, 100);
  m.release(a);
  assert.equal(m.stats.held, 1, 'a failed release keeps the hold');
  sim.runUntil(1300);
  assert.equal(m.stats.held, 0);
  assert.deepEqual(log.slice(6), ['pause', 'resume', 'resume']);
});

test('the hold is a tenth of the advert interval, in steps that divide each other, none under 50 ms adverts', () => {
  assert.equal(holdForIntervalMs(1000), 100);
  assert.equal(holdForIntervalMs(3000), 100);
  assert.equal(holdForIntervalMs(900), 50);
  assert.equal(holdForIntervalMs(500), 50);
  assert.equal(holdForIntervalMs(250), 20);
  assert.equal(holdForIntervalMs(100), 10);
  assert.equal(holdForIntervalMs(50), 5);
  assert.equal(holdForIntervalMs(40), 0);
  assert.equal(holdForIntervalMs(10), 0);
});

test('a held socket resumes at the next multiple of its hold, and sockets held alike resume on one timer', () => {
  const sim = simulatedHost(1003.4);
  const log: string[] = [];
  const m = new ReceiveModerator(sim.host);
  const a = recordingSocket('a', log);
  const b = recordingSocket('b', log);
  m.hold(a, 100);
  sim.runUntil(1050);
  m.hold(b, 100);
  // A second hold of a held socket changes nothing.
  m.hold(a, 100);
  assert.deepEqual(log, ['a pause', 'b pause']);
  assert.equal(sim.timers(), 1, 'one timer for both');
  assert.deepEqual(m.stats, { held: 2, holds: 2, drains: 0 });
  sim.runUntil(1099.9);
  assert.deepEqual(log, ['a pause', 'b pause'], 'nothing before the grid point');
  // Node's timers take whole ms: asked for ceil(ms), they may come up to 1 ms after the grid point.
  sim.runUntil(1101);
  assert.deepEqual(log, ['a pause', 'b pause', 'a resume', 'b resume']);
  assert.equal(m.stats.held, 0);
  assert.equal(sim.timers(), 0);
});

test('a shorter hold brings the timer forward; the longer one still waits for its own grid point', () => {
  const sim = simulatedHost(1003.4);
  const log: string[] = [];
  const m = new ReceiveModerator(sim.host);
  m.hold(recordingSocket('slow', log), 100);
  m.hold(recordingSocket('fast', log), 10);
  sim.runUntil(1011);
  assert.deepEqual(log, ['slow pause', 'fast pause', 'fast resume']);
  sim.runUntil(1099.9);
  assert.deepEqual(log, ['slow pause', 'fast pause', 'fast resume']);
  sim.runUntil(1101);
  assert.deepEqual(log, ['slow pause', 'fast pause', 'fast resume', 'slow resume']);
});

test('release resumes at once, forget drops a closing socket untouched, drainAll reads only held sockets', () => {
  const sim = simulatedHost();
  const log: string[] = [];
  const m = new ReceiveModerator(sim.host);
  const a = recordingSocket('a', log);
  const b = recordingSocket('b', log);
  const c = recordingSocket('c', log);
  m.drainAll();
  assert.equal(m.stats.drains, 0, 'nothing held: no drain counted');
  m.hold(a, 50);
  m.hold(b, 50);
  m.drainAll();
  assert.deepEqual(log, ['a pause', 'b pause', 'a drain', 'b drain']);
  m.release(a);
  m.release(c);
  m.forget(b);
  assert.deepEqual(log, ['a pause', 'b pause', 'a drain', 'b drain', 'a resume']);
  assert.equal(sim.timers(), 0, 'nothing held: the timer is gone');
  sim.runUntil(2000);
  assert.equal(log.length, 5, 'no resume after a release or forget');
  assert.deepEqual(m.stats, { held: 0, holds: 2, drains: 1 });
  // A zero or negative hold is no hold.
  m.hold(c, 0);
  assert.equal(m.stats.held, 0);
});

test('holds one after the other re-arm one host timer in place; a hold of another length makes a new one', () => {
  const sim = simulatedHost(1000.2);
  const log: string[] = [];
  const a = recordingSocket('a', log);
  const m = new ReceiveModerator(sim.host);
  // A busy Backup at 0.1 s adverts: held just after each 10 ms grid point until the next.
  for (let i = 0; i < 50; i++) {
    m.hold(a, 10);
    sim.runUntil(Math.floor(sim.now() / 10) * 10 + 10);
    sim.runUntil(sim.now() + 0.3);
  }
  assert.equal(log.filter((x) => x === 'a resume').length, 50, 'resumed at every grid point');
  assert.ok(sim.calls.setTimeout <= 2, `${sim.calls.setTimeout} host timers made for 50 holds`);
  assert.ok(sim.calls.refresh >= 48, `${sim.calls.refresh} refreshes`);
  const made = sim.calls.setTimeout;
  m.hold(a, 100);
  sim.runUntil(sim.now() + 200);
  assert.equal(sim.calls.setTimeout, made + 1, 'a 100 ms hold needs a timer of its own delay');
  assert.equal(log.at(-1), 'a resume');
  m.forget(a);
  assert.equal(sim.timers(), 0, 'nothing left armed');
});
