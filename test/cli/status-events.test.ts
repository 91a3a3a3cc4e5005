// Pure: `vipflow status` text shows the event bus, the cluster's nodes and the recent events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatEvents } from '../../cli/status.js';
import { status } from '../daemon/status-fixture.js';

test('status text: the bus, the cluster nodes (this one marked, stale ones said) and the newest events first', () => {
  const e = status().events;
  const member = (node: string, state: string, stale: boolean) => ({
    instance: 'VI_1',
    node,
    vrid: 51,
    family: 'ipv4',
    state,
    effectivePriority: 150,
    basePriority: 150,
    masterSeen: null,
    reason: 'r',
    lastChange: '2026-01-01T00:00:00.000Z',
    eventId: 'x',
    heartbeatAt: '2026-01-01T00:00:00.000Z',
    stale,
  });
  const recent = Array.from({ length: 12 }, (_, k) => ({ type: 'instance.transition' as const, id: `e${k}`, time: `T${k}`, instance: 'VI_1' }));
  const lines = formatEvents({ ...e, members: [member('n', 'master', false), member('m', 'backup', true)], recent });
  assert.match(lines[0]!, /^events: nats bus, cluster c node n, 40 published, queued 3 in memory 2 spilled, 7 failed deliveries; split brains 1$/);
  assert.match(lines[1]!, /node n \(this node\) +VI_1 +MASTER {2}prio 150 since 2026-01-01T00:00:00.000Z$/);
  assert.match(lines[2]!, /node m .*BACKUP .*\(stale: no heartbeat\)$/);
  assert.equal(lines[3], 'recent events (newest first, 10 of 12 kept):');
  assert.equal(lines[4], '  T11 instance.transition    VI_1');
  assert.equal(lines.length, 14);
  assert.deepEqual(formatEvents({ ...e, recent: [] }).length, 1, 'no events yet: only the bus line');
  assert.deepEqual(formatEvents(undefined), [], 'an older daemon');
});
