import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessBus } from '../../../infra/events/bus.js';
import { createEventBus, createEventSource } from '../../../infra/events/index.js';
import type { VipflowEvent } from '../../../infra/events/schema.js';
import { silentLogger } from '../../../core/logger.js';
import { samplePayloads, testSource, transition } from './fixtures.js';

const tick = () => new Promise((r) => setImmediate(r));

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

test('publish returns before any handler runs; events arrive in publish order', async () => {
  const bus = new InProcessBus({ log: silentLogger() });
  const got: number[] = [];
  await bus.subscribe({}, (e) => void got.push(e.seq));
  const src = testSource();
  for (let i = 0; i < 500; i++) bus.publish(transition(src, 'VI_1', i % 2 ? 'master' : 'backup'));
  assert.equal(got.length, 0, 'handlers must not run inside publish()');
  await until(() => got.length === 500);
  assert.deepEqual(
    got,
    Array.from({ length: 500 }, (_, i) => i + 1),
  );
  await bus.close();
});

test('filters: instance, node, type, target state', async () => {
  const bus = new InProcessBus({ log: silentLogger() });
  const a = testSource('node-a');
  const b = testSource('node-b');
  const seen = { vi2: [] as string[], nodeB: [] as string[], faults: [] as string[], toMaster: [] as string[] };
  await bus.subscribe({ instance: 'VI_2' }, (e) => void seen.vi2.push(e.id));
  await bus.subscribe({ node: 'node-b' }, (e) => void seen.nodeB.push(e.id));
  await bus.subscribe({ types: ['instance.fault'] }, (e) => void seen.faults.push(e.id));
  await bus.subscribe({ toState: 'master', cluster: 'dc1' }, (e) => void seen.toMaster.push(e.id));
  const evs = [
    transition(a, 'VI_1', 'master'),
    transition(a, 'VI_2', 'backup'),
    b.make('instance.fault', samplePayloads['instance.fault']),
    transition(b, 'VI_2', 'master'),
    a.make('daemon.stop', samplePayloads['daemon.stop']),
  ];
  for (const e of evs) bus.publish(e);
  await until(() => seen.toMaster.length === 2 && seen.nodeB.length === 2);
  await tick();
  const ids = (...k: number[]) => k.map((i) => evs[i]!.id);
  assert.deepEqual(seen.vi2, ids(1, 3));
  assert.deepEqual(seen.nodeB, ids(2, 3));
  assert.deepEqual(seen.faults, ids(2));
  assert.deepEqual(seen.toMaster, ids(0, 3));
  await bus.close();
});

test('replay from all, from a sequence, from a time; history is bounded', async () => {
  const bus = new InProcessBus({ log: silentLogger(), historyLimit: 100 });
  const src = testSource();
  const evs: VipflowEvent[] = [];
  for (let i = 0; i < 300; i++) {
    const e = transition(src, 'VI_1', 'master', `r${i}`);
    evs.push(e);
    bus.publish(e);
  }
  await tick();
  const all: number[] = [];
  await bus.subscribe({}, (e) => void all.push(e.seq), { start: { from: 'all' } });
  await until(() => all.length >= 100);
  assert.ok(all.length >= 100 && all.length <= 125, `history kept ${all.length}`);
  assert.equal(all.at(-1), 300);
  const fromSeq: number[] = [];
  await bus.subscribe({}, (e, d) => void fromSeq.push(d.busSeq), { start: { from: 'seq', seq: 290 } });
  await until(() => fromSeq.length === 11);
  assert.deepEqual(
    fromSeq,
    Array.from({ length: 11 }, (_, i) => 290 + i),
  );
  const fromTime: string[] = [];
  await bus.subscribe({}, (e) => void fromTime.push(e.id), { start: { from: 'time', time: evs[295]!.time } });
  await until(() => fromTime.length === 5);
  assert.deepEqual(
    fromTime,
    evs.slice(295).map((e) => e.id),
  );
  // Live events keep flowing to replaying subscribers after the history.
  bus.publish(transition(src, 'VI_1', 'backup'));
  await until(() => fromSeq.length === 12);
  await bus.close();
});

