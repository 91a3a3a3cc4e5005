// The runner's side of repeat absorption (wire/socket RepeatAbsorber): a
// Backup that took a plain advert has the socket absorb exact repeats of it,
// and takes them as one event before anything else reaches its machine. A
// socket driven by hand stands in for the addon (test/lab/repeat-absorption
// drives the real one) and the clock is virtual, so the takeover's time is exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RepeatAbsorber } from '../../../wire/socket/index.js';
import { masterDownIntervalMs } from '../../../actors/vrrp/index.js';
import { handDrivenBackup } from './hand-driven-backup.js';

const MDI = masterDownIntervalMs({ version: 3, priority: 100, masterAdvertIntervalCs: 100 });

function backupWithAbsorbingSocket(o: { precise?: boolean } = {}) {
  // What the addon does, by hand: absorbs while armed, counts, ends on a datagram it hands over.
  const fake = { inHandler: false, armed: false, arms: 0, count: 0, takes: 0, arrivedAt: 0, readAt: 0, onAbsorbed: (_vrid: number) => {} };
  let now = () => 0;
  const repeats: RepeatAbsorber = {
    arm: () => {
      if (!fake.inHandler) return false;
      fake.armed = true;
      fake.arms++;
      return true;
    },
    disarm: () => void (fake.armed = false),
    onAbsorbed: (h) => void (fake.onAbsorbed = h),
    pending: () => fake.count,
    latestAgoMs: () => (fake.count === 0 ? NaN : now() - fake.arrivedAt),
    take: (_vrid, into) => {
      const n = fake.count;
      if (n === 0) return 0;
      fake.count = 0;
      fake.takes++;
      into.arrivedAgoMs = now() - fake.arrivedAt;
      into.readAgoMs = now() - fake.readAt;
      return n;
    },
  };
  const b = handDrivenBackup(repeats, o);
  const { clock, runner } = b;
  now = () => clock.now();
  const transitions: { to: string; at: number }[] = [];
  runner.onTransition((t) => transitions.push({ to: t.to, at: clock.now() }));
  /** A datagram the addon hands over: it ends the absorption first, as the addon does. */
  const hand = (priority = 200) => {
    fake.armed = false;
    fake.inHandler = true;
    try {
      b.deliver({ payload: b.advert(priority) });
    } finally {
      fake.inHandler = false;
    }
  };
  /** A repeat the addon absorbs (only while armed); `read`: as part of a batch read, which tells the runner. */
  const repeat = (read = false) => {
    assert.ok(fake.armed, 'absorbing');
    fake.count++;
    fake.arrivedAt = clock.now();
    fake.readAt = clock.now();
    if (read) fake.onAbsorbed(51);
  };
  return { clock, runner, fake, hand, repeat, received: b.received, hostWakes: b.hostWakes, transitions };
}

test('after a plain advert the socket absorbs its repeats, and Master_Down_Timer counts from the latest one', () => {
  const b = backupWithAbsorbingSocket();
  b.hand();
  assert.ok(b.fake.armed, 'armed after the machine took the advert the plain way');
  const start = b.clock.now();
  for (let i = 1; i <= 3; i++) {
    b.clock.increment(1000);
    b.repeat();
  }
  const lastRepeat = b.clock.now();
  // Past the first advert's Master_Down_Interval: the timer takes the repeats and re-arms instead of firing.
  b.clock.increment(start + MDI + 1 - b.clock.now());
  assert.equal(b.runner.state, 'backup');
  assert.equal(b.fake.count, 0, 'the repeats were taken');
  assert.ok(b.fake.armed, 'and absorption goes on');
  b.clock.increment(lastRepeat + MDI - 0.5 - b.clock.now());
  assert.equal(b.runner.state, 'backup', 'still Backup just before the latest repeat’s Master_Down_Interval');
  b.clock.increment(1);
  assert.equal(b.runner.state, 'master');
  const takeover = b.transitions.find((t) => t.to === 'master')!;
  assert.ok(Math.abs(takeover.at - (lastRepeat + MDI)) <= 0.5, `took over ${takeover.at - lastRepeat} ms after the latest repeat (MDI ${MDI})`);
  assert.equal(b.runner.status().counters.advertsReceived, 4, 'every repeat is counted');
});

