// The fleet fold (pure): KV states and events of several sites into one model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FleetFold, isInstanceState, siteOfApiPrefix } from '../../../infra/events/fleet.js';
import type { InstanceState } from '../../../infra/events/nats-bus.js';
import type { EventData, EventType, VipflowEvent } from '../../../infra/events/schema.js';
import { formatFleet } from '../../../cli/fleet.js';
import { hubMirrorConfigs, parseSiteSpec } from '../../../infra/events/fleet-hub.js';
import { samplePayloads, testSource } from './fixtures.js';

const T0 = Date.parse('2026-12-02T10:00:00Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString().replace('Z', '000000Z');
const s1 = { site: 's1', cluster: 'dc1' };
const s2 = { site: 's2', cluster: 'dc2' };

function event<T extends EventType>(node: string, cluster: string, type: T, data: Partial<EventData<T>>, atMs: number): VipflowEvent {
  const e = testSource(node, cluster).make(type, { ...samplePayloads[type], ...data } as EventData<T>);
  return { ...e, time: iso(atMs) } as VipflowEvent;
}

function state(node: string, to: string, prio: number, changeMs: number, beatMs = changeMs): InstanceState {
  return {
    instance: 'VI_1',
    node,
    vrid: 51,
    family: 'ipv4',
    state: to,
    effectivePriority: prio,
    basePriority: prio,
    masterSeen: null,
    reason: 'priority',
    lastChange: iso(changeMs),
    eventId: `${node}:x:1`,
    heartbeatAt: iso(beatMs),
  };
}

test('KV states of two sites: Master, priority, last transition and its age, sorted by site', () => {
  const f = new FleetFold(1000);
  f.applyState(s2, { ...state('b1', 'master', 120, 0), instance: 'VI_9' });
  f.applyState(s1, state('a2', 'backup', 100, 100));
  f.applyState(s1, state('a1', 'master', 150, 200));
  const m = f.view(T0 + 1200);
  assert.deepEqual(
    m.sites.map((s) => [s.site, s.clusters.map((c) => c.cluster)]),
    [
      ['s1', ['dc1']],
      ['s2', ['dc2']],
    ],
  );
  const r = m.sites[0]!.clusters[0]!.routers[0]!;
  assert.equal(r.master, 'a1');
  assert.equal(r.priority, 150);
  assert.deepEqual(r.lastTransition, { node: 'a1', to: 'master', reason: 'priority', time: iso(200), ageMs: 1000 });
  assert.equal(r.splitBrain, false);
  assert.deepEqual(
    r.nodes.map((n) => [n.node, n.state, n.stale]),
    [
      ['a1', 'master', false],
      ['a2', 'backup', false],
    ],
  );
  assert.deepEqual(m.totals, { sites: 2, clusters: 2, routers: 2, withoutMaster: 0, splitBrains: 0, running: 0 });
});

test('a transition event and a KV entry: the newer one wins whichever comes first; a heartbeat only refreshes', () => {
  const f = new FleetFold(1000);
  f.applyState(s1, state('a1', 'master', 150, 0));
  assert.equal(
    f.applyEvent(s1, event('a1', 'dc1', 'instance.transition', { from: 'master', to: 'backup', effectivePriority: 90, reason: 'priority' }, 500)),
    true,
  );
  // The KV heartbeat of the old state arrives late: the state stays Backup, the heartbeat moves on.
  assert.equal(f.applyState(s1, state('a1', 'master', 150, 0, 700)), true);
  const n = f.view(T0 + 800).sites[0]!.clusters[0]!.routers[0]!.nodes[0]!;
  assert.deepEqual([n.state, n.effectivePriority, n.heartbeatAt], ['backup', 90, iso(700)]);
  // An older event after a newer KV entry changes nothing.
  assert.equal(f.applyEvent(s1, event('a1', 'dc1', 'instance.transition', { to: 'master' }, 100)), false);
});

test('two live Masters are a split brain; a stale one does not count, and is shown only when nobody else is Master', () => {
  const f = new FleetFold(1000);
  f.applyState(s1, state('a1', 'master', 150, 0, 0));
  f.applyState(s1, state('a2', 'master', 100, 100, 3000));
  let r = f.view(T0 + 3100).sites[0]!.clusters[0]!.routers[0]!;
  assert.deepEqual([r.master, r.masters, r.splitBrain], ['a2', ['a2'], false], 'a1 is stale after 3 heartbeats');
  r = f.view(T0 + 2000).sites[0]!.clusters[0]!.routers[0]!;
  assert.deepEqual([r.masters, r.splitBrain], [['a1', 'a2'], true]);
  const m = f.view(T0 + 2000);
  assert.equal(m.totals.splitBrains, 1);
  assert.match(formatFleet(m), /SPLIT BRAIN: a1, a2/);
});

test('a split-brain report counts until the next transition; workflow runs are listed until they finish', () => {
  const f = new FleetFold(1000);
  f.applyState(s1, state('a1', 'master', 150, 0));
  f.applyEvent(s1, event('a1', 'dc1', 'cluster.split_brain', { masters: ['a1', 'a2'] }, 100));
  f.applyEvent(s1, event('w', 'dc1', 'workflow.started', { runId: 'r1', workflow: 'dns' }, 150));
  f.applyEvent(s1, event('w', 'dc1', 'workflow.started', { runId: 'r2', workflow: 'page' }, 160));
  f.applyEvent(s1, event('w', 'dc1', 'workflow.finished', { runId: 'r2' }, 170));
  let c = f.view(T0 + 1150).sites[0]!.clusters[0]!;
  assert.equal(c.routers[0]!.splitBrainReportedAt, iso(100));
  assert.deepEqual(
    c.running.map((w) => [w.workflow, w.runId, w.node, w.ageMs]),
    [['dns', 'r1', 'w', 1000]],
  );
  f.applyEvent(s1, event('a1', 'dc1', 'instance.transition', { to: 'backup' }, 200));
  c = f.view(T0 + 1150).sites[0]!.clusters[0]!;
  assert.equal(c.routers[0]!.splitBrainReportedAt, null);
  assert.equal(c.routers[0]!.master, null);
  assert.match(formatFleet(f.view(T0 + 1150)), /VI_1 vrid 51 ipv4: NO MASTER {2}last a1→BACKUP/);
});

test('deleted entries leave; unknown shapes are recognised; site names come from the mirror prefix', () => {
  const f = new FleetFold();
  f.applyState(s1, state('a1', 'master', 150, 0));
  assert.equal(f.deleteState(s1, 'VI_1', 'a1'), true);
  assert.deepEqual(f.view(T0).sites[0]!.clusters[0]!.routers, []);
  assert.equal(isInstanceState(state('a1', 'master', 1, 0)), true);
  assert.equal(isInstanceState({ state: 'MASTER' }), false);
  assert.equal(isInstanceState(null), false);
  assert.equal(siteOfApiPrefix('$JS.paris-1.API'), 'paris-1');
  assert.equal(siteOfApiPrefix('$JS.API'), undefined);
  assert.equal(siteOfApiPrefix(undefined), undefined);
});

test('fleet setup: site specs checked, one stream and one KV mirror per cluster, a cluster named by two sites refused', () => {
  assert.deepEqual(parseSiteSpec('s1=dc1, dc2'), { site: 's1', clusters: ['dc1', 'dc2'] });
  assert.match(parseSiteSpec('s1') as string, /SITE=CLUSTER/);
  assert.match(parseSiteSpec('s.1=dc1') as string, /JetStream domain/);
  const cfgs = hubMirrorConfigs([{ site: 's1', clusters: ['dc1'] }], { replicas: 3 });
  assert.ok(Array.isArray(cfgs));
  assert.deepEqual(
    cfgs.map((c) => [c.name, c.mirror?.name, c.mirror?.external?.api, c.num_replicas, c.max_msgs_per_subject]),
    [
      ['VIPFLOW_dc1', 'VIPFLOW_dc1', '$JS.s1.API', 3, undefined],
      ['KV_vipflow-state-dc1', 'KV_vipflow-state-dc1', '$JS.s1.API', 3, 1],
    ],
  );
  assert.match(
    hubMirrorConfigs(
      [
        { site: 's1', clusters: ['dc1'] },
        { site: 's2', clusters: ['dc1'] },
      ],
      { replicas: 3 },
    ) as string,
    /unique across a fleet/,
  );
});
