// The takeover timers' precise timeout, on a simulated host whose setTimeout
// fires off its asked time the way libuv's whole-ms loop time makes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EARLY_MS, PreciseTimer, preciseTimeout, WAKE_LEAD_MS, WARM_MIN_MS, type PreciseTimerHost } from '../../daemon/precise-timer.js';

/**
 * A host loop on simulated time: a timer fires `skew(ms)` ms off the asked
 * `ms`, each setImmediate turn costs `turnMs`. `run` advances until nothing is
 * pending or `limit` events ran (a bound, so a runaway wait fails the test).
 */
function simulatedHost(skew: (ms: number) => number, turnMs = 0.02, wakeLatencyMs: number | null = null) {
  let now = 1000.3;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void; kind: 'timer' | 'immediate' }>();
  /** Host timers not cleared (pending or fired): what refresh may re-arm. */
  const timers = new Map<number, { ms: number; fn: () => void }>();
  const log = { timers: [] as number[], immediates: 0, refreshes: 0, wakes: [] as number[], wakesCancelled: 0 };
  const host: PreciseTimerHost = {
    now: () => now,
    setTimeout: (fn, ms) => {
      log.timers.push(ms);
      timers.set(++seq, { ms, fn });
      pending.set(seq, { at: now + ms + skew(ms), fn, kind: 'timer' });
      return seq;
    },
    clearTimeout: (h) => {
      pending.delete(h as number);
      timers.delete(h as number);
    },
    refresh: (h) => {
      const t = timers.get(h as number);
      assert.ok(t, 'refresh of a cleared host timer (Node would ignore it)');
      log.refreshes++;
      pending.set(h as number, { at: now + t.ms + skew(t.ms), fn: t.fn, kind: 'timer' });
    },
    setImmediate: (fn) => {
      log.immediates++;
      pending.set(++seq, { at: now + turnMs, fn, kind: 'immediate' });
      return seq;
    },
    clearImmediate: (h) => void pending.delete(h as number),
    // A sleep to the microsecond (the daemon's timerfd), reaching JS wakeLatencyMs after its time.
    ...(wakeLatencyMs === null
      ? {}
      : {
          wake: (fn: () => void, ms: number) => {
            log.wakes.push(ms);
            pending.set(++seq, { at: now + ms + wakeLatencyMs, fn, kind: 'timer' });
            return seq;
          },
          cancelWake: (h: unknown) => {
            if (pending.delete(h as number)) log.wakesCancelled++;
          },
        }),
  };
  const run = (limit = 10_000, until = Infinity) => {
    for (let i = 0; i < limit && pending.size > 0; i++) {
      const [id, next] = [...pending].reduce((a, b) => (b[1].at < a[1].at ? b : a));
      if (next.at > until) return;
      pending.delete(id);
      now = Math.max(now, next.at);
      next.fn();
    }
    assert.equal(pending.size, 0, 'the timer settled within the bound');
  };
  /** Moves time on by `ms` without running anything (a loop busy elsewhere). */
  const advance = (ms: number) => void (now += ms);
  return { host, run, log, now: () => now, advance, pending: () => pending.size };
}

for (const [name, skew] of [
  ['on time', () => 0],
  ['1 ms late (a stale whole-ms loop time)', () => 1],
  ['1 ms early (the fractional part dropped)', () => -1],
] as const) {
  test(`fires at its due time, not before and within one loop turn, when the host timer is ${name}`, () => {
    for (const ms of [36.09, 35.97, 3.2, 0.4, 609.375]) {
      const sim = simulatedHost(skew);
      const due = sim.now() + ms;
      let firedAt: number | null = null;
      preciseTimeout(() => (firedAt = sim.now()), ms, sim.host);
      sim.run();
      assert.ok(firedAt !== null, `${ms} ms: fired`);
      assert.ok(firedAt >= due, `${ms} ms: fired ${due - firedAt} ms early`);
      assert.ok(firedAt < due + 0.021, `${ms} ms: fired ${firedAt - due} ms late`);
      // The busy part is bounded: the host timer is asked for at most EARLY_MS (+ rounding) early.
      assert.ok(sim.log.immediates <= (EARLY_MS + 2 + 1) / 0.02 + 2, `${ms} ms: ${sim.log.immediates} loop turns waiting`);
    }
  });
}

