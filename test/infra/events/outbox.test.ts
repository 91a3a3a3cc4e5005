/** The outbox with a scripted transport: ordering across memory and disk, partial acks, restarts. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox, type OutboxTransport, type SendResult } from '../../../infra/events/outbox.js';
import { createEventSource } from '../../../infra/events/source.js';
import type { VipflowEvent } from '../../../infra/events/schema.js';
import { PassThrough } from 'node:stream';
import { createLogger, silentLogger } from '../../../core/logger.js';
import { until } from './nats-server.js';
import { transition } from './fixtures.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'vipflow-outbox-'));
  dirs.push(d);
  return d;
}

/** A bus that stores what it acknowledges, drops ids it already has (like JetStream), and can be taken down. */
class FakeBus implements OutboxTransport {
  ready = true;
  stored: VipflowEvent[] = [];
  private ids = new Set<string>();
  /** When set, only this many events of the next send are acknowledged. */
  ackLimit: number | null = null;
  async send(events: readonly VipflowEvent[]): Promise<SendResult> {
    await new Promise((r) => setImmediate(r));
    if (!this.ready) return { acked: 0, error: new Error('down') };
    const n = this.ackLimit === null ? events.length : Math.min(this.ackLimit, events.length);
    this.ackLimit = null;
    for (const e of events.slice(0, n)) {
      if (!this.ids.has(e.id)) this.stored.push(e);
      this.ids.add(e.id);
    }
    return n === events.length ? { acked: n } : { acked: n, error: new Error('partial') };
  }
}

function open(dir: string, transport: OutboxTransport, memoryLimit = 50): Outbox {
  return new Outbox({ stateDir: dir, log: silentLogger(), transport, memoryLimit, window: 16, retryMinMs: 5, retryMaxMs: 20 });
}

/** Runs an outbox on `dir` with the bus down, queues n events, closes it: they are left for the next start. */
async function leaveUndelivered(dir: string, n: number): Promise<VipflowEvent[]> {
  const down = new FakeBus();
  down.ready = false;
  const first = open(dir, down);
  const src = createEventSource({ cluster: 'dc1', node: 'n1', seq: first.seq });
  const old = Array.from({ length: n }, (_, i) => transition(src, 'VI_1', 'master', `old${i}`));
  for (const e of old) first.enqueue(e);
  await first.close();
  return old;
}

test('events queued while the bus is down go to memory, then disk, and drain in order once', async () => {
  const fake = new FakeBus();
  fake.ready = false;
  const ob = open(tempDir(), fake);
  const src = createEventSource({ cluster: 'dc1', node: 'n1', seq: ob.seq });
  const sent = Array.from({ length: 400 }, (_, i) => transition(src, 'VI_1', 'master', `r${i}`));
  for (const e of sent) ob.enqueue(e);
  assert.deepEqual({ mem: ob.stats().inMemory, disk: ob.stats().spilled }, { mem: 50, disk: 350 });
  fake.ready = true;
  ob.transportChanged();
  await until(() => ob.queued === 0, 5000, 'drain');
  assert.deepEqual(
    fake.stored.map((e) => e.id),
    sent.map((e) => e.id),
  );
  await ob.close();
});

test('a partial acknowledgement resends from the first unacknowledged event', async () => {
  const fake = new FakeBus();
  const ob = open(tempDir(), fake);
  const src = createEventSource({ cluster: 'dc1', node: 'n1', seq: ob.seq });
  fake.ackLimit = 3;
  const sent = Array.from({ length: 40 }, (_, i) => transition(src, 'VI_1', 'backup', `r${i}`));
  for (const e of sent) ob.enqueue(e);
  await until(() => ob.queued === 0, 5000, 'drain');
  assert.deepEqual(
    fake.stored.map((e) => e.id),
    sent.map((e) => e.id),
  );
  assert.ok(ob.stats().failures >= 1);
  await ob.close();
});