test('status and the split-brain fence see the repeats absorbed since the last event', () => {
  const b = backupWithAbsorbingSocket();
  b.hand();
  b.clock.increment(1000);
  b.repeat();
  b.clock.increment(1000);
  b.repeat();
  b.clock.increment(250);
  assert.equal(b.runner.peerAdvertAgoMs(), 250, 'heard 250 ms ago (the latest repeat)');
  const status = b.runner.status();
  assert.equal(status.counters.advertsReceived, 3);
  assert.equal(Math.round(status.masterDownInMs!), Math.round(MDI - 250));
});

test('any other event takes the repeats first and ends the absorption until the next plain advert', () => {
  const b = backupWithAbsorbingSocket();
  b.hand();
  b.clock.increment(1000);
  b.repeat();
  b.clock.increment(1000);
  b.repeat();
  b.runner.setPriority(90);
  assert.equal(b.fake.armed, false, 'a SET_PRIORITY step ended it');
  assert.equal(b.received(), 3, 'the two repeats reached the machine before it');
  assert.equal(b.runner.state, 'backup');
  b.clock.increment(1000);
  b.hand();
  assert.ok(b.fake.armed, 'the next plain advert arms it again');
  assert.equal(b.fake.arms, 2);
});

test('a priority-0 advert after repeats reaches the machine after them, and is not absorbed', () => {
  const b = backupWithAbsorbingSocket();
  b.hand();
  b.clock.increment(1000);
  b.repeat();
  b.clock.increment(100);
  b.hand(0);
  assert.equal(b.fake.armed, false, 'a priority-0 step does not arm');
  const status = b.runner.status();
  assert.equal(status.counters.advertsReceived, 3);
  assert.equal(status.counters.priorityZeroReceived, 1);
  // Skew_Time, then Master.
  b.clock.increment(1000);
  assert.equal(b.runner.state, 'master');
});

test('a stop ends the absorption: the stopping Backup leaves the wire with nothing absorbed', async () => {
  const b = backupWithAbsorbingSocket();
  b.hand();
  b.clock.increment(1000);
  b.repeat();
  const stopped = b.runner.stop();
  b.clock.increment(10);
  await stopped;
  assert.equal(b.fake.armed, false);
  assert.equal(b.fake.count, 0);
});

test("with the daemon's precise timers the repeats only move Master_Down_Timer's wake-up on: no step, no wake-up, and the takeover exactly MDI after the latest", () => {
  const b = backupWithAbsorbingSocket({ precise: true });
  b.hand();
  for (let i = 1; i <= 20; i++) {
    b.clock.increment(1000);
    b.repeat(true);
  }
  assert.equal(b.fake.takes, 0, 'the machine took no repeat while they came');
  assert.equal(b.hostWakes(), 0, 'and its timer never woke the loop');
  assert.equal(b.runner.state, 'backup');
  const lastRepeat = b.clock.now();
  b.clock.increment(MDI - 0.5);
  assert.equal(b.runner.state, 'backup', 'still Backup just before the latest repeat’s Master_Down_Interval');
  assert.equal(b.fake.takes, 1, 'the wake-up before the deadline took them all at once');
  b.clock.increment(1);
  assert.equal(b.runner.state, 'master');
  const takeover = b.transitions.find((t) => t.to === 'master')!;
  assert.ok(Math.abs(takeover.at - (lastRepeat + MDI)) <= 0.1, `took over ${takeover.at - lastRepeat} ms after the latest repeat (MDI ${MDI})`);
  assert.equal(b.received(), 21, 'every repeat is counted');
});

test('status in between takes what the postponed timer left waiting, and the deadline it reports is the latest repeat’s', () => {
  const b = backupWithAbsorbingSocket({ precise: true });
  b.hand();
  for (let i = 1; i <= 5; i++) {
    b.clock.increment(1000);
    b.repeat(true);
  }
  b.clock.increment(300);
  const status = b.runner.status();
  assert.equal(status.counters.advertsReceived, 6);
  assert.ok(Math.abs(status.masterDownInMs! - (MDI - 300)) < 0.01, `Master_Down_Timer due in ${status.masterDownInMs} ms`);
  assert.equal(b.fake.takes, 1);
});