test('with a wake (a timerfd), the last stretch is slept to WAKE_LEAD_MS before the due time and only that is spun', () => {
  for (const latency of [0, 0.1, 0.4]) {
    for (const ms of [36.09, 3.2, 0.4, 0.1]) {
      const sim = simulatedHost(() => 0, 0.02, latency);
      const due = sim.now() + ms;
      let firedAt: number | null = null;
      preciseTimeout(() => (firedAt = sim.now()), ms, sim.host);
      sim.run();
      assert.ok(firedAt !== null, `${ms} ms: fired`);
      assert.ok(firedAt >= due, `${ms} ms, wake ${latency} ms late: fired ${due - firedAt} ms early`);
      // A wake-up later than the lead makes the firing that late: the lead covers the usual latency.
      assert.ok(firedAt < due + Math.max(0, latency - WAKE_LEAD_MS) + 0.021, `${ms} ms, wake ${latency} ms late: fired ${firedAt - due} ms late`);
      if (ms >= WAKE_LEAD_MS + 0.05) assert.equal(sim.log.wakes.length, 1, `${ms} ms: one sleep`);
      else assert.equal(sim.log.wakes.length, 0, `${ms} ms: shorter than the lead, spun`);
      assert.ok(sim.log.immediates <= WAKE_LEAD_MS / 0.02 + 2, `${ms} ms, wake ${latency} ms late: ${sim.log.immediates} loop turns spun`);
    }
  }
});

test('cancelled or re-armed while it sleeps its last stretch, the sleep is cancelled and it does not fire then', () => {
  const sim = simulatedHost(() => 0, 0.02, 0.05);
  let fired = 0;
  const t = new PreciseTimer(() => fired++, sim.host);
  t.start(3.2);
  sim.run(10_000, sim.now() + 2.5);
  assert.equal(sim.log.wakes.length, 1, 'sleeping its last stretch');
  t.cancel();
  assert.equal(sim.log.wakesCancelled, 1);
  sim.run();
  assert.equal(fired, 0);

  t.start(3.2);
  sim.run(10_000, sim.now() + 2.5);
  const due = sim.now() + 36.09;
  t.start(36.09);
  assert.equal(sim.log.wakesCancelled, 2, 'the re-arm dropped the sleep');
  let firedAt = 0;
  const t2 = new PreciseTimer(() => (firedAt = sim.now()), sim.host);
  t2.start(36.09);
  sim.run();
  assert.equal(fired, 1, 'fired once, for the re-arm');
  assert.ok(firedAt >= due && firedAt < due + 0.1);
  t.dispose();
  t2.dispose();
});

test('a host timer far too early is re-armed instead of waited out on the loop', () => {
  // The first host timer fires 20 ms early; later ones are on time.
  let first = true;
  const sim = simulatedHost(() => {
    const s = first ? -20 : 0;
    first = false;
    return s;
  });
  const due = sim.now() + 36.09;
  let firedAt: number | null = null;
  preciseTimeout(() => (firedAt = sim.now()), 36.09, sim.host);
  sim.run();
  assert.equal(sim.log.timers.length, 2, 'armed twice');
  assert.ok(firedAt !== null && firedAt >= due && firedAt < due + 0.021);
  assert.ok(sim.log.immediates < 150, `${sim.log.immediates} loop turns waiting`);
});

test('cancelled while its host timer waits, or during the final wait, it never fires', () => {
  for (const cancelAfter of [10, 35.5]) {
    const sim = simulatedHost(() => 0);
    let fired = false;
    const t = preciseTimeout(() => (fired = true), 36.09, sim.host);
    sim.run(10_000, sim.now() + cancelAfter);
    assert.equal(fired, false);
    t.cancel();
    sim.run();
    assert.equal(fired, false, `cancelled after ${cancelAfter} ms`);
    t.cancel();
  }
});

test('a zero or negative delay fires on a later loop turn, not at once', () => {
  const sim = simulatedHost(() => 0);
  let fired = 0;
  preciseTimeout(() => fired++, 0, sim.host);
  preciseTimeout(() => fired++, -3, sim.host);
  assert.equal(fired, 0, 'never from inside the call that armed it');
  sim.run();
  assert.equal(fired, 2);
  assert.equal(sim.log.timers.length, 0);
});

