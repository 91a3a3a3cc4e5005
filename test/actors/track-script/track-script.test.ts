/** vrrp_script semantics in simulated time: keepalived's rise/fall counter, first-result rule, skipped ticks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  countResult,
  createTrackScript,
  initialCounter,
  type Counter,
  type ScriptHealth,
  type TrackScriptCommand,
} from '../../../actors/track-script/index.js';
import { VirtualClock } from '../../../sim/clock.js';

function run(rf: { rise: number; fall: number }, results: boolean[], initFail = false): ScriptHealth[] {
  let c: Counter = initialCounter(rf, initFail);
  return results.map((ok) => (c = countResult(rf, c, ok)).health);
}

test('the first result decides at once, whatever rise and fall are', () => {
  assert.deepEqual(run({ rise: 3, fall: 3 }, [true]), ['up']);
  assert.deepEqual(run({ rise: 3, fall: 3 }, [false]), ['down']);
});

test('rise successes in a row turn a failed script up; a failure in between starts over', () => {
  assert.deepEqual(run({ rise: 3, fall: 2 }, [false, true, true, true]), ['down', 'down', 'down', 'up']);
  assert.deepEqual(run({ rise: 3, fall: 2 }, [false, true, true, false, true, true, true]), ['down', 'down', 'down', 'down', 'down', 'down', 'up']);
});

test('fall failures in a row turn a good script down; a success in between restores full credit', () => {
  assert.deepEqual(run({ rise: 2, fall: 3 }, [true, false, false, false]), ['up', 'up', 'up', 'down']);
  assert.deepEqual(run({ rise: 2, fall: 3 }, [true, false, false, true, false, false, false]), ['up', 'up', 'up', 'up', 'up', 'up', 'down']);
});

test('init_fail starts down, and rise successes bring it up', () => {
  assert.deepEqual(run({ rise: 2, fall: 1 }, [true, true], true), ['down', 'up']);
});

test('property: health turns only after exactly rise / fall equal results in a row (after the first)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }),
      (rise, fall, results) => {
        const got = run({ rise, fall }, results);
        // A reference written from the rule's statement, not from the counter.
        let health: ScriptHealth = results[0] ? 'up' : 'down';
        let streak = 0;
        for (let k = 1; k < results.length; k++) {
          const ok = results[k]!;
          const against = (ok && health === 'down') || (!ok && health === 'up');
          streak = against ? streak + 1 : 0;
          if (against && streak === (ok ? rise : fall)) {
            health = ok ? 'up' : 'down';
            streak = 0;
          }
          if (got[k] !== health) return false;
        }
        return got[0] === (results[0] ? 'up' : 'down');
      },
    ),
  );
});

test('the actor checks at once and every interval, skips a tick while a check runs, emits health changes only', () => {
  const clock = new VirtualClock();
  const a = createTrackScript({ name: 'chk', intervalMs: 1000, rise: 2, fall: 2, initFail: false }, clock);
  const seen: string[] = [];
  const on = (e: TrackScriptCommand) => seen.push(`${clock.now()}:${e.type}${e.type === 'health' ? `:${e.health}` : ''}`);
  a.on('run-check', on);
  a.on('check-skipped', on);
  a.on('health', on);
  a.start();
  a.send({ type: 'RESULT', ok: true });
  clock.increment(1000);
  a.send({ type: 'RESULT', ok: false });
  clock.increment(1000);
  // This check hangs through the next tick.
  clock.increment(1000);
  a.send({ type: 'RESULT', ok: false });
  clock.increment(1000);
  a.send({ type: 'RESULT', ok: true });
  a.send({ type: 'STOP' });
  clock.increment(5000);
  assert.deepEqual(seen, ['0:run-check', '0:health:up', '1000:run-check', '2000:run-check', '3000:check-skipped', '3000:health:down', '4000:run-check']);
  assert.equal(clock.pending, 0, 'no timer left after STOP');
});

test('createTrackScript refuses impossible settings', () => {
  assert.throws(() => createTrackScript({ name: 'x', intervalMs: 0, rise: 1, fall: 1, initFail: false }, new VirtualClock()), TypeError);
});