test('after close, a new outbox on the same dir sends the saved events first, then new ones; seq continues', async () => {
  const dir = tempDir();
  const old = await leaveUndelivered(dir, 120);
  const lines = readFileSync(join(dir, 'outbox.spill.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 120, 'memory and disk parts saved, memory first');
  assert.equal(JSON.parse(lines[0]!).id, old[0]!.id);

  const up = new FakeBus();
  up.ready = false;
  const second = open(dir, up);
  const src2 = createEventSource({ cluster: 'dc1', node: 'n1', seq: second.seq });
  const fresh = Array.from({ length: 30 }, (_, i) => transition(src2, 'VI_1', 'backup', `new${i}`));
  for (const e of fresh) second.enqueue(e);
  assert.equal(second.queued, 150);
  up.ready = true;
  second.transportChanged();
  await until(() => second.queued === 0, 5000, 'drain');
  assert.deepEqual(
    up.stored.map((e) => e.id),
    [...old, ...fresh].map((e) => e.id),
  );
  assert.equal(fresh[0]!.seq, 121, 'a clean stop leaves no gap in seq');
  await second.close();
});

test('a torn line at the end of the spill file (crash mid-write) is skipped; the rest is delivered', async () => {
  const dir = tempDir();
  const old = await leaveUndelivered(dir, 5);
  appendFileSync(join(dir, 'outbox.spill.jsonl'), '{"schema":"vipflow.event/v1","id":"tor');
  const up = new FakeBus();
  const second = open(dir, up);
  await until(() => second.queued === 0, 5000, 'drain');
  assert.deepEqual(
    up.stored.map((e) => e.id),
    old.map((e) => e.id),
  );
  assert.equal(second.stats().corrupt, 1);
  await second.close();
});

test('enqueue never throws and stays fast even when the spill file is the only way left', () => {
  const fake = new FakeBus();
  fake.ready = false;
  const ob = open(tempDir(), fake, 10);
  const src = createEventSource({ cluster: 'dc1', node: 'n1', seq: ob.seq });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 5000; i++) ob.enqueue(transition(src, 'VI_1', 'master'));
  const perEventUs = Number(process.hrtime.bigint() - t0) / 1000 / 5000;
  assert.ok(perEventUs < 200, `${perEventUs.toFixed(1)} us per enqueue`);
  return ob.close();
});

test('an outage and the recovery are logged with the queue size', async () => {
  const out = new PassThrough();
  const lines: { msg: string; inMemory?: number; spilled?: number }[] = [];
  out.on('data', (c: Buffer) =>
    c
      .toString()
      .trim()
      .split('\n')
      .forEach((l) => lines.push(JSON.parse(l))),
  );
  const fake = new FakeBus();
  fake.ready = false;
  const ob = new Outbox({ stateDir: tempDir(), log: createLogger({ destination: out }), transport: fake, memoryLimit: 5, window: 4, retryMinMs: 5 });
  const src = createEventSource({ cluster: 'dc1', node: 'n1', seq: ob.seq });
  for (let i = 0; i < 8; i++) ob.enqueue(transition(src, 'VI_1', 'master'));
  await until(() => lines.some((l) => /bus unavailable/.test(l.msg)), 5000, 'outage log');
  assert.ok(lines.some((l) => /spilling events to disk/.test(l.msg)));
  const down = lines.find((l) => /bus unavailable/.test(l.msg))!;
  assert.deepEqual([down.inMemory, down.spilled], [5, 3]);
  fake.ready = true;
  ob.transportChanged();
  await until(() => lines.some((l) => /reachable again/.test(l.msg)), 5000, 'recovery log');
  assert.equal(fake.stored.length, 8);
  await ob.close();
});

test('a crash (no close) keeps what was spilled: the next outbox sends it, in order', async () => {
  const dir = tempDir();
  const down = new FakeBus();
  down.ready = false;
  const crashed = open(dir, down, 10);
  const src = createEventSource({ cluster: 'dc1', node: 'n1', seq: crashed.seq });
  const evs = Array.from({ length: 30 }, (_, i) => transition(src, 'VI_1', 'master', `e${i}`));
  for (const e of evs) crashed.enqueue(e);
  const spillFile = join(dir, 'outbox.spill.jsonl');
  await until(() => readFileSync(spillFile, 'utf8').split('\n').length === 21, 5000, 'spill written');
  const up = new FakeBus();
  const next = open(dir, up, 10);
  await until(() => next.queued === 0, 5000, 'drain');
  // The 10 in memory died with the process (documented); the 20 on disk were sent.
  assert.deepEqual(
    up.stored.map((e) => e.id),
    evs.slice(10).map((e) => e.id),
  );
  const fresh = createEventSource({ cluster: 'dc1', node: 'n1', seq: next.seq }).make('daemon.stop', { reason: 'test', uptimeMs: 1 });
  assert.ok(fresh.seq > evs.at(-1)!.seq, 'seq stays monotonic after a crash (reserved blocks)');
  await next.close();
  await crashed.close();
});
