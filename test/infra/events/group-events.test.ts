// Sync group transitions as events: a SyncGroup on simulated time feeding the
// daemon's event producer on the in-process bus. No network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedClock } from 'xstate';
import { SyncGroup } from '../../../actors/sync-group/index.js';
import { createVrrpInstance } from '../../../actors/vrrp/index.js';
import { EventPublisher } from '../../../daemon/event-publisher.js';
import { silentLogger } from '../../../core/logger.js';
import { parseEvent, type VipflowEvent } from '../../../infra/events/schema.js';
import { baseInput } from '../../actors/vrrp/harness.js';
import { until } from './nats-server.js';

test('group.transition events: start, fault of a member, recovery; each parses as a v1 event', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-gevents-'));
  const ev = new EventPublisher({ cluster: 'c1', node: 'n1' }, dir, silentLogger(), () => []);
  try {
    const seen: VipflowEvent[] = [];
    await ev.bus.subscribe({ types: ['group.transition'] }, (e) => void seen.push(e), { start: { from: 'all' } });
    ev.start('/etc/keepalived/keepalived.conf', ['VI_1', 'VI_2']);
    const clock = new SimulatedClock();
    const group = new SyncGroup('G1', { now: () => clock.now() });
    group.onTransition((t) => ev.groupTransition(t));
    const actors = (['VI_1', 'VI_2'] as const).map((name, i) => {
      const actor = createVrrpInstance({ ...baseInput({ name, vrid: i + 1, tracks: [{ id: 'eth1', weight: 0 }] }), syncGroup: 'G1' }, { clock });
      actor.start();
      group.attach(name, actor);
      return actor;
    });
    group.start();
    assert.deepEqual(
      group.members().map((m) => m.state),
      ['backup', 'backup'],
    );
    actors[0]!.send({ type: 'TRACK', id: 'eth1', up: false });
    assert.deepEqual(
      group.members().map((m) => m.state),
      ['fault', 'fault'],
    );
    actors[0]!.send({ type: 'TRACK', id: 'eth1', up: true });
    assert.deepEqual(
      group.members().map((m) => m.state),
      ['backup', 'backup'],
    );
    group.stop();
    await until(() => seen.length >= 4, 2000);
    assert.deepEqual(
      seen.map((e) => (e.type === 'group.transition' ? [e.data.from, e.data.to, e.data.by] : [])),
      [
        ['initialize', 'backup', 'G1'],
        ['backup', 'fault', 'VI_1'],
        ['fault', 'backup', 'VI_1'],
        ['backup', 'stopped', 'G1'],
      ],
    );
    for (const e of seen) assert.ok(parseEvent(JSON.stringify(e)).ok, JSON.stringify(e));
    assert.deepEqual(seen[0]?.type === 'group.transition' && seen[0].data.members, ['VI_1', 'VI_2']);
  } finally {
    await ev.stop('test', 100).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