test('forgetHistory: earlier replays are untouched, later subscribers from the start get only what comes next', async () => {
  const bus = new InProcessBus({ log: silentLogger() });
  const src = testSource();
  for (let i = 0; i < 5; i++) bus.publish(transition(src, 'VI_1', 'master', `r${i}`));
  const early: string[] = [];
  await bus.subscribe({}, (e) => void early.push((e.data as { reason: string }).reason), { start: { from: 'all' } });
  await tick(); // delivered: events not yet dispatched would reach a new subscriber live, history or not
  bus.forgetHistory();
  bus.publish(transition(src, 'VI_1', 'backup', 'after'));
  await tick();
  const late: string[] = [];
  await bus.subscribe({}, (e) => void late.push((e.data as { reason: string }).reason), { start: { from: 'all' } });
  bus.publish(transition(src, 'VI_1', 'master', 'last'));
  await until(() => early.length === 7 && late.length === 1);
  assert.deepEqual(early, ['r0', 'r1', 'r2', 'r3', 'r4', 'after', 'last'], 'the replay made before is delivered whole');
  assert.deepEqual(late, ['last'], 'nothing kept after forgetHistory');
  await bus.close();
});

test('a durable subscriber resumes after what it handled; a throwing handler is counted, not fatal', async () => {
  const bus = new InProcessBus({ log: silentLogger() });
  const src = testSource();
  const first: number[] = [];
  const sub = await bus.subscribe(
    {},
    (e) => {
      first.push(e.seq);
      if (e.seq === 2) throw new Error('boom');
    },
    { durable: 'audit', start: { from: 'all' } },
  );
  for (let i = 0; i < 3; i++) bus.publish(transition(src, 'VI_1', 'master'));
  await until(() => first.length === 3);
  assert.equal(sub.stats.handlerErrors, 1);
  assert.equal(sub.stats.delivered, 3);
  await sub.close();
  for (let i = 0; i < 2; i++) bus.publish(transition(src, 'VI_1', 'backup'));
  const resumed: number[] = [];
  await bus.subscribe({}, (e) => void resumed.push(e.seq), { durable: 'audit', start: { from: 'all' } });
  await until(() => resumed.length === 2);
  assert.deepEqual(resumed, [4, 5]);
  await bus.close();
});

test('createEventBus: without NATS settings one host gets the in-process bus', async () => {
  const bus = createEventBus({ cluster: 'dc1', node: 'node-a', stateDir: '/nonexistent', log: silentLogger() });
  assert.equal(bus.kind, 'in-process');
  const src = createEventSource({ cluster: 'dc1', node: 'node-a', seq: bus.seq });
  const got: string[] = [];
  await bus.subscribe({ toState: 'master' }, (e) => void got.push(e.id));
  const e = transition(src, 'VI_1', 'master');
  bus.publish(e);
  await until(() => got.length === 1);
  assert.deepEqual(got, [e.id]);
  await bus.close();
});

test("a subscription starting at the source's now() sees the very next event (Date.now() could skip it)", async () => {
  // One long-lived source, as in the daemon: its clock was anchored at creation, so
  // it may read up to a millisecond behind Date.now() from then on.
  const bus = new InProcessBus({ log: silentLogger() });
  const src = createEventSource({ cluster: 'c', node: 'n', seq: bus.seq });
  try {
    for (let k = 0; k < 100; k++) {
      await new Promise((r) => setTimeout(r, k % 3));
      const since = src.now();
      const e = src.make('daemon.stop', { reason: 'test', uptimeMs: 0 });
      bus.publish(e);
      // Subscribing later, as the daemon's workflow runner does once its file has
      // loaded: the event is replayed from history, where the start time applies.
      await tick();
      const got: string[] = [];
      const sub = await bus.subscribe({}, (x) => void got.push(x.id), { start: { from: 'time', time: since } });
      await tick();
      await sub.close();
      assert.deepEqual(
        got.filter((id) => id === e.id),
        [e.id],
        `round ${k}`,
      );
    }
  } finally {
    await bus.close();
  }
});
