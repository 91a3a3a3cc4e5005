/** One checker in simulated time: warmup, delay_loop, retries, alpha, recovery, suspension and the watchdog. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createChecker, judge, initialCounters, type CheckerCommand, type CheckerInput } from '../../../actors/check/index.js';
import { VirtualClock } from '../../../sim/clock.js';

interface Seen {
  at: number;
  cmd: CheckerCommand;
}

/**
 * Starts a checker whose probes answer after `latencyMs` with the next value of
 * `results` (true = success, false = failure, 'hang' = never answers).
 */
function harness(over: Partial<CheckerInput>, results: (boolean | 'hang')[], latencyMs = 10) {
  const clock = new VirtualClock();
  const input: CheckerInput = {
    id: 'c',
    retry: 2,
    delayLoopMs: 10_000,
    delayBeforeRetryMs: 1_000,
    alpha: false,
    retriesWhileDown: true,
    warmupMs: 0,
    probeBoundMs: 3_000,
    scheduleFrom: 'result',
    enabled: true,
    random: () => 0,
    now: () => clock.now(),
    ...over,
  };
  const made = createChecker(input, clock);
  assert.ok('actor' in made);
  const actor = made.actor;
  const seen: Seen[] = [];
  const queue = [...results];
  for (const t of ['run-probe', 'probe-skipped', 'probe-stalled', 'up', 'down'] as const) {
    actor.on(t, (cmd) => {
      seen.push({ at: clock.now(), cmd });
      if (cmd.type !== 'run-probe') return;
      const r = queue.shift() ?? true;
      if (r === 'hang') return;
      clock.setTimeout(() => actor.send({ type: 'RESULT', probe: cmd.probe, ok: r, reason: 'connection refused' }), latencyMs);
    });
  }
  actor.start();
  const at = (type: CheckerCommand['type']) => seen.filter((s) => s.cmd.type === type).map((s) => s.at);
  return { clock, actor, seen, at };
}

test('first probe at BOOTSTRAP_DELAY plus warmup x random (register_checkers_thread), then every delay_loop after the result', () => {
  const h = harness({ warmupMs: 8_000, random: () => 0.25 }, [true, true, true]);
  h.clock.increment(25_000);
  assert.deepEqual(h.at('run-probe'), [3_000, 13_010, 23_020]);
});

test('warmup 0: the first probe comes after the bootstrap delay alone', () => {
  const h = harness({ warmupMs: 0, random: () => 0.9 }, [true]);
  h.clock.increment(1_500);
  assert.deepEqual(h.at('run-probe'), [1_000]);
});

test('without alpha a checker starts up: a first success says nothing, a first failure is down at once (retry_it starts at retry)', () => {
  const ok = harness({}, [true]);
  ok.clock.increment(2_000);
  assert.deepEqual(ok.at('up'), []);
  const bad = harness({ retry: 3 }, [false]);
  bad.clock.increment(2_000);
  assert.deepEqual(bad.at('down'), [1_010]);
});

test('with alpha a checker starts down: one success brings it up; a first failure is reported down (do_rs_notifies)', () => {
  const up = harness({ alpha: true }, [true]);
  up.clock.increment(2_000);
  assert.deepEqual(up.at('up'), [1_010]);
  const down = harness({ alpha: true, retry: 3 }, [false]);
  down.clock.increment(2_000);
  assert.deepEqual(down.at('down'), [1_010]);
});

test('from up, a failure is retried `retry` times every delay_before_retry before the checker goes down (tcp_epilog)', () => {
  // probe 1 ok at 1000; probe 2 fails at 11010 (+10 ms result), retries at +1 s each.
  const h = harness({ retry: 2, delayBeforeRetryMs: 1_000 }, [true, false, false, false]);
  h.clock.increment(20_000);
  assert.deepEqual(h.at('run-probe').slice(0, 4), [1_000, 11_010, 12_020, 13_030]);
  const failedAt = 11_020;
  const [downAt] = h.at('down');
  assert.equal(downAt, 13_040);
  // exactly retry x (delay_before_retry + probe time) after the failing result, so never
  // more than retry x (delay_before_retry + probe bound), the bound being connect_timeout + margin
  assert.equal(downAt! - failedAt, 2 * (1_000 + 10));
  assert.ok(downAt! - failedAt <= 2 * (1_000 + 3_000));
  assert.deepEqual(h.seen.find((s) => s.cmd.type === 'down')!.cmd, { type: 'down', checker: 'c', reason: 'connection refused' });
});

