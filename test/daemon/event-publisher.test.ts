// The daemon's event producer (daemon/event-publisher.ts) on the in-process
// bus, with a stand-in for the instance runner: which events a transition, a
// fault, drop counters and a stop produce. (Kept beside the other event tests;
// the real daemon is exercised in test/lab/events-*.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventPublisher } from '../../daemon/event-publisher.js';
import type { InstanceRunner } from '../../infra/vrrp/instance-runner.js';
import { transitionRecord } from './fixtures.js';
import { emptyDropCounters } from '../../actors/vrrp/receive.js';
import { silentLogger } from '../../core/logger.js';
import type { VipflowEvent } from '../../infra/events/schema.js';
import { until } from '../infra/events/nats-server.js';

const record = transitionRecord;

test('transitions, faults, drop summaries and the stop become events on the in-process bus', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-devents-'));
  const runner = { drops: emptyDropCounters(), dropTotal: 0, plan: { interface: 'eth0' } } as unknown as InstanceRunner;
  const ev = new EventPublisher({ cluster: 'c1', node: 'n1', dropsPeriodMs: 30 }, dir, silentLogger(), () => [{ name: 'VI_1', runner }]);
  try {
    const seen: VipflowEvent[] = [];
    await ev.bus.subscribe({}, (e) => void seen.push(e), { start: { from: 'all' } });
    ev.start('/etc/keepalived/keepalived.conf', ['VI_1']);
    ev.transition(record({}), '198.18.0.2', () => []);
    ev.transition(record({ from: 'master', to: 'fault', reason: 'track-fault' }), '198.18.0.2', () => ['interface:eth1']);
    ev.transition(record({ from: 'fault', to: 'backup', reason: 'fault-cleared' }), '198.18.0.2', () => []);
    runner.drops['auth-mismatch'] += 3;
    runner.dropTotal += 3;
    await until(() => seen.some((e) => e.type === 'wire.drops'), 2000, 'a drops summary');
    const n = seen.length;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(seen.filter((e) => e.type === 'wire.drops').length, 1, 'no summary when the counters did not move');
    assert.equal(seen.length, n);
    await ev.stop('SIGTERM', 1234);
    await until(() => seen.some((e) => e.type === 'daemon.stop'), 2000, 'daemon.stop');
    assert.deepEqual(
      seen.map((e) => e.type),
      ['daemon.start', 'instance.transition', 'instance.transition', 'instance.fault', 'instance.transition', 'instance.recover', 'wire.drops', 'daemon.stop'],
    );
    const byType = <T extends VipflowEvent['type']>(t: T) => seen.find((e) => e.type === t) as Extract<VipflowEvent, { type: T }>;
    assert.deepEqual(byType('instance.transition').data, {
      instance: 'VI_1',
      vrid: 9,
      family: 'ipv4',
      interface: 'eth0',
      from: 'backup',
      to: 'master',
      reason: 'master-down-timer',
      effectivePriority: 100,
      basePriority: 100,
      masterSeen: '198.18.0.1',
      advertIntervalCs: 10,
      source: '198.18.0.2',
    });
    assert.deepEqual(byType('instance.fault').data, { instance: 'VI_1', vrid: 9, reason: 'track-fault', tracksDown: ['interface:eth1'] });
    assert.deepEqual(byType('wire.drops').data, { periodMs: 30, instance: 'VI_1', interface: 'eth0', counters: { 'auth-mismatch': 3 }, total: 3 });
    assert.deepEqual(byType('daemon.stop').data, { reason: 'SIGTERM', uptimeMs: 1234 });
    assert.ok(seen.every((e) => e.cluster === 'c1' && e.node === 'n1'));
    assert.deepEqual(
      seen.map((e) => e.seq),
      [...seen.keys()].map((i) => seen[0]!.seq + i),
      'one sequence, in order',
    );
    assert.equal(ev.status().published, seen.length);
  } finally {
    await ev.stop('test', 0);
    rmSync(dir, { recursive: true, force: true });
  }
});
