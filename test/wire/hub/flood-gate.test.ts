import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FloodGate } from '../../../wire/hub/flood-gate.js';

const A = new Uint8Array([198, 18, 0, 1]);
const B = new Uint8Array([198, 18, 0, 2]);

test('repeats of one (sender, priority) beyond the window share are shed and counted', () => {
  const g = new FloodGate(10, 3);
  const admitted = Array.from({ length: 100 }, () => g.admit(40, A, 50, 0)).filter(Boolean).length;
  assert.equal(admitted, 3);
  assert.equal(g.shed, 97);
  assert.equal(g.admit(40, A, 50, 10), true, 'the next window admits again');
});

test('another priority or sender has its own share: a forged flood cannot starve the real Master', () => {
  const g = new FloodGate(10, 3);
  for (let i = 0; i < 1000; i++) g.admit(40, A, 50, 1); // forged from A at priority 50
  assert.equal(g.admit(40, A, 200, 2), true, "A's real adverts at 200 still pass");
  assert.equal(g.admit(40, B, 50, 2), true);
  assert.equal(g.admit(41, A, 50, 2), true, 'another VRID');
});

test('a steady Master at the shortest interval is never cut', () => {
  const g = new FloodGate(10, 3);
  for (let t = 0; t < 10_000; t += 10) assert.equal(g.admit(40, A, 200, t), true);
  assert.equal(g.shed, 0);
});

test('memory is bounded', () => {
  const g = new FloodGate(10, 3, 16);
  for (let i = 0; i < 1000; i++) g.admit(40, new Uint8Array([10, 0, i >> 8, i & 255]), 1, 0);
  assert.equal(g.admit(40, A, 1, 0), true);
  const v6 = new Uint8Array(16).fill(0xfe);
  assert.equal(g.admit(40, v6, 1, 0), true);
});
