/** keepalived's quorum rules with fork/terminate delays, on xstate's SimulatedClock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { initialQuorum, ProcessQuorum, stepQuorum, type QuorumSettings } from '../../../actors/track-process/index.js';

const base: QuorumSettings = { quorum: 1, quorumMax: Number.MAX_SAFE_INTEGER, forkDelayMs: 0, terminateDelayMs: 0 };

function tracker(settings: Partial<QuorumSettings>, initial: number) {
  const clock = new SimulatedClock();
  const changes: { up: boolean; t: number }[] = [];
  const q = new ProcessQuorum(
    { ...base, ...settings },
    initial,
    { setTimeout: (fn, ms) => clock.setTimeout(fn, ms), clearTimeout: (id) => clock.clearTimeout(id as number) },
    (up) => changes.push({ up, t: clock.now() }),
  );
  return { q, clock, changes };
}

test('initial quorum is quorum <= count <= quorum_max, without delay', () => {
  assert.equal(initialQuorum({ ...base, quorum: 2 }, 1).haveQuorum, false);
  assert.equal(initialQuorum({ ...base, quorum: 2 }, 2).haveQuorum, true);
  assert.equal(initialQuorum({ ...base, quorum: 1, quorumMax: 2 }, 3).haveQuorum, false);
  assert.equal(initialQuorum({ ...base, quorum: 0, quorumMax: 0 }, 0).haveQuorum, true, 'quorum_max 0: up while none runs');
});

test('without delays a crossing changes quorum at once, in both directions and at both bounds', () => {
  const { q, changes } = tracker({ quorum: 2, quorumMax: 3 }, 1);
  q.added(false);
  assert.deepEqual(
    changes.map((c) => c.up),
    [true],
  );
  q.added(false);
  q.added(false);
  assert.deepEqual(
    changes.map((c) => c.up),
    [true, false],
    'quorum_max + 1 loses it',
  );
  q.removed();
  assert.deepEqual(
    changes.map((c) => c.up),
    [true, false, true],
    'back to quorum_max regains it',
  );
  q.removed();
  q.removed();
  assert.deepEqual(
    changes.map((c) => c.up),
    [true, false, true, false],
  );
  assert.equal(q.state.count, 1);
});

test('terminate_delay postpones a loss; a process starting meanwhile cancels it', () => {
  const { q, clock, changes } = tracker({ terminateDelayMs: 2000 }, 1);
  q.removed();
  clock.increment(1999);
  assert.deepEqual(changes, []);
  q.added(false);
  clock.increment(5000);
  assert.deepEqual(changes, [], 'the restart within the delay never lost quorum');
  q.removed();
  clock.increment(2000);
  assert.deepEqual(changes, [{ up: false, t: 8999 }]);
});

test('a started (exec) process regains quorum at once; fork_delay applies only to forks of counted processes', () => {
  const a = tracker({ forkDelayMs: 1500 }, 0);
  a.q.added(false);
  assert.deepEqual(a.changes, [{ up: true, t: 0 }]);
  const b = tracker({ forkDelayMs: 1500, quorum: 2 }, 1);
  b.q.added(true);
  b.clock.increment(1499);
  assert.deepEqual(b.changes, []);
  b.clock.increment(1);
  assert.deepEqual(b.changes, [{ up: true, t: 1500 }]);
});

test('a fork delay running when the count falls back is cancelled and quorum decided at once (no change)', () => {
  const { q, clock, changes } = tracker({ forkDelayMs: 1000, terminateDelayMs: 1000, quorum: 2 }, 1);
  q.added(true);
  q.removed();
  clock.increment(5000);
  assert.deepEqual(changes, []);
  assert.equal(q.state.forkTimer, false);
  assert.equal(q.state.terminateTimer, false, 'the cancelling removal starts no terminate delay');
});

test('when a delay ends, quorum follows the count at that moment', () => {
  const { q, clock, changes } = tracker({ terminateDelayMs: 1000, quorum: 2 }, 2);
  q.removed();
  q.removed();
  clock.increment(1000);
  assert.deepEqual(changes, [{ up: false, t: 1000 }]);
});

test('stepQuorum is pure: the given state is not changed', () => {
  const st = initialQuorum(base, 1);
  const copy = { ...st };
  const r = stepQuorum({ ...base, terminateDelayMs: 10 }, st, { type: 'removed' });
  assert.deepEqual(st, copy);
  assert.deepEqual(r.commands, [{ type: 'start-timer', timer: 'terminate', ms: 10 }]);
});
