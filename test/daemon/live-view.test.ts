// Pure: the live page's view of a status document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonStatus } from '../../daemon/daemon.js';
import { liveView } from '../../daemon/live-view.js';
import { emptyDropCounters } from '../../actors/vrrp/receive.js';

test('who is Master and since when, newest transitions first, summed drops', () => {
  const t = (instance: string, from: string, to: string, time: string) => ({ instance, from, to, time, reason: 'r' });
  const status = {
    pid: 7,
    startedAt: 'S',
    uptimeMs: 9,
    events: { node: 'lb1', published: 3, splitBrain: { detected: 0 } },
    eventLoop: { lateTimers: 1, delayP99Ms: 2 },
    reloads: { ok: 1 },
    checks: { virtualServers: [{ id: 'vs', quorumUp: true, realServers: [{ alive: true }, { alive: false }] }] },
    instances: [
      {
        name: 'A',
        vrid: 1,
        interface: 'eth0',
        state: 'master',
        basePriority: 100,
        effectivePriority: 100,
        lastMaster: '198.18.0.1',
        drops: { ...emptyDropCounters(), 'bad-ttl': 2 },
        vips: [],
      },
      {
        name: 'B',
        vrid: 2,
        interface: 'eth0',
        state: 'backup',
        basePriority: 90,
        effectivePriority: 80,
        lastMaster: '198.18.0.9',
        drops: { ...emptyDropCounters(), malformed: 3 },
        vips: [],
      },
      {
        name: 'C',
        vrid: 3,
        interface: 'eth0',
        state: 'fault',
        basePriority: 90,
        effectivePriority: 0,
        lastMaster: '198.18.0.9',
        drops: emptyDropCounters(),
        vips: [],
      },
    ],
    recentTransitions: [t('A', 'initialize', 'backup', 'T1'), t('A', 'backup', 'master', 'T2'), t('B', 'initialize', 'backup', 'T3')],
  } as unknown as DaemonStatus;
  const v = liveView(status);
  assert.deepEqual(
    v.instances.map((i) => [i.name, i.master, i.since]),
    [
      ['A', 'self', 'T2'],
      ['B', '198.18.0.9', 'T3'],
      ['C', null, null],
    ],
  );
  assert.deepEqual(
    v.transitions.map((x) => x.time),
    ['T3', 'T2', 'T1'],
  );
  assert.equal(v.counters.drops, 5);
  assert.deepEqual(v.virtualServers, [{ id: 'vs', quorumUp: true, alive: 1, total: 2 }]);
  assert.equal(v.node, 'lb1');
});

test("the cluster's nodes from the KV bucket: this node marked, absent without NATS", () => {
  const member = (node: string, state: string, stale = false) => ({
    instance: 'A',
    node,
    vrid: 1,
    family: 'ipv4',
    state,
    effectivePriority: 100,
    basePriority: 100,
    masterSeen: null,
    reason: 'r',
    lastChange: 'L',
    eventId: 'e',
    heartbeatAt: 'H',
    stale,
  });
  const base = { pid: 1, startedAt: 'S', uptimeMs: 1, eventLoop: {}, reloads: {}, checks: { virtualServers: [] }, instances: [], recentTransitions: [] };
  const withNats = { ...base, events: { node: 'lb1', splitBrain: {}, members: [member('lb1', 'master'), member('lb2', 'backup', true)] } };
  assert.deepEqual(liveView(withNats as unknown as DaemonStatus).cluster, [
    { instance: 'A', node: 'lb1', self: true, state: 'master', priority: 100, since: 'L', stale: false },
    { instance: 'A', node: 'lb2', self: false, state: 'backup', priority: 100, since: 'L', stale: true },
  ]);
  assert.equal(liveView({ ...base, events: { node: 'lb1', splitBrain: {} } } as unknown as DaemonStatus).cluster, null);
  // This node's own row follows its live instance at once, not the KV echo of its transition.
  const moved = {
    ...withNats,
    instances: [{ name: 'A', state: 'backup', effectivePriority: 90, basePriority: 100, vips: [], drops: {} }],
    recentTransitions: [{ instance: 'A', from: 'master', to: 'backup', time: 'NOW', reason: 'r' }],
  };
  assert.deepEqual(liveView(moved as unknown as DaemonStatus).cluster![0], {
    instance: 'A',
    node: 'lb1',
    self: true,
    state: 'backup',
    priority: 90,
    since: 'NOW',
    stale: false,
  });
});
