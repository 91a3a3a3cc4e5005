/**
 * The daemon's split-brain fence (daemon/split-brain-fence.ts) without NATS:
 * when instances carry the fence's tracked object, and what that object is.
 * Detection and fencing across nodes run in test/lab/events-split-brain.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import type { EventBus } from '../../infra/events/bus.js';
import type { InstancePlan } from '../../infra/vrrp/plan.js';
import { FENCE_TRACK, SplitBrainFence, withFenceTrack, type SplitBrainPolicy } from '../../daemon/split-brain-fence.js';

const fence = (kind: EventBus['kind'], policy?: SplitBrainPolicy) =>
  new SplitBrainFence({ bus: { kind } as EventBus, node: 'n1', log: silentLogger(), policy, runners: () => [], publish: () => undefined });

test('instances carry the fence track only with NATS and the fence policy', () => {
  assert.equal(fence('nats', 'fence').fencing, true);
  assert.equal(fence('nats', 'page').fencing, false);
  assert.equal(fence('nats').fencing, false, 'page by default');
  assert.equal(fence('in-process', 'fence').fencing, false, 'no cluster view without NATS');
  assert.deepEqual(fence('in-process').status(), { policy: 'page', fenced: [], detected: 0 });
});

test('the fence track: weight 0 (down means Fault), up at start, after the planned tracks', () => {
  const plan = { name: 'VI_1', machine: { tracks: [{ id: 'interface:eth1', weight: -20, up: true }] } } as unknown as InstancePlan;
  const fenced = withFenceTrack(plan);
  assert.deepEqual(fenced.machine.tracks, [
    { id: 'interface:eth1', weight: -20, up: true },
    { id: FENCE_TRACK, weight: 0, up: true },
  ]);
  assert.equal(plan.machine.tracks?.length, 1, 'the plan itself is not changed');
  const none = withFenceTrack({ name: 'VI_2', machine: {} } as unknown as InstancePlan);
  assert.deepEqual(none.machine.tracks, [{ id: FENCE_TRACK, weight: 0, up: true }]);
});