test('a success between failures resets the retry count: it takes retry+1 failures in a row', () => {
  const h = harness({ retry: 2 }, [true, false, false, true, false, false, true]);
  h.clock.increment(60_000);
  assert.deepEqual(h.at('down'), []);
});

test('one success brings a down checker back up, after delay_loop', () => {
  const h = harness({ retry: 0 }, [false, true]);
  h.clock.increment(12_000);
  assert.deepEqual(h.at('down'), [1_010]);
  assert.deepEqual(h.at('up'), [11_020]);
});

test('a down TCP checker keeps its retry cadence; a down MISC checker probes every delay_loop (misc_check_child_thread)', () => {
  const tcp = harness({ retry: 1, retriesWhileDown: true }, [false, false, false, false]);
  tcp.clock.increment(25_000);
  assert.deepEqual(tcp.at('run-probe').slice(0, 4), [1_000, 11_010, 12_020, 22_030]);
  const misc = harness({ retry: 1, retriesWhileDown: false }, [false, false, false, false]);
  misc.clock.increment(25_000);
  assert.deepEqual(misc.at('run-probe').slice(0, 3), [1_000, 11_010, 21_020]);
});

test('scheduleFrom start: the next probe counts from the probe start (MISC: last_ran + delay_loop)', () => {
  const h = harness({ scheduleFrom: 'start' }, [true, true, true], 400);
  h.clock.increment(25_000);
  assert.deepEqual(h.at('run-probe'), [1_000, 11_000, 21_000]);
});

test('watchdog: a probe with no result within the bound is reported stalled and counted as a failure', () => {
  const h = harness({ retry: 1, probeBoundMs: 3_000 }, [true, 'hang', 'hang']);
  h.clock.increment(30_000);
  // probe 2 at 11010 hangs -> stalled at 14010, retry at 15010 hangs -> stalled 18010 -> down
  assert.deepEqual(h.at('probe-stalled'), [14_010, 18_010]);
  assert.deepEqual(h.at('down'), [18_010]);
  const down = h.seen.find((s) => s.cmd.type === 'down')!.cmd;
  assert.match((down as { reason: string }).reason, /stalled/);
});

test('a late result for a stalled probe is ignored', () => {
  const h = harness({ retry: 0, probeBoundMs: 3_000 }, ['hang', true]);
  h.clock.increment(4_100); // probe 1 at 1000 stalled at 4000 -> down
  h.actor.send({ type: 'RESULT', probe: 1, ok: true });
  assert.deepEqual(h.at('up'), []);
  h.clock.increment(10_000); // probe 2 at 14000 succeeds
  assert.deepEqual(h.at('up'), [14_010]);
});

test('suspended (ha_suspend without the VIP): due probes are skipped every delay_loop until resumed', () => {
  const h = harness({ enabled: false }, [true]);
  h.clock.increment(25_000);
  assert.deepEqual(h.at('probe-skipped'), [1_000, 11_000, 21_000]);
  assert.deepEqual(h.at('run-probe'), []);
  h.actor.send({ type: 'RESUME' });
  h.clock.increment(10_000);
  assert.deepEqual(h.at('run-probe'), [31_000]);
  h.actor.send({ type: 'SUSPEND' });
  h.clock.increment(20_000);
  assert.deepEqual(h.at('run-probe'), [31_000]);
});

test('createChecker refuses settings that cannot run, as a value', () => {
  const clock = new VirtualClock();
  const r = createChecker(
    {
      id: 'x',
      retry: -1,
      delayLoopMs: 0,
      delayBeforeRetryMs: 0,
      alpha: false,
      retriesWhileDown: true,
      warmupMs: 0,
      probeBoundMs: 1,
      scheduleFrom: 'result',
      enabled: true,
      random: () => 0,
      now: () => 0,
    },
    clock,
  );
  assert.ok('error' in r && r.error.kind === 'invalid-checker');
});

test('judge: retry_it counts to retry, then down and back to delay_loop', () => {
  const rules = { retry: 2, delayLoopMs: 100, delayBeforeRetryMs: 7, alpha: false, retriesWhileDown: true };
  let c = judge(rules, initialCounters(rules), true).counters;
  const steps = [false, false, false].map((ok) => {
    const v = judge(rules, c, ok);
    c = v.counters;
    return [v.delayMs, v.transition];
  });
  assert.deepEqual(steps, [
    [7, undefined],
    [7, undefined],
    [100, 'down'],
  ]);
});