test("on Node's real timers it fires no earlier than asked, in due order", async () => {
  const start = performance.now();
  const fired: { name: string; after: number }[] = [];
  await new Promise<void>((resolve) => {
    const at = (name: string) => () => {
      fired.push({ name, after: performance.now() - start });
      if (fired.length === 3) resolve();
    };
    preciseTimeout(at('b'), 12.2);
    preciseTimeout(at('a'), 4.7);
    preciseTimeout(at('cleared'), 8.4).cancel();
    preciseTimeout(at('c'), 20.9);
  });
  assert.deepEqual(
    fired.map((f) => f.name),
    ['a', 'b', 'c'],
  );
  const asked: Record<string, number> = { a: 4.7, b: 12.2, c: 20.9 };
  for (const f of fired) assert.ok(f.after >= asked[f.name]!, `${f.name} fired after ${f.after} ms, asked ${asked[f.name]}`);
});

test('re-armed in place: each start replaces the last, the host timer is refreshed, not made anew', () => {
  const sim = simulatedHost(() => 0);
  const fired: number[] = [];
  const t = new PreciseTimer(() => fired.push(sim.now()), sim.host);
  // A Backup hearing its Master every 10 ms: Master_Down_Timer cancelled and re-armed each time.
  for (let i = 0; i < 50; i++) {
    t.cancel();
    t.start(36.09);
    sim.run(10_000, sim.now() + 10);
    sim.advance(10);
  }
  assert.deepEqual(fired, [], 'never fired while re-armed in time');
  assert.equal(sim.log.timers.length, 1, 'one host timer for 50 arms');
  assert.equal(sim.log.refreshes, 49);
  const due = sim.now() + 36.09;
  t.start(36.09);
  sim.run();
  assert.equal(fired.length, 1, 'fires once for the last start');
  assert.ok(fired[0]! >= due && fired[0]! < due + 0.021, `fired ${fired[0]! - due} ms after due`);
  // After firing, a start re-arms the same host timer again.
  t.start(36.09);
  sim.run();
  assert.equal(fired.length, 2);
  assert.equal(sim.log.timers.length, 1);
});

test("a delay up to an eighth longer keeps the host timer (a Backup's delay less each advert's age); it fires early and waits out the rest", () => {
  const sim = simulatedHost(() => 0);
  const fired: number[] = [];
  const t = new PreciseTimer(() => fired.push(sim.now()), sim.host);
  // Master_Down_Interval 3,609 ms less an age of 0-100 ms (receive moderation's hold at 1 s adverts).
  const delays = [3509.4, 3609.4, 3560.2, 3515.9, 3600.1, 3590, 3511.7];
  for (const d of delays) {
    t.start(d);
    sim.run(10_000, sim.now() + 1000);
    sim.advance(1000);
  }
  assert.deepEqual(fired, [], 'never fired while re-armed in time');
  assert.equal(sim.log.timers.length, 1, `one host timer for ${delays.length} arms: ${sim.log.timers.join(', ')}`);
  // Shorter than the host timer: a new one (it would fire late otherwise).
  t.start(3400.2);
  assert.equal(sim.log.timers.length, 2);
  // Far longer than an eighth: a new one too (it would wake the loop long before due).
  t.start(5000);
  assert.equal(sim.log.timers.length, 3);
  // The longest kept: the host timer fires ~400 ms early, the rest is armed anew, the firing is on time.
  t.start(5600.3);
  assert.equal(sim.log.timers.length, 3, 'refreshed');
  const due = sim.now() + 5600.3;
  sim.run();
  assert.equal(fired.length, 1);
  assert.ok(fired[0]! >= due && fired[0]! < due + 0.021, `fired ${fired[0]! - due} ms after due`);
  assert.equal(sim.log.timers.at(-1), Math.floor(5600.3 - (5000 - EARLY_MS)) - EARLY_MS, 'the rest armed after the early host firing');
});

test('a cancel with no start after it leaves a host timer that fires for nothing; dispose clears it', () => {
  const sim = simulatedHost(() => 0);
  let fired = 0;
  const t = new PreciseTimer(() => fired++, sim.host);
  t.start(36.09);
  t.cancel();
  assert.equal(sim.pending(), 1, 'kept for a refresh');
  sim.run();
  assert.equal(fired, 0);
  t.start(20.5);
  t.dispose();
  assert.equal(sim.pending(), 0, 'nothing left on the loop');
  sim.run();
  assert.equal(fired, 0);
  t.start(5.2);
  sim.run();
  assert.equal(fired, 1, 'usable after dispose');
});

