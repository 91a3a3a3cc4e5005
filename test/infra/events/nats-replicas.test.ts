/**
 * vipflow.nats.replicas and maxAge on a real three-server JetStream cluster (loopback): the daemon's
 * settings reach the stream and the state bucket, and with three copies a lost server loses no event.
 * Starts three nats-server processes, stopped and removed afterwards.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { silentLogger } from '../../../core/logger.js';
import { defineConfig } from '../../../config/define.js';
import { eventSettings } from '../../../daemon/daemon.js';
import { NatsBus } from '../../../infra/events/nats-bus.js';
import type { NatsServer } from '../../../infra/events/local-nats.js';
import { createEventSource } from '../../../infra/events/source.js';
import { transition } from './fixtures.js';
import { startLoopbackCluster, until } from './nats-server.js';

const dir = mkdtempSync(join(tmpdir(), 'vipflow-r3-'));
const servers: NatsServer[] = [];
const buses: NatsBus[] = [];

before(async () => {
  servers.push(...(await startLoopbackCluster(dir, 'r3')).servers);
});

after(async () => {
  for (const b of buses) await b.close().catch(() => undefined);
  for (const s of servers) await s.dispose().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

test("the config's replicas and maxAge reach the daemon's bus settings; unset, the bus keeps its defaults", () => {
  const config = defineConfig({ vipflow: { nats: { url: 'nats://127.0.0.1:4222', replicas: 3, maxAge: 3600 } } });
  assert.deepEqual(eventSettings({} as never, config).natsStream, { replicas: 3, maxAgeMs: 3_600_000 });
  const plain = defineConfig({ vipflow: { nats: { url: 'nats://127.0.0.1:4222' } } });
  assert.deepEqual(eventSettings({} as never, plain).natsStream, { replicas: 1 });
  assert.equal(eventSettings({} as never, defineConfig({})).natsStream, undefined, 'no NATS, no stream settings');
});

test('an existing one-copy stream and bucket are brought to three; one server stopped, no event lost', async () => {
  const urls = servers.map((s) => s.url);
  // A daemon of the same cluster that ran before the setting: one copy of each.
  const first = new NatsBus({ servers: urls, cluster: 'r3', log: silentLogger(), stateDir: join(dir, 'outbox0'), node: 'lb0' });
  buses.push(first);
  assert.ok(await first.connected(30_000), 'the first bus connects to the cluster');
  const src0 = createEventSource({ cluster: 'r3', node: 'lb0', seq: first.seq });
  first.publish(transition(src0, 'VI_1', 'backup'));
  await until(() => first.outboxStats()!.delivered >= 1, 20_000, 'the first event acknowledged');
  await first.close();
  const bus = new NatsBus({
    servers: urls,
    cluster: 'r3',
    log: silentLogger(),
    stateDir: join(dir, 'outbox'),
    node: 'lb1',
    heartbeatMs: 200,
    stream: { replicas: 3, maxAgeMs: 3_600_000 },
  });
  buses.push(bus);
  // A JetStream cluster needs its meta leader before the stream can be made: seconds after the servers start.
  assert.ok(await bus.connected(30_000), 'the bus connects to the cluster');
  const src = createEventSource({ cluster: 'r3', node: 'lb1', seq: bus.seq });
  const sent = [transition(src, 'VI_1', 'backup'), transition(src, 'VI_1', 'master')];
  for (const e of sent) bus.publish(e);
  await until(() => bus.outboxStats()!.delivered >= 2, 20_000, 'the events acknowledged');

  const nc = await connect({ servers: urls });
  try {
    const jsm = await jetstreamManager(nc);
    const events = await jsm.streams.info('VIPFLOW_r3');
    assert.equal(events.config.num_replicas, 3, 'the event stream has three copies');
    assert.equal(events.config.max_age, 3_600_000 * 1_000_000, 'and keeps events for maxAge');
    let kv;
    for (let i = 0; i < 50 && kv?.config.num_replicas !== 3; i++) {
      kv = await jsm.streams.info('KV_vipflow-state-r3').catch(() => undefined);
      if (kv?.config.num_replicas !== 3) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(kv?.config.num_replicas, 3, 'the state bucket has three copies');

    // Stop the event stream's leader: the two others elect a new one and the bus publishes on.
    const leader = events.cluster?.leader;
    const victim = servers.find((_, i) => `r3-${i}` === leader);
    assert.ok(victim, `the stream has a leader (${leader})`);
    await victim.stop();
    const later = [transition(src, 'VI_1', 'backup', 'after-loss'), transition(src, 'VI_1', 'master', 'after-loss')];
    for (const e of later) bus.publish(e);
    await until(() => bus.outboxStats()!.delivered >= 4, 30_000, 'the events after the loss acknowledged');
    let stored = 0;
    for (let i = 0; i < 100 && stored < 5; i++) {
      stored = (await jsm.streams.info('VIPFLOW_r3').catch(() => undefined))?.state.messages ?? 0;
      if (stored < 5) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(stored, 5, 'the two remaining servers hold every event');
  } finally {
    await nc.close();
  }
});
