// Sync groups on the VirtualLan (simulated time): two nodes A and B, each
// running a vrrp_sync_group of two instances (VRIDs 1 and 2), through the
// production planning, runners and wire hub. Instance VI_v lives on interface
// vlanV (its own segment, so one VLAN can be cut alone); VI_1 also tracks the
// uplink interface up0. No network.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualLan, type NodeSpec } from '../../../sim/index.js';
import { HANDOVER_OVERLAP_MS } from '../../../infra/vrrp/instance-runner.js';

const ADVERT_MS = 1000;
/** Master_Down_Interval for priority p with a 1 s interval (RFC 5798: 3 intervals + skew). */
const masterDown = (p: number) => 3 * ADVERT_MS + ((256 - p) * ADVERT_MS) / 256;
/** The tracked uplink as planned for VI_1 (in a group its weight is 0: down means Fault). */
const UPLINK = 'interface:up0';

/**
 * Node `node` (A: .1, B: .2) with one instance per priority, VI_1.., in the
 * sync group G_<node> unless `grouped` is false; the uplink up0 as `uplinkUp` says.
 */
function spec(node: 'A' | 'B', priorities: readonly number[], o: { grouped?: boolean; uplinkUp?: boolean } = {}): NodeSpec {
  const host = node === 'A' ? 1 : 2;
  const vrids = priorities.map((_, i) => i + 1);
  const lines: string[] = [];
  if (o.grouped ?? true) lines.push(`vrrp_sync_group G_${node} {`, '  group {', ...vrids.map((v) => `    VI_${v}`), '  }', '}');
  priorities.forEach((priority, i) => {
    const v = i + 1;
    lines.push(
      `vrrp_instance VI_${v} {`,
      `  interface vlan${v}`,
      `  virtual_router_id ${v}`,
      '  version 3',
      `  priority ${priority}`,
      '  advert_int 1',
      ...(v === 1 ? ['  track_interface {', '    up0', '  }'] : []),
      '  virtual_ipaddress {',
      `    198.18.${v}.100/24`,
      '  }',
      '}',
    );
  });
  return {
    interfaces: [
      ...vrids.map((v) => ({ name: `vlan${v}`, segment: `vlan${v}`, addresses: [`198.18.${v}.${host}/24`] })),
      { name: 'up0', segment: 'uplink', addresses: [`198.19.0.${host}/24`], up: o.uplinkUp ?? true },
    ],
    config: lines.join('\n') + '\n',
  };
}

interface Pair {
  lan: VirtualLan;
  states(node: 'A' | 'B'): string[];
}

/** A at `a` and B at `b` (priorities of VI_1 and VI_2), both grouped. */
function pair(a: [number, number], b: [number, number]): Pair {
  const lan = new VirtualLan({ delayMs: 1 });
  lan.addNode('A', spec('A', a));
  lan.addNode('B', spec('B', b));
  return { lan, states: (n) => [lan.stateOf(`${n}/VI_1`), lan.stateOf(`${n}/VI_2`)] };
}

const groupState = (lan: VirtualLan, group: string) => lan.groupTimeline.filter((t) => t.group === group).at(-1)?.to;

