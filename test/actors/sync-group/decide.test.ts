// Pure: keepalived's sync-group rules (actors/sync-group/decide.ts) on hand-built group views.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, newGroup, removeMember, startMembers, type Decision, type GroupView, type MemberReport } from '../../../actors/sync-group/index.js';
import type { VrrpStateName } from '../../../actors/vrrp/index.js';

function group(state: VrrpStateName, members: [string, VrrpStateName, { faulty?: boolean; wants?: boolean }?][]): GroupView {
  return { name: 'G', state, members: members.map(([name, s, o]) => ({ name, state: s, faulty: o?.faulty ?? false, wantsMaster: o?.wants ?? false })) };
}

const orders = (d: Decision) => d.orders.map((o) => `${o.member}:${o.event.type}${'reason' in o.event && o.event.reason ? `/${o.event.reason}` : ''}`);
const t = (member: string, from: VrrpStateName, to: VrrpStateName, reason: Extract<MemberReport, { type: 'transition' }>['reason']): MemberReport => ({
  type: 'transition',
  member,
  from,
  to,
  reason,
});

describe('sync group decisions (keepalived vrrp_sync.c)', () => {
  test('start: all healthy → every member START, group Backup; one faulty → it STARTs, the others SYNC_FAULT, group Fault', () => {
    const ok = startMembers(
      newGroup('G', [
        { name: 'a', faulty: false },
        { name: 'b', faulty: false },
      ]),
    );
    assert.deepEqual(orders(ok), ['a:START', 'b:START']);
    assert.equal(ok.group.state, 'backup');
    assert.deepEqual(ok.move, { from: 'initialize', to: 'backup', by: 'G', reason: 'startup' });
    const bad = startMembers(
      newGroup('G', [
        { name: 'a', faulty: true },
        { name: 'b', faulty: false },
      ]),
    );
    assert.deepEqual(orders(bad), ['a:START', 'b:SYNC_FAULT']);
    assert.equal(bad.group.state, 'fault');
  });

  test('a late member (restart) of a running group is started into the group: Fault if the group is in Fault', () => {
    assert.deepEqual(
      orders(
        startMembers(
          group('fault', [
            ['a', 'fault', { faulty: true }],
            ['b', 'initialize'],
          ]),
        ),
      ),
      ['b:SYNC_FAULT'],
    );
    const d = startMembers(
      group('master', [
        ['a', 'master'],
        ['b', 'initialize'],
      ]),
    );
    assert.deepEqual(orders(d), ['b:START']);
    assert.equal(d.move, null);
    // A late member that is faulty itself takes the running group to Fault.
    const f = startMembers(
      group('master', [
        ['a', 'master'],
        ['b', 'initialize', { faulty: true }],
      ]),
      'b',
    );
    assert.deepEqual(orders(f), ['b:START', 'a:SYNC_FAULT']);
    assert.deepEqual(f.move, { from: 'master', to: 'fault', by: 'b', reason: 'startup-fault' });
  });

  test('a Backup wanting Master is held until every other member wants it too', () => {
    let g = group('backup', [
      ['a', 'backup'],
      ['b', 'backup'],
      ['c', 'backup'],
    ]);
    let d = decide(g, { type: 'want-master', member: 'a', want: true });
    assert.deepEqual(orders(d), []);
    g = d.group;
    d = decide(g, { type: 'want-master', member: 'b', want: true });
    assert.deepEqual(orders(d), []);
    // b accepts a Master's advert again: no longer wants.
    g = decide(d.group, { type: 'want-master', member: 'b', want: false }).group;
    d = decide(g, { type: 'want-master', member: 'c', want: true });
    assert.deepEqual(orders(d), [], 'b withdrew');
    g = d.group;
    d = decide(g, { type: 'want-master', member: 'b', want: true });
    assert.deepEqual(orders(d), ['b:SYNC_MASTER'], 'everyone wants Master: the last asker goes first');
    d = decide(d.group, t('b', 'backup', 'master', 'master-down-timer'));
    assert.deepEqual(orders(d), ['a:SYNC_MASTER', 'c:SYNC_MASTER'], 'then the others follow at once');
    assert.equal(d.group.state, 'master');
    assert.deepEqual(d.move, { from: 'backup', to: 'master', by: 'b', reason: 'master-down-timer' });
    // The followers' transitions are echoes of our orders: nothing more.
    assert.deepEqual(orders(decide(d.group, t('a', 'backup', 'master', 'sync-group'))), []);
  });

  test('a group already Master lets a wanting Backup through at once', () => {
    assert.deepEqual(
      orders(
        decide(
          group('master', [
            ['a', 'master'],
            ['b', 'backup'],
          ]),
          { type: 'want-master', member: 'b', want: true },
        ),
      ),
      ['b:SYNC_MASTER'],
    );
  });

  test('a Master that yields to a better Master takes the other Masters to Backup', () => {
    const d = decide(
      group('master', [
        ['a', 'master'],
        ['b', 'master'],
      ]),
      t('a', 'master', 'backup', 'higher-priority-advert'),
    );
    assert.deepEqual(orders(d), ['b:SYNC_BACKUP']);
    assert.equal(d.group.state, 'backup');
  });

  test('one member faulty → the others go to Fault; back to Backup together only when no member is faulty', () => {
    let g = group('master', [
      ['a', 'master'],
      ['b', 'master'],
      ['c', 'master'],
    ]);
    let d = decide(g, { type: 'health', member: 'a', faulty: true });
    assert.deepEqual(orders(d), ['b:SYNC_FAULT', 'c:SYNC_FAULT']);
    assert.equal(d.group.state, 'fault');
    g = d.group;
    for (const [m, r] of [
      ['a', 'track-fault'],
      ['b', 'sync-group'],
      ['c', 'sync-group'],
    ] as const)
      g = decide(g, t(m, 'master', 'fault', r)).group;
    // b, held in Fault, goes faulty itself too; then a recovers: still held by b.
    g = decide(g, { type: 'health', member: 'b', faulty: true }).group;
    d = decide(g, { type: 'health', member: 'a', faulty: false });
    assert.deepEqual(orders(d), []);
    d = decide(d.group, { type: 'health', member: 'b', faulty: false });
    assert.deepEqual(orders(d), ['a:SYNC_BACKUP/sync-group', 'b:SYNC_BACKUP/fault-cleared', 'c:SYNC_BACKUP/sync-group']);
    assert.equal(d.group.state, 'backup');
  });

  test('removing the last faulty member releases the group; unknown members change nothing', () => {
    const g = group('fault', [
      ['a', 'fault', { faulty: true }],
      ['b', 'fault'],
    ]);
    const d = removeMember(g, 'a');
    assert.deepEqual(orders(d), ['b:SYNC_BACKUP']);
    assert.equal(d.group.state, 'backup');
    const same = decide(g, { type: 'health', member: 'zz', faulty: true });
    assert.equal(same.group, g);
    assert.deepEqual(same.orders, []);
  });
});
