import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareAddresses, effectivePriorityOf, initialMasterHintMs, masterDownIntervalMs, skewTimeMs } from '../../../actors/vrrp/index.js';

test('v3 Skew_Time and Master_Down_Interval are exact fractions of the interval', () => {
  const t = { version: 3 as const, priority: 100, masterAdvertIntervalCs: 100 };
  assert.equal(skewTimeMs(t), 609.375);
  assert.equal(masterDownIntervalMs(t), 3609.375);
  assert.equal(masterDownIntervalMs({ ...t, priority: 150 }), 3000 + (106 * 1000) / 256);
  // 10 ms adverts (1 cs): skew scales with the interval in v3.
  assert.equal(skewTimeMs({ ...t, masterAdvertIntervalCs: 1 }), 6.09375);
  assert.equal(masterDownIntervalMs({ ...t, masterAdvertIntervalCs: 1 }), 36.09375);
});

test('v2 Skew_Time does not scale with the interval (RFC 3768)', () => {
  const t = { version: 2 as const, priority: 100, masterAdvertIntervalCs: 300 };
  assert.equal(skewTimeMs(t), 609.375);
  assert.equal(masterDownIntervalMs(t), 9609.375);
  assert.equal(skewTimeMs({ ...t, version: 3 }), 1828.125);
});

test("keepalived's state MASTER hint waits one interval plus the minimal skew", () => {
  assert.equal(initialMasterHintMs({ version: 3, masterAdvertIntervalCs: 100 }), 1000 + 1000 / 256);
  assert.equal(initialMasterHintMs({ version: 3, masterAdvertIntervalCs: 200 }), 2000 + 2000 / 256);
});

test('primary addresses compare as unsigned big-endian integers', () => {
  const a = (...b: number[]) => new Uint8Array(b);
  assert.ok(compareAddresses(a(198, 18, 0, 200), a(198, 18, 0, 3)) > 0, 'last byte');
  assert.ok(compareAddresses(a(128, 0, 0, 1), a(127, 255, 255, 255)) > 0, 'no sign trouble at 0x80');
  assert.ok(compareAddresses(a(198, 18, 1, 0), a(198, 18, 0, 255)) > 0, 'earlier bytes dominate');
  assert.equal(compareAddresses(a(10, 0, 0, 1), a(10, 0, 0, 1)), 0);
  const v6lo = new Uint8Array(16);
  const v6hi = new Uint8Array(16);
  v6hi[15] = 1;
  assert.ok(compareAddresses(v6hi, v6lo) > 0, 'ipv6');
});

test('effective priority follows keepalived weights, clamps to 1..254, never moves an owner', () => {
  const up = (id: string, weight: number, isUp: boolean) => ({ id, weight, up: isUp });
  assert.equal(effectivePriorityOf(100, [up('a', 20, true), up('b', -30, true)]), 120);
  assert.equal(effectivePriorityOf(100, [up('a', 20, false), up('b', -30, false)]), 70);
  assert.equal(effectivePriorityOf(240, [up('a', 50, true)]), 254);
  assert.equal(effectivePriorityOf(10, [up('a', -50, false)]), 1);
  assert.equal(effectivePriorityOf(255, [up('a', -50, false)]), 255);
});