test('another delay makes a new host timer; a short one waits on the loop', () => {
  const sim = simulatedHost(() => 0);
  let fired = 0;
  const t = new PreciseTimer(() => fired++, sim.host);
  t.start(36.09);
  t.start(609.375);
  assert.equal(sim.log.timers.length, 2);
  assert.equal(sim.pending(), 1, 'the first host timer was cleared');
  t.start(0.5);
  assert.equal(sim.pending(), 1, 'only the loop wait is pending');
  sim.run();
  assert.equal(fired, 1);
});

test('beforeFire runs once when the timer is due; what it does to the timer (re-arm, cancel) stands over the firing', () => {
  // The daemon's beforeFire reads the sockets receive moderation holds: an advert waiting there re-arms the Master_Down_Timer.
  for (const action of ['nothing', 'restart', 'cancel'] as const) {
    const sim = simulatedHost(() => 0);
    let fired = 0;
    let calls = 0;
    const timer = new PreciseTimer(() => fired++, {
      ...sim.host,
      beforeFire: () => {
        calls++;
        // Only the first call acts: the restarted timer is due again later and fires then.
        if (calls > 1) return;
        if (action === 'restart') timer.start(50);
        if (action === 'cancel') timer.cancel();
      },
    });
    const started = sim.now();
    timer.start(36.09);
    sim.run();
    if (action === 'nothing') assert.deepEqual({ fired, calls }, { fired: 1, calls: 1 });
    if (action === 'cancel') assert.deepEqual({ fired, calls }, { fired: 0, calls: 1 });
    if (action === 'restart') {
      assert.deepEqual({ fired, calls }, { fired: 1, calls: 2 });
      assert.ok(sim.now() >= started + 36.09 + 50, `the re-armed timer fired ${started + 36.09 + 50 - sim.now()} ms early`);
    }
    timer.dispose();
  }
});

test('nextWake says when the host timer wakes the loop, and soon there re-arms without the busy wait', () => {
  const { host, run, log, now } = simulatedHost(() => 0);
  const fired: number[] = [];
  let moves = 2;
  const timer: PreciseTimer = new PreciseTimer(
    () => fired.push(now()),
    host,
    // What the runner does with absorbed repeats: the deadline moves on before the wait.
    () => {
      if (moves-- > 0) timer.start(3000);
    },
  );
  assert.equal(timer.nextWake(), Infinity, 'not running');
  const start = now();
  timer.start(3000);
  const wake = timer.nextWake();
  assert.ok(wake <= start + 3000 - EARLY_MS && wake > start + 2000, `wakes at +${wake - start}`);
  run();
  assert.equal(fired.length, 1);
  // Two wakes moved it on 3 s each; only the third waited out the rest.
  assert.ok(fired[0]! - start >= 3 * 3000 - 3 * (EARLY_MS + 1) && fired[0]! - start <= 3 * 3000 + 1, `fired at +${fired[0]! - start}`);
  timer.dispose();
  // A timer never moved on, on the same host: its one wait takes as many turns as the moved one's in all.
  const plain = simulatedHost(() => 0);
  const once = new PreciseTimer(() => undefined, plain.host);
  once.start(3000);
  plain.run();
  assert.ok(
    Math.abs(log.immediates - plain.log.immediates) <= 2,
    `${log.immediates} busy-wait turns against ${plain.log.immediates}: only the last firing waited`,
  );
  assert.equal(timer.nextWake(), Infinity);
});