describe('sync groups on the VirtualLan', () => {
  test('election: the group with the higher priorities is Master of both VRIDs, and nothing moves at steady state', () => {
    const { lan, states } = pair([150, 150], [100, 100]);
    const at = lan.runUntil(() => states('A').every((s) => s === 'master') && states('B').every((s) => s === 'backup'), 10_000);
    assert.ok(at !== null, `A Master, B Backup: ${states('A')} / ${states('B')}`);
    assert.ok(at <= masterDown(150) + 5, `elected after one Master_Down_Interval: ${at} ms`);
    assert.equal(groupState(lan, 'G_A'), 'master');
    assert.equal(groupState(lan, 'G_B'), 'backup');
    const mark = lan.now();
    lan.runFor(120_000);
    assert.deepEqual(lan.transitions({ since: mark }), [], 'no transition in two minutes of steady state');
    assert.deepEqual(
      lan.groupTimeline.filter((t) => t.at >= mark),
      [],
      'no group transition either',
    );
    assert.deepEqual(lan.addressHolders().sort(), ['A/VI_1', 'A/VI_2']);
    lan.dispose();
  });

  test("the Master's VI_1 faults: both of A's instances go to Fault and both VRIDs move to B; back to A when it recovers", () => {
    const { lan, states } = pair([150, 150], [100, 100]);
    lan.runFor(masterDown(150) + 2000);
    assert.deepEqual(states('A'), ['master', 'master']);
    const t0 = lan.now();
    lan.track('A/VI_1', UPLINK, false);
    // VI_2 was healthy: it follows its group into Fault at the same instant, with priority 0.
    assert.deepEqual(states('A'), ['fault', 'fault']);
    const a2 = lan.transitions({ node: 'A/VI_2', since: t0 }).at(-1)!;
    assert.deepEqual([a2.from, a2.to, a2.reason], ['master', 'fault', 'sync-group']);
    assert.equal(groupState(lan, 'G_A'), 'fault');
    // B heard priority 0 on both VRIDs: Master of both after Skew_Time.
    const took = lan.runUntil(() => states('B').every((s) => s === 'master'), 5000);
    assert.ok(took !== null && took - t0 <= 1000, `B took both over after the skew: ${took === null ? 'never' : took - t0} ms`);
    assert.equal(groupState(lan, 'G_B'), 'master');
    assert.deepEqual(lan.addressHolders().sort(), ['B/VI_1', 'B/VI_2']);

    // A's fault stays while up0 is down: VI_2, healthy itself, is held in Fault.
    lan.runFor(10_000);
    assert.deepEqual(states('A'), ['fault', 'fault']);

    const t1 = lan.now();
    lan.track('A/VI_1', UPLINK, true);
    assert.deepEqual(states('A'), ['backup', 'backup'], 'the whole group leaves Fault together');
    const back = lan.runUntil(() => states('A').every((s) => s === 'master') && states('B').every((s) => s === 'backup'), 10_000);
    assert.ok(
      back !== null && back - t1 <= masterDown(150) + 10,
      `A preempts with both after one Master_Down_Interval: ${back === null ? 'never' : back - t1} ms`,
    );
    // Make-before-break: the old Master keeps its VIPs HANDOVER_OVERLAP_MS after hearing the new one.
    lan.runFor(HANDOVER_OVERLAP_MS + 2);
    assert.deepEqual(lan.addressHolders().sort(), ['A/VI_1', 'A/VI_2']);
    // B left Master once per instance: one by the higher-priority advert, the other by its group.
    const bDown = lan.transitions({ since: t1 }).filter((e) => e.node === 'B' && e.from === 'master');
    assert.deepEqual(bDown.map((e) => e.reason).sort(), ['higher-priority-advert', 'sync-group'].sort());
    const gA = lan.groupTimeline.filter((t) => t.group === 'G_A').map((t) => t.to);
    assert.deepEqual(gA, ['backup', 'master', 'fault', 'backup', 'master']);
    lan.dispose();
  });

  test('a Master member that hears a higher priority goes Backup and its group follows, even where it has the higher priority itself', () => {
    // B's VI_2 outranks A's; its VI_1 does not.
    const { lan, states } = pair([150, 150], [100, 200]);
    // Partitioned from the start: each group is Master of both.
    lan.partition([['A'], ['B']]);
    lan.runFor(masterDown(100) + 2000);
    assert.deepEqual([...states('A'), ...states('B')], ['master', 'master', 'master', 'master']);
    // Heal VRID 1 only: B's VI_1 hears A's 150 and yields; B's VI_2 follows while still partitioned.
    lan.heal();
    lan.partition([['A'], ['B']], 'vlan2');
    const t0 = lan.now();
    const followed = lan.runUntil(() => states('B').every((s) => s === 'backup'), 3000);
    assert.ok(followed !== null, `B's group went Backup: ${states('B')}`);
    const b = lan.transitions({ since: t0 }).filter((e) => e.node === 'B');
    assert.deepEqual(
      b.map((e) => [e.ref, e.to, e.reason]),
      [
        ['B/VI_1', 'backup', 'higher-priority-advert'],
        ['B/VI_2', 'backup', 'sync-group'],
      ],
    );
    assert.equal(b[0]!.at, b[1]!.at, 'in the same instant');
    assert.deepEqual(states('A'), ['master', 'master']);
    // Heal everything. B's VI_2 (200) ignores A's VI_2 (150) and wants Master, but
    // keepalived's rule keeps it Backup while VI_1 accepts A: the group stays whole on A.
    lan.heal();
    const mark = lan.now();
    lan.runFor(30_000);
    assert.deepEqual([...states('A'), ...states('B')], ['master', 'master', 'backup', 'backup']);
    assert.deepEqual(lan.transitions({ since: mark }), [], 'no flapping');
    assert.deepEqual(lan.addressHolders().sort(), ['A/VI_1', 'A/VI_2']);
    lan.dispose();
  });

  test("one member's higher priority alone does not split the group (keepalived: only sync to Master if everyone wants to)", () => {
    const { lan, states } = pair([150, 150], [100, 100]);
    lan.runFor(masterDown(150) + 2000);
    lan.setPriority('B/VI_1', 200);
    const mark = lan.now();
    lan.runFor(30_000);
    assert.deepEqual([...states('A'), ...states('B')], ['master', 'master', 'backup', 'backup']);
    assert.deepEqual(lan.transitions({ since: mark }), []);
    // With both members raised, every member of B wants Master: the group preempts together.
    lan.setPriority('B/VI_2', 200);
    const moved = lan.runUntil(() => states('B').every((s) => s === 'master') && states('A').every((s) => s === 'backup'), 10_000);
    assert.ok(moved !== null, `B preempts with both: ${states('A')} / ${states('B')}`);
    // Make-before-break: the old Master keeps its VIPs HANDOVER_OVERLAP_MS after hearing the new one.
    lan.runFor(HANDOVER_OVERLAP_MS + 2);
    assert.deepEqual(lan.addressHolders().sort(), ['B/VI_1', 'B/VI_2']);
    lan.dispose();
  });

  test('a group with a faulty member starts in Fault as a whole; the peer is Master of both', () => {
    const lan = new VirtualLan({ delayMs: 1 });
    lan.addNode('A', spec('A', [150, 150], { uplinkUp: false }));
    lan.addNode('B', spec('B', [100, 100]));
    assert.deepEqual([lan.stateOf('A/VI_1'), lan.stateOf('A/VI_2')], ['fault', 'fault']);
    assert.deepEqual(
      lan.transitions({ node: 'A/VI_2' }).map((e) => e.reason),
      ['sync-group'],
    );
    lan.runFor(masterDown(100) + 100);
    assert.deepEqual([lan.stateOf('B/VI_1'), lan.stateOf('B/VI_2')], ['master', 'master']);
    assert.deepEqual(
      lan.groupTimeline.map((t) => [t.group, t.to]),
      [
        ['G_A', 'fault'],
        ['G_B', 'backup'],
        ['G_B', 'master'],
      ],
    );
    lan.dispose();
  });

  test('a group of one member behaves exactly like a lone instance (same transitions at the same times)', () => {
    const run = (grouped: boolean) => {
      const lan = new VirtualLan({ delayMs: 1 });
      lan.addNode('A', spec('A', [150], { grouped }));
      lan.addNode('B', spec('B', [100], { grouped }));
      lan.runFor(6000);
      lan.track('A/VI_1', UPLINK, false);
      lan.runFor(5000);
      lan.track('A/VI_1', UPLINK, true);
      lan.runFor(8000);
      void lan.stop('A/VI_1');
      lan.runFor(5000);
      lan.restart('A/VI_1');
      lan.runFor(8000);
      const timeline = lan.transitions().map((e) => `${e.at} ${e.node} ${e.from}->${e.to} ${e.reason}`);
      lan.dispose();
      return timeline;
    };
    const lone = run(false);
    assert.ok(lone.length >= 8, `the scenario moves: ${lone.join('\n')}`);
    assert.deepEqual(run(true), lone);
  });
  test('three members: a fault on one moves all three; graceful stop of the Master node moves all three after Skew_Time', () => {
    const lan = new VirtualLan({ delayMs: 1 });
    lan.addNode('A', spec('A', [150, 150, 150]));
    lan.addNode('B', spec('B', [100, 100, 100]));
    const states = (n: string) => [1, 2, 3].map((v) => lan.stateOf(`${n}/VI_${v}`));
    lan.runFor(masterDown(150) + 2000);
    assert.deepEqual([...states('A'), ...states('B')], ['master', 'master', 'master', 'backup', 'backup', 'backup']);
    lan.track('A/VI_1', UPLINK, false);
    assert.deepEqual(states('A'), ['fault', 'fault', 'fault']);
    assert.ok(lan.runUntil(() => states('B').every((s) => s === 'master'), 2000) !== null, `B took all three: ${states('B')}`);
    lan.track('A/VI_1', UPLINK, true);
    assert.ok(lan.runUntil(() => states('A').every((s) => s === 'master') && states('B').every((s) => s === 'backup'), 10_000) !== null);
    const t0 = lan.now();
    for (const v of [1, 2, 3]) void lan.stop(`A/VI_${v}`);
    const took = lan.runUntil(() => states('B').every((s) => s === 'master'), 3000);
    assert.ok(took !== null && took - t0 <= 1000, `priority 0 on every VRID: B Master of all three after the skew (${took === null ? 'never' : took - t0} ms)`);
    // Make-before-break: the old Master keeps its VIPs HANDOVER_OVERLAP_MS after hearing the new one.
    lan.runFor(HANDOVER_OVERLAP_MS + 2);
    assert.deepEqual(lan.addressHolders().sort(), ['B/VI_1', 'B/VI_2', 'B/VI_3']);
    lan.dispose();
  });

  test('a member restarted while its group is Master rejoins it and becomes Master when its own timer expires', () => {
    const { lan, states } = pair([150, 150], [100, 100]);
    lan.runFor(masterDown(150) + 2000);
    const t0 = lan.now();
    lan.restart('A/VI_1');
    assert.equal(lan.stateOf('A/VI_1'), 'backup');
    const back = lan.runUntil(() => lan.stateOf('A/VI_1') === 'master', 10_000);
    assert.ok(back !== null && back - t0 <= masterDown(150) + 5, `A/VI_1 Master again after ${back === null ? 'never' : back - t0} ms`);
    assert.deepEqual([...states('A'), ...states('B')], ['master', 'master', 'backup', 'backup']);
    // A's VI_1 (150) times out before B's (100) would: B never moved.
    assert.deepEqual(
      lan.transitions({ since: t0 }).filter((e) => e.node === 'B'),
      [],
    );
    lan.dispose();
  });
});
