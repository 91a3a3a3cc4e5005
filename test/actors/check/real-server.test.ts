/** A real server from its checkers: all up to be alive, misc_dynamic weights, FILE_CHECK values, inhibit_on_failure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkerChanged,
  fileCheckEffect,
  fileValue,
  initialRealServer,
  miscExit,
  miscExitOk,
  poolEntry,
  realWeight,
  WEIGHT_FAULT,
  type RealServerRules,
} from '../../../actors/check/index.js';

const rules = (over: Partial<RealServerRules> = {}): RealServerRules => ({
  id: 'rs',
  weight: 10,
  inhibitOnFailure: false,
  checkers: [
    { id: 'a', alpha: false, miscDynamic: false },
    { id: 'b', alpha: false, miscDynamic: false },
  ],
  ...over,
});

test('alive only while every checker is up (num_failed_checkers == 0)', () => {
  const r = rules();
  let s = initialRealServer(r);
  assert.equal(s.alive, true);
  const down = checkerChanged(r, s, 'a', false);
  assert.equal(down.alive, 'down');
  s = checkerChanged(r, down.state, 'b', false).state;
  const one = checkerChanged(r, s, 'a', true);
  assert.equal(one.alive, undefined);
  assert.equal(one.state.alive, false);
  assert.equal(checkerChanged(r, one.state, 'b', true).alive, 'up');
});

test('an alpha checker starts failed, so the real server starts out of the pool (init_service_rs)', () => {
  const r = rules({ checkers: [{ id: 'a', alpha: true, miscDynamic: false }] });
  const s = initialRealServer(r);
  assert.deepEqual([s.alive, s.failed], [false, ['a']]);
  assert.deepEqual(poolEntry(r, s), { present: false });
});

test('misc_dynamic: exit 2..255 is success with weight code - 2; exit 0 restores the configured weight; exit 1 fails', () => {
  assert.deepEqual(
    [0, 1, 2, 255, 256].map((c) => miscExitOk(c, true)),
    [true, false, true, true, false],
  );
  assert.deepEqual(
    [0, 1, 2].map((c) => miscExitOk(c, false)),
    [true, false, false],
  );
  const r = rules({ checkers: [{ id: 'm', alpha: false, miscDynamic: true }] });
  let s = initialRealServer(r);
  s = miscExit(r, s, 'm', 7);
  assert.equal(s.effectiveWeight, 5);
  s = miscExit(r, s, 'm', 2);
  assert.equal(s.effectiveWeight, 0);
  assert.deepEqual(poolEntry(r, s), { present: true, weight: 0 });
  s = miscExit(r, s, 'm', 0);
  assert.equal(s.effectiveWeight, 10);
});

test('misc_dynamic: going down takes the offset back out; the next success with the same code applies it again', () => {
  const r = rules({ checkers: [{ id: 'm', alpha: false, miscDynamic: true }] });
  let s = miscExit(r, initialRealServer(r), 'm', 52);
  assert.equal(s.effectiveWeight, 50);
  s = checkerChanged(r, s, 'm', false).state;
  assert.equal(s.effectiveWeight, 10);
  s = checkerChanged(r, s, 'm', true).state;
  s = miscExit(r, s, 'm', 52);
  assert.equal(s.effectiveWeight, 50);
});

test('misc_dynamic on two checkers: offsets add to the configured weight (cur_weight per checker)', () => {
  const r = rules({
    checkers: [
      { id: 'm1', alpha: false, miscDynamic: true },
      { id: 'm2', alpha: false, miscDynamic: true },
    ],
  });
  let s = miscExit(r, initialRealServer(r), 'm1', 22); // offset 20 - 10 = +10
  s = miscExit(r, s, 'm2', 7); // offset 5 - 10 = -5
  assert.equal(s.effectiveWeight, 15);
});

test('inhibit_on_failure: a dead server stays in the pool at weight 0 instead of being removed (ipvs_cmd)', () => {
  const plain = rules();
  const inhibit = rules({ inhibitOnFailure: true });
  const dead = checkerChanged(plain, initialRealServer(plain), 'a', false).state;
  assert.deepEqual(poolEntry(plain, dead), { present: false });
  assert.deepEqual(poolEntry(inhibit, dead), { present: true, weight: 0 });
  assert.deepEqual(poolEntry(inhibit, initialRealServer(inhibit)), { present: true, weight: 10 });
});

test('real_weight clamps the effective weight into 0 .. IPVS_WEIGHT_MAX', () => {
  assert.deepEqual([realWeight(-3), realWeight(4), realWeight(2 ** 40)], [0, 4, 2147483647]);
});

test('FILE_CHECK effect (update_track_file_status): weight 0 is a switch, otherwise value x weight is a weight offset down to INT_MIN', () => {
  assert.deepEqual(fileCheckEffect(0, 0, false), { down: false, offset: 0 });
  assert.deepEqual(fileCheckEffect(7, 0, false), { down: true, offset: 0 });
  assert.deepEqual(fileCheckEffect(0, 0, true), { down: true, offset: 0 }, 'reverse: zero is the failure');
  assert.deepEqual(fileCheckEffect(-3, 0, true), { down: false, offset: 0 });
  assert.deepEqual(fileCheckEffect(5, 2, false), { down: false, offset: 10 });
  assert.deepEqual(fileCheckEffect(5, 2, true), { down: false, offset: -10 });
  assert.deepEqual(fileCheckEffect(0, -4, false), { down: false, offset: 0 }, 'no -0');
  assert.deepEqual(fileCheckEffect(2 ** 31, 1, true), { down: true, offset: 0 }, 'at INT_MIN the checker is down');
  assert.deepEqual(fileCheckEffect(-(2 ** 31) + 1, 1, false), { down: false, offset: WEIGHT_FAULT + 1 }, 'one above INT_MIN is still a (huge) offset');
  assert.deepEqual(fileCheckEffect(2 ** 31, 2 ** 30, false), { down: false, offset: 2147483647 }, 'clamped to INT_MAX');
});

test('FILE_CHECK value: offsets move the weight, a failure takes its offset out and the real server down, recovery puts the new one in', () => {
  const r = rules({
    checkers: [
      { id: 'a', alpha: false, miscDynamic: false },
      { id: 'f', alpha: false, miscDynamic: false, file: { weight: 3, reverse: false } },
    ],
  });
  let s = initialRealServer(r);
  let c = fileValue(r, s, 'f', 4);
  assert.equal(c.alive, undefined);
  assert.equal(c.state.effectiveWeight, 22);
  c = fileValue(r, c.state, 'f', -1);
  assert.equal(c.state.effectiveWeight, 7, 'replaces the previous offset');
  s = checkerChanged(r, c.state, 'a', false).state;
  assert.equal(s.alive, false);
  c = fileValue(r, s, 'f', -(2 ** 31));
  assert.equal(c.alive, undefined, 'already down through a');
  assert.deepEqual(c.state.failed, ['a', 'f']);
  assert.equal(c.state.effectiveWeight, 10, 'its offset is out while it is down');
  s = checkerChanged(r, c.state, 'a', true).state;
  assert.equal(s.alive, false, 'f still holds it down');
  c = fileValue(r, s, 'f', 2);
  assert.equal(c.alive, 'up');
  assert.equal(c.state.effectiveWeight, 16);
  assert.equal(realWeight(fileValue(r, c.state, 'f', -10).state.effectiveWeight), 0, 'a negative total is weight 0, not down');
  assert.equal(fileValue(r, c.state, 'a', 99).state, c.state, 'not a FILE_CHECK: unchanged');
});