test('postpone moves only the wake-up on: soon runs there and re-arms; refused without soon, before due, or in the last stretch', () => {
  const { host, run, now, advance } = simulatedHost(() => 0);
  const fired: number[] = [];
  const soonAt: number[] = [];
  // The first soon re-arms (as absorbed repeats do), later ones do not.
  let rearms = 1;
  const timer: PreciseTimer = new PreciseTimer(
    () => fired.push(now()),
    host,
    () => {
      soonAt.push(now());
      if (rearms-- > 0) timer.start(200);
    },
  );
  const start = now();
  timer.start(3000);
  assert.equal(timer.postpone(start + 2000), false, 'not past the due time');
  assert.ok(timer.postpone(start + 5000));
  const wake = timer.nextWake();
  assert.ok(wake > start + 4000 && wake <= start + 5000 - EARLY_MS, `wakes at +${wake - start}`);
  run(10_000, start + 4000);
  assert.deepEqual(fired, [], 'the old due time passed with no firing and no wake-up');
  assert.equal(soonAt.length, 0);
  run();
  assert.equal(soonAt.length, 2, 'at the postponed wake-up, and at the re-armed one');
  assert.ok(soonAt[0]! - start > 4000 && soonAt[0]! - start <= 5000, `soon ran at +${soonAt[0]! - start}`);
  assert.equal(fired.length, 1, 'fired for the start soon made');
  assert.ok(Math.abs(fired[0]! - (soonAt[0]! + 200)) < 0.1, `fired ${fired[0]! - soonAt[0]!} ms after that start`);

  // A soon that does not re-arm: the passed due time fires at the postponed wake-up, not never.
  fired.length = 0;
  const second = now();
  timer.start(1000);
  assert.ok(timer.postpone(second + 2000));
  run();
  assert.equal(fired.length, 1);
  assert.ok(fired[0]! - second > 1900 && fired[0]! - second <= 2000, `fired at +${fired[0]! - second}`);

  // The last stretch (waited out on the loop) is not moved.
  const late = now();
  timer.start(1000);
  advance(999);
  run(10_000, now());
  assert.ok(timer.nextWake() <= late + 1000, 'in its last stretch');
  assert.equal(timer.postpone(late + 3000), false);
  timer.dispose();

  const noSoon = new PreciseTimer(() => undefined, host);
  noSoon.start(1000);
  assert.equal(noSoon.postpone(now() + 5000), false, 'nothing would re-arm it');
  noSoon.dispose();
});

test('beforeWait runs once per firing with at least WARM_MIN_MS to go, and the timer still fires on time after it', () => {
  // The host timer on time, and a whole ms late (then under WARM_MIN_MS may be left: no warm-up, which could not end before the due time).
  for (const skew of [0, 1]) {
    for (const ms of [36.09, 35.97, 609.375]) {
      // What is left when the host timer fires: it is asked for the whole ms less EARLY_MS.
      const left = ms - (Math.floor(ms) - EARLY_MS + skew);
      const warmUps = left >= WARM_MIN_MS ? 1 : 0;
      const sim = simulatedHost(() => skew);
      let warmed = 0;
      let leftAtWarm = Infinity;
      let leftGiven = NaN;
      const due = sim.now() + ms;
      // A warm-up that takes 0.3 ms of the host's time.
      sim.host.beforeWait = (leftMs) => {
        warmed++;
        leftAtWarm = due - sim.now();
        leftGiven = leftMs;
        sim.advance(0.3);
      };
      let firedAt: number | null = null;
      preciseTimeout(() => (firedAt = sim.now()), ms, sim.host);
      sim.run();
      assert.equal(warmed, warmUps, `${ms} ms, host timer ${skew} ms off: warm-ups`);
      if (warmUps > 0) assert.ok(leftAtWarm >= WARM_MIN_MS, `warmed with ${leftAtWarm} ms to go`);
      if (warmUps > 0) assert.ok(Math.abs(leftGiven - leftAtWarm) < 1e-9, `told ${leftGiven} ms to go, had ${leftAtWarm}`);
      assert.ok(firedAt !== null && firedAt >= due && firedAt < due + 0.021, `${ms} ms: fired ${firedAt! - due} ms off due`);
    }
  }
});

test('beforeWait does not run for a wake-up whose `soon` re-arms the timer (a Backup taking the repeats it absorbed)', () => {
  const sim = simulatedHost(() => 0);
  let warmed = 0;
  sim.host.beforeWait = () => void warmed++;
  let fired = 0;
  let rearms = 2;
  const timer: PreciseTimer = new PreciseTimer(
    () => fired++,
    sim.host,
    () => {
      if (rearms-- > 0) timer.start(36.09);
    },
  );
  timer.start(36.09);
  sim.run();
  assert.equal(fired, 1, 'fired once, after the re-arms');
  assert.equal(warmed, 1, 'a warm-up only before the firing that was not re-armed');
});
