/** Value-weighted tracked objects (track_file): an offset while up, Fault while down, whatever the weight. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectivePriorityOf, faultCountOf } from '../../../actors/vrrp/timing.js';
import { harness } from './harness.js';

test('an offset counts while up, nothing while down, and down means Fault even with a weight', () => {
  assert.equal(effectivePriorityOf(100, [{ id: 'f', weight: 5, up: true, offset: 15 }]), 115);
  assert.equal(effectivePriorityOf(100, [{ id: 'f', weight: 5, up: true, offset: -30 }]), 70);
  assert.equal(effectivePriorityOf(100, [{ id: 'f', weight: 5, up: false, offset: 0 }]), 100);
  assert.equal(faultCountOf([{ id: 'f', weight: 5, up: false, offset: 0 }]), 1);
  assert.equal(faultCountOf([{ id: 'f', weight: 5, up: true, offset: -200 }]), 0);
  // Still clamped to 1..254 and never applied to an owner.
  assert.equal(effectivePriorityOf(200, [{ id: 'f', weight: 1, up: true, offset: 253 }]), 254);
  assert.equal(effectivePriorityOf(100, [{ id: 'f', weight: 1, up: true, offset: -200 }]), 1);
  assert.equal(effectivePriorityOf(255, [{ id: 'f', weight: 1, up: true, offset: -50 }]), 255);
});

test('TRACK with an offset moves the priority; without one keeps the current offset', () => {
  const h = harness({ priority: 100, tracks: [{ id: 'file:x', weight: 10, up: true, offset: 0 }] });
  h.runUntil(() => h.state() === 'master', 4000);
  h.actor.send({ type: 'TRACK', id: 'file:x', up: true, offset: 30 });
  assert.equal(h.actor.getSnapshot().context.effectivePriority, 130);
  assert.deepEqual(h.of('priority-changed').at(-1), { ...h.of('priority-changed').at(-1)!, from: 100, to: 130 });
  h.actor.send({ type: 'TRACK', id: 'file:x', up: true });
  assert.equal(h.actor.getSnapshot().context.effectivePriority, 130);
  h.actor.send({ type: 'TRACK', id: 'file:x', up: false, offset: 0 });
  assert.equal(h.state(), 'fault');
  h.actor.send({ type: 'TRACK', id: 'file:x', up: true, offset: -20 });
  assert.equal(h.state(), 'backup');
  assert.equal(h.actor.getSnapshot().context.effectivePriority, 80);
});

test('a value-weighted object down at start starts the instance in Fault', () => {
  const h = harness({ tracks: [{ id: 'file:x', weight: 2, up: false, offset: 0 }] });
  assert.equal(h.state(), 'fault');
});
