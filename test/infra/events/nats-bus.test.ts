/** NatsBus against a real nats-server (JetStream, loopback, temp store). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { NatsBus } from '../../../infra/events/nats-bus.js';
import { createEventSource } from '../../../infra/events/source.js';
import type { VipflowEvent } from '../../../infra/events/schema.js';
import { natsFixture, until } from './nats-server.js';
import { samplePayloads, testSource, transition } from './fixtures.js';

const fx = natsFixture();
const tempDir = () => fx.tempDir();
const bus = (cluster: string, opts: { stateDir?: string; node?: string; heartbeatMs?: number } = {}) => fx.bus(cluster, opts);

test('N events reach a consumer in order, once each; a republished id is dropped by JetStream', async () => {
  const pub = bus('order', { stateDir: tempDir(), node: 'node-a' });
  const src = createEventSource({ cluster: 'order', node: 'node-a', seq: pub.seq });
  const reader = bus('order');
  assert.ok(await pub.connected(5000));
  const got: VipflowEvent[] = [];
  const sub = await reader.subscribe({}, (e) => void got.push(e), { start: { from: 'all' } });
  const sent: VipflowEvent[] = [];
  for (let i = 0; i < 2000; i++) {
    const e = transition(src, `VI_${i % 7}`, i % 2 ? 'master' : 'backup', `r${i}`);
    sent.push(e);
    pub.publish(e);
  }
  pub.publish(sent[10]!);
  pub.publish(sent[1999]!);
  await until(() => got.length >= 2000, 15_000, '2000 events');
  await until(() => pub.outboxStats()!.delivered === 2002, 5000, 'outbox drained');
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(
    got.map((e) => e.id),
    sent.map((e) => e.id),
  );
  assert.equal(sub.stats.invalid, 0);
  const nc = await connect({ servers: fx.server.url });
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const info = await (await jetstreamManager(nc)).streams.info('VIPFLOW_order');
  await nc.close();
  assert.equal(info.state.messages, 2000, 'duplicates were not stored');
  await sub.close();
});

test('KV holds the latest state of each instance on each node, refreshed by heartbeat', async () => {
  const dir = tempDir();
  const a = bus('kv', { stateDir: dir, node: 'node-a', heartbeatMs: 100 });
  const b = bus('kv', { stateDir: tempDir(), node: 'node-b' });
  const sa = createEventSource({ cluster: 'kv', node: 'node-a', seq: a.seq });
  const sb = createEventSource({ cluster: 'kv', node: 'node-b', seq: b.seq });
  a.publish(transition(sa, 'VI_1', 'backup'));
  a.publish(transition(sa, 'VI_1', 'master'));
  a.publish(transition(sa, 'VI_2', 'backup'));
  b.publish(transition(sb, 'VI_1', 'backup'));
  b.publish(sb.make('instance.fault', samplePayloads['instance.fault'])); // not a transition: no KV change
  let states: Awaited<ReturnType<NatsBus['currentStates']>> = [];
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    states = await a.currentStates();
    if (states.length === 3 && states.find((s) => s.node === 'node-a' && s.instance === 'VI_1')?.state === 'master') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const view = states.map((s) => `${s.instance}@${s.node}=${s.state}`).sort();
  assert.deepEqual(view, ['VI_1@node-a=master', 'VI_1@node-b=backup', 'VI_2@node-a=backup']);
  const before = states.find((s) => s.node === 'node-a' && s.instance === 'VI_2')!;
  await new Promise((r) => setTimeout(r, 350));
  const later = (await a.currentStates()).find((s) => s.node === 'node-a' && s.instance === 'VI_2')!;
  assert.ok(later.heartbeatAt > before.heartbeatAt, 'heartbeat rewrites the entry');
  assert.equal(later.lastChange, before.lastChange, 'a heartbeat is not a state change');
});

test('malformed messages on the subjects are counted and skipped; good events keep flowing', async () => {
  const pub = bus('garbage', { stateDir: tempDir(), node: 'node-a' });
  const src = createEventSource({ cluster: 'garbage', node: 'node-a', seq: pub.seq });
  assert.ok(await pub.connected(5000));
  const reader = bus('garbage');
  const got: string[] = [];
  const sub = await reader.subscribe({}, (e) => void got.push(e.id), { start: { from: 'all' } });
  const durableGot: string[] = [];
  const durable = await reader.subscribe({ types: ['instance.transition'] }, (e) => void durableGot.push(e.id), { durable: 'audit', start: { from: 'all' } });
  const nc = await connect({ servers: fx.server.url });
  const { jetstream } = await import('@nats-io/jetstream');
  const js = jetstream(nc);
  const good1 = transition(src, 'VI_1', 'master');
  pub.publish(good1);
  await until(() => got.length === 1, 5000, 'first event');
  await js.publish('vipflow.garbage.VI_1.instance.transition', '{{{ not json');
  await js.publish('vipflow.garbage.VI_1.instance.transition', JSON.stringify({ ...good1, id: 'x', schema: 'vipflow.event/v9' }));
  await js.publish('vipflow.garbage.VI_1.instance.transition', JSON.stringify({ ...good1, id: 'y', data: { nope: 1 } }));
  await js.publish('vipflow.garbage._daemon.daemon.stop', new Uint8Array([0xff, 0xfe]));
  const good2 = transition(src, 'VI_1', 'backup');
  pub.publish(good2);
  await until(() => got.length === 2 && durableGot.length === 2, 5000, 'second event');
  await nc.close();
  assert.deepEqual(got, [good1.id, good2.id]);
  assert.equal(sub.stats.invalid, 4);
  assert.deepEqual(durableGot, [good1.id, good2.id]);
  assert.equal(durable.stats.invalid, 3, 'the durable consumer filters on the transition subject');
  await sub.close();
  await durable.close();
});

test("a signing daemon refuses events naming it that its key did not sign (its own workflows run from them); other nodes' pass", async () => {
  const { nkeys } = await import('@nats-io/transport-node');
  const { jetstream } = await import('@nats-io/jetstream');
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { subjectFor } = await import('../../../infra/events/subjects.js');
  const seedFile = (name: string, kp: ReturnType<typeof nkeys.createUser>) => {
    const f = join(tempDir(), name);
    writeFileSync(f, new TextDecoder().decode(kp.getSeed()), { mode: 0o600 });
    return f;
  };
  const keyA = nkeys.createUser();
  const a = fx.bus('own', { stateDir: tempDir(), node: 'node-a', signingKeyFile: seedFile('a.nk', keyA) });
  const other = fx.bus('own', { stateDir: tempDir(), node: 'node-b', signingKeyFile: seedFile('b.nk', nkeys.createUser()) });
  assert.ok(await a.connected(5000));
  assert.ok(await other.connected(5000));
  const got: VipflowEvent[] = [];
  const sub = await a.subscribe({}, (e) => void got.push(e), { start: { from: 'all' } });
  const srcA = createEventSource({ cluster: 'own', node: 'node-a', seq: a.seq });
  const own = transition(srcA, 'VI_1', 'master', 'own');
  a.publish(own);
  // Another publisher's events naming node-a: signed by node-b's key, and unsigned.
  const forgedSigned = transition(testSource('node-a', 'own', 'forged1'), 'VI_1', 'backup', 'forged-signed');
  other.publish(forgedSigned);
  const forgedUnsigned = transition(testSource('node-a', 'own', 'forged2'), 'VI_1', 'backup', 'forged-unsigned');
  const nc = await connect({ servers: fx.server.url });
  await jetstream(nc).publish(subjectFor(forgedUnsigned), JSON.stringify(forgedUnsigned), { msgID: forgedUnsigned.id });
  // An event of another node is not judged by this daemon.
  const peer = transition(testSource('node-c', 'own'), 'VI_1', 'backup', 'peer');
  await jetstream(nc).publish(subjectFor(peer), JSON.stringify(peer), { msgID: peer.id });
  await nc.close();
  await until(() => got.length >= 2 && (sub.stats.refused ?? 0) >= 2, 10_000, 'own and peer delivered, two forgeries refused').catch((err: Error) => {
    throw new Error(`${err.message}: delivered ${got.map((e) => e.id).join(', ')}; refused ${sub.stats.refused ?? 0}`);
  });
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(got.map((e) => e.id).sort(), [own.id, peer.id].sort());
  assert.equal(sub.stats.refused, 2);
  await sub.close();
});
