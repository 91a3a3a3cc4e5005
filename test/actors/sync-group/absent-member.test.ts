// Pure: a sync-group member waiting for its interface (dynamic_interfaces) holds the group in FAULT,
// as keepalived 2.2.7 does ("Syncing VI_dyn to FAULT state"); the whole path: test/lab/dynamic-interfaces.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { absentMember, startMembers, type Decision, type GroupView } from '../../../actors/sync-group/decide.js';
import type { VrrpStateName } from '../../../actors/vrrp/index.js';

function group(state: VrrpStateName, members: [string, VrrpStateName, boolean?][]): GroupView {
  return { name: 'G', state, members: members.map(([name, s, faulty]) => ({ name, state: s, faulty: faulty ?? false, wantsMaster: false })) };
}
const orders = (d: Decision) => d.orders.map((o) => `${o.member}:${o.event.type}${'reason' in o.event && o.event.reason ? `/${o.event.reason}` : ''}`);

test('absent before the group starts: the start puts the others in FAULT, no START for the absent one', () => {
  const held = absentMember(group('initialize', [['eth', 'initialize']]), 'dyn');
  assert.equal(held.move, null);
  assert.deepEqual(
    held.group.members.find((m) => m.name === 'dyn'),
    { name: 'dyn', state: 'fault', faulty: true, wantsMaster: false },
  );
  const started = startMembers(held.group);
  assert.deepEqual(orders(started), ['eth:SYNC_FAULT']);
  assert.equal(started.group.state, 'fault');
});

test('absent while the group runs: the running members are ordered to FAULT, the group moves', () => {
  const d = absentMember(
    group('master', [
      ['eth', 'master'],
      ['dyn', 'fault', true],
    ]),
    'dyn',
  );
  assert.deepEqual(orders(d), ['eth:SYNC_FAULT']);
  assert.deepEqual(d.move, { from: 'master', to: 'fault', by: 'dyn', reason: 'member-absent' });
  // Already in FAULT: nothing more.
  assert.deepEqual(orders(absentMember(d.group, 'dyn')), []);
});

test('the absent member starts healthy: it STARTs and the others leave FAULT with the group; starting faulty: the group stays', () => {
  const healthy = startMembers(
    group('fault', [
      ['eth', 'fault'],
      ['dyn', 'initialize'],
    ]),
    'dyn',
  );
  assert.deepEqual(orders(healthy), ['dyn:START', 'eth:SYNC_BACKUP/sync-group']);
  assert.deepEqual(healthy.move, { from: 'fault', to: 'backup', by: 'dyn', reason: 'fault-cleared' });
  const faulty = startMembers(
    group('fault', [
      ['eth', 'fault'],
      ['dyn', 'initialize', true],
    ]),
    'dyn',
  );
  assert.deepEqual(orders(faulty), ['dyn:START']);
  assert.equal(faulty.move, null);
});
