/** A real server from its checkers: all up to be alive, misc_dynamic weights, inhibit_on_failure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkerChanged, initialRealServer, miscExit, miscExitOk, poolEntry, realWeight, type RealServerRules } from '../../../actors/check/index.js';

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
