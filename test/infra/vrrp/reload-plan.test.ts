/**
 * The reload diff (infra/vrrp/reload-plan.ts): which running instances are kept,
 * changed live (priority, addresses), restarted or removed, and which are added.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineConfig } from '../../../config/define.js';
import type { VipflowConfig, VrrpInstance } from '../../../config/model.js';
import { liveChange, planReload } from '../../../infra/vrrp/reload-plan.js';

type InstanceInput = Partial<Omit<VrrpInstance, 'virtualIpaddress'>> & { name: string; virtualIpaddress?: { address: string; prefix?: number }[] };

function config(instances: InstanceInput[], syncGroups: { name: string; group: string[] }[] = []): VipflowConfig {
  return defineConfig({
    vrrpInstances: instances.map((i, k) => ({
      interface: 'eth0',
      virtualRouterId: 10 + k,
      virtualIpaddress: [{ address: '198.18.0.10', prefix: 24 }],
      ...i,
    })),
    vrrpSyncGroups: syncGroups,
  });
}

const running = (c: VipflowConfig) => c.vrrpInstances.map((i) => [i.name, i] as const);
const kinds = (plan: ReturnType<typeof planReload>) => plan.running.map((c) => [c.name, c.kind]);

test('an identical configuration keeps every instance and adds none', () => {
  const before = config([{ name: 'VI_1' }, { name: 'VI_2' }]);
  const plan = planReload(running(before), before, config([{ name: 'VI_1' }, { name: 'VI_2' }]));
  assert.deepEqual(kinds(plan), [
    ['VI_1', 'keep'],
    ['VI_2', 'keep'],
  ]);
  assert.deepEqual(plan.added, []);
  assert.equal(plan.syncGroupsChanged, false);
});

test('a priority-only change is applied live, without touching the addresses', () => {
  const before = config([{ name: 'VI_1', priority: 100 }]);
  const plan = planReload(running(before), before, config([{ name: 'VI_1', priority: 120 }]));
  assert.equal(plan.running.length, 1);
  const change = plan.running[0]!;
  assert.equal(change.kind, 'live');
  assert.ok(change.kind === 'live');
  assert.deepEqual([change.priority, change.addresses, change.want.priority], [true, false, 120]);
});

test('an address-only change (VIPs, excluded VIPs, gratuitous ARP settings) is applied live', () => {
  const old = config([{ name: 'VI_1' }]).vrrpInstances[0]!;
  for (const over of [
    { virtualIpaddress: [{ address: '198.18.0.11', prefix: 24 }] },
    { virtualIpaddressExcluded: [{ address: '198.18.0.12', prefix: 24 }] },
    { garpMasterDelay: 2 },
    { garpMasterRepeat: 3 },
    { garpMasterRefresh: 60 },
    { garpMasterRefreshRepeat: 2 },
    { garpLowerPrioDelay: 1 },
    { garpLowerPrioRepeat: 2 },
  ]) {
    const want = config([{ name: 'VI_1', ...over }]).vrrpInstances[0]!;
    assert.deepEqual(liveChange(old, want), { priority: false, addresses: true, authHmac: false }, JSON.stringify(over));
  }
});

test('priority and addresses changed together: one live change doing both', () => {
  const old = config([{ name: 'VI_1', priority: 100 }]).vrrpInstances[0]!;
  const want = config([{ name: 'VI_1', priority: 90, virtualIpaddress: [{ address: '198.18.0.20', prefix: 24 }] }]).vrrpInstances[0]!;
  assert.deepEqual(liveChange(old, want), { priority: true, addresses: true, authHmac: false });
});

test('auth_hmac key rotation (new key, new active key) and its first enabling are live changes, never restarts', () => {
  const k1 = { id: 1, key: 'hex:' + '11'.repeat(32) };
  const k2 = { id: 2, key: 'hex:' + '22'.repeat(32) };
  const plain = config([{ name: 'VI_1' }]).vrrpInstances[0]!;
  const one = config([{ name: 'VI_1', authHmac: { keys: [k1], activeKey: 1, antiReplay: 'time', mode: 'enforce' } }]).vrrpInstances[0]!;
  const both = config([{ name: 'VI_1', authHmac: { keys: [k1, k2], activeKey: 1, antiReplay: 'time', mode: 'enforce' } }]).vrrpInstances[0]!;
  const rotated = config([{ name: 'VI_1', authHmac: { keys: [k1, k2], activeKey: 2, antiReplay: 'time', mode: 'enforce' } }]).vrrpInstances[0]!;
  assert.deepEqual(liveChange(one, both), { priority: false, addresses: false, authHmac: true });
  assert.deepEqual(liveChange(both, rotated), { priority: false, addresses: false, authHmac: true });
  assert.deepEqual(liveChange(plain, one), { priority: false, addresses: false, authHmac: true });
  assert.equal(liveChange(rotated, { ...rotated, interface: 'eth1' }), null, 'other changes still restart');
});

test('anything else (interface, VRID, advert interval) restarts the instance, even beside a priority change', () => {
  const before = config([{ name: 'VI_1' }, { name: 'VI_2' }, { name: 'VI_3' }]);
  const after = config([
    { name: 'VI_1', interface: 'eth1' },
    { name: 'VI_2', virtualRouterId: 50, priority: 120 },
    { name: 'VI_3', advertInt: 2 },
  ]);
  const plan = planReload(running(before), before, after);
  assert.deepEqual(kinds(plan), [
    ['VI_1', 'restart'],
    ['VI_2', 'restart'],
    ['VI_3', 'restart'],
  ]);
  const restarted = plan.running[1]!;
  assert.ok(restarted.kind === 'restart');
  assert.equal(restarted.want, after.vrrpInstances[1], 'the new settings to start with');
});

test('removed instances are removed, new ones added in the new configuration order', () => {
  const before = config([{ name: 'VI_1' }, { name: 'VI_2' }]);
  const after = config([
    { name: 'VI_4', virtualRouterId: 40 },
    { name: 'VI_2', virtualRouterId: 11 },
    { name: 'VI_3', virtualRouterId: 30 },
  ]);
  const plan = planReload(running(before), before, after);
  assert.deepEqual(kinds(plan), [
    ['VI_1', 'remove'],
    ['VI_2', 'keep'],
  ]);
  assert.deepEqual(
    plan.added.map((i) => i.name),
    ['VI_4', 'VI_3'],
  );
});

test('the changes follow the running instances, not the configuration: an instance that failed to start is added again', () => {
  const before = config([{ name: 'VI_1' }, { name: 'VI_2' }]);
  // VI_1 is not running (it could not start earlier): the same settings add it.
  const plan = planReload([['VI_2', before.vrrpInstances[1]!]], before, before);
  assert.deepEqual(kinds(plan), [['VI_2', 'keep']]);
  assert.deepEqual(
    plan.added.map((i) => i.name),
    ['VI_1'],
  );
});

test('a changed sync group is rebuilt and its members, old and new, restart; other instances compare on their own', () => {
  const before = config(
    [{ name: 'VI_1' }, { name: 'VI_2' }, { name: 'VI_3' }],
    [
      { name: 'G1', group: ['VI_1'] },
      { name: 'G2', group: ['VI_3'] },
    ],
  );
  const after = config(
    [{ name: 'VI_1' }, { name: 'VI_2' }, { name: 'VI_3' }],
    [
      { name: 'G1', group: ['VI_1', 'VI_2'] },
      { name: 'G2', group: ['VI_3'] },
    ],
  );
  const plan = planReload(running(before), before, after);
  assert.equal(plan.syncGroupsChanged, true);
  assert.deepEqual(plan.groups, { stop: ['G1'], create: ['G1'] });
  assert.deepEqual(kinds(plan), [
    ['VI_1', 'restart'],
    ['VI_2', 'restart'],
    ['VI_3', 'keep'],
  ]);
  // A group dropped: its members run alone from here (restart without it).
  const dropped = planReload(running(before), before, config([{ name: 'VI_1' }, { name: 'VI_2' }, { name: 'VI_3' }], [{ name: 'G2', group: ['VI_3'] }]));
  assert.deepEqual(dropped.groups, { stop: ['G1'], create: [] });
  assert.deepEqual(kinds(dropped), [
    ['VI_1', 'restart'],
    ['VI_2', 'keep'],
    ['VI_3', 'keep'],
  ]);
});

test('a changed tracked definition runs again; its instances restart only when its weight or reverse changed', () => {
  const script = (command: string, weight: number) => ({ name: 'chk', script: { command }, weight });
  const withScript = (command: string, weight: number, groupTracks = false) =>
    defineConfig({
      vrrpScripts: [script(command, weight)],
      vrrpInstances: [
        {
          name: 'VI_1',
          interface: 'eth0',
          virtualRouterId: 10,
          virtualIpaddress: [{ address: '198.18.0.10' }],
          trackScripts: groupTracks ? [] : [{ name: 'chk' }],
        },
        { name: 'VI_2', interface: 'eth0', virtualRouterId: 11, virtualIpaddress: [{ address: '198.18.0.11' }] },
      ],
      vrrpSyncGroups: groupTracks ? [{ name: 'G', group: ['VI_1'], trackScripts: [{ name: 'chk' }] }] : [],
    });
  const before = withScript('/bin/true', 0);
  const sameWeight = planReload(running(before), before, withScript('/bin/false', 0));
  assert.deepEqual(sameWeight.changedTracks, { scripts: ['chk'], files: [], processes: [] });
  assert.deepEqual(kinds(sameWeight), [
    ['VI_1', 'keep'],
    ['VI_2', 'keep'],
  ]);
  const reweighted = planReload(running(before), before, withScript('/bin/true', -20));
  assert.deepEqual(kinds(reweighted), [
    ['VI_1', 'restart'],
    ['VI_2', 'keep'],
  ]);
  // Tracked through the instance's sync group counts too.
  const g = withScript('/bin/true', 0, true);
  assert.deepEqual(kinds(planReload(running(g), g, withScript('/bin/true', 5, true))), [
    ['VI_1', 'restart'],
    ['VI_2', 'keep'],
  ]);
});
