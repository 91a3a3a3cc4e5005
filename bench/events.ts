/**
 * Benchmark of the event path (a script, not a test): NatsBus → outbox → local
 * nats-server (JetStream, loopback) → ordered consumer in a second process (this
 * script again, with --consumer), so the publishing process carries only what a
 * daemon would: the VRRP stand-in timer and the outbox.
 *
 *   npx tsx bench/events.ts            # full counts
 *   npx tsx bench/events.ts --quick    # smaller counts
 *   IN_THREAD=1 npx tsx bench/events.ts   # publish from the main thread (no worker), to compare
 *   WINDOW=64 npx tsx bench/events.ts     # another outbox window (default 256)
 *
 * 1. Latency: publish() to the consumer's handler, one event per ms (timestamps are
 *    the event's own monoNs: hrtime is CLOCK_MONOTONIC, shared by both processes).
 *    Target p99 < 5 ms.
 * 2. Throughput: events offered at 20,000/s (paced every 10 ms) through one outbox,
 *    then a burst published as fast as the producer can (1,000 per macrotask);
 *    delivered/s measured at the consumer.
 *    Target 20,000/s sustained.
 * 3. Meanwhile a 10 ms setInterval stands in for VRRP adverts: its lateness
 *    (actual - 10 ms) p50/p99/max, against the same timer with the bus idle.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer } from '../infra/events/local-nats.js';
import { NatsBus } from '../infra/events/nats-bus.js';
import { createEventSource, type EventSource } from '../infra/events/source.js';
import type { VipflowEvent } from '../infra/events/schema.js';
import { silentLogger } from '../core/logger.js';
import { fmt, table } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? Number.NaN;
}

/** A 10 ms timer recording how late each tick fires (ms). */
function advertTimer(): { stop(): number[] } {
  const late: number[] = [];
  let last = performance.now();
  const t = setInterval(() => {
    const now = performance.now();
    late.push(now - last - 10);
    last = now;
  }, 10);
  return {
    stop() {
      clearInterval(t);
      return late;
    },
  };
}

function transition(src: EventSource, i: number): VipflowEvent {
  return src.make('instance.transition', {
    instance: `VI_${i % 16}`,
    vrid: 1 + (i % 16),
    family: 'ipv4',
    interface: 'eth0',
    from: i % 2 ? 'backup' : 'master',
    to: i % 2 ? 'master' : 'backup',
    reason: 'bench',
    effectivePriority: 100,
    basePriority: 100,
    masterSeen: '198.18.0.2',
    advertIntervalCs: 100,
  });
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}

type FromConsumer = { type: 'ready' } | { type: 'count'; n: number } | { type: 'latencies'; values: number[] };
type ToConsumer = { type: 'count' } | { type: 'record'; on: boolean };

/** The consumer process: counts events, records latencies when asked, answers over IPC. */
async function consumerMain(url: string): Promise<void> {
  const reader = new NatsBus({ servers: url, cluster: 'bench', log: silentLogger(), manageStream: false });
  let n = 0;
  let rec: number[] | null = null;
  const handler = (e: VipflowEvent) => {
    n++;
    if (rec) rec.push(Number(process.hrtime.bigint() - BigInt(e.monoNs)) / 1e6);
  };
  // The publisher creates the stream when it connects; wait for it (bounded).
  let sub;
  for (let attempt = 0; !sub; attempt++) {
    try {
      sub = await reader.subscribe({}, handler, { start: { from: 'new' } });
    } catch (err) {
      if (attempt >= 100) throw err;
      await sleep(100);
    }
  }
  const subscription = sub;
  const send = (m: FromConsumer) => process.send!(m);
  process.on('message', (m: ToConsumer) => {
    if (m.type === 'count') send({ type: 'count', n });
    else if (m.on) rec = [];
    else {
      send({ type: 'latencies', values: rec ?? [] });
      rec = null;
    }
  });
  process.once(
    'disconnect',
    () =>
      void subscription
        .close()
        .then(() => reader.close())
        .then(() => process.exit(0)),
  );
  send({ type: 'ready' });
}

if (process.argv[2] === '--consumer') await consumerMain(process.argv[3]!);
else await main();

async function main(): Promise<void> {
  const server = await startNatsServer();
  const stateDir = mkdtempSync(join(tmpdir(), 'vipflow-bench-events-'));
  const log = silentLogger();
  const pub = new NatsBus({
    servers: server.url,
    cluster: 'bench',
    node: 'n1',
    log,
    stateDir,
    memoryLimit: 50_000,
    window: Number(process.env.WINDOW ?? 0) || undefined,
    publishInWorker: process.env.IN_THREAD !== '1',
  });
  const consumer = fork(fileURLToPath(import.meta.url), ['--consumer', server.url], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T extends FromConsumer['type']>(m: ToConsumer, reply: T): Promise<Extract<FromConsumer, { type: T }>> =>
    new Promise((resolve) => {
      const on = (r: FromConsumer) => {
        if (r.type !== reply) return;
        consumer.off('message', on);
        resolve(r as Extract<FromConsumer, { type: T }>);
      };
      consumer.on('message', on);
      consumer.send(m);
    });
  const consumerReady = new Promise<void>((resolve) => consumer.on('message', (m: FromConsumer) => m.type === 'ready' && resolve()));
  const received = async () => (await ask({ type: 'count' }, 'count')).n;
  async function receivedAtLeast(n: number, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while ((await received()) < n) {
      if (Date.now() > end) return false;
      await sleep(20);
    }
    return true;
  }
  try {
    if (!(await pub.connected(10_000))) throw new Error('publisher did not connect');
    const src = createEventSource({ cluster: 'bench', node: 'n1', seq: pub.seq });
    // The stream must exist before the consumer subscribes.
    pub.publish(transition(src, 0));
    await until(() => pub.outboxStats()!.delivered === 1, 10_000);
    await consumerReady;

    // Idle baseline for the timer.
    const idle = advertTimer();
    await sleep(quick ? 1000 : 3000);
    const idleLate = idle.stop();

    // 1. Latency at a light, steady rate.
    const nLat = quick ? 500 : 2000;
    consumer.send({ type: 'record', on: true } satisfies ToConsumer);
    await received(); // the switch is in effect once a later request is answered
    for (let i = 0; i < nLat; i++) {
      pub.publish(transition(src, i));
      await sleep(1);
    }
    const base = 1;
    await receivedAtLeast(base + nLat, 10_000);
    const lat = (await ask({ type: 'record', on: false }, 'latencies')).values;

    // 2+3. Sustained offered load of 20,000/s with the advert timer running.
    const rate = 20_000;
    const seconds = quick ? 2 : 5;
    const timer = advertTimer();
    const before = await received();
    const t0 = performance.now();
    let offered = 0;
    let maxQueued = 0;
    while (performance.now() - t0 < seconds * 1000) {
      const due = Math.round(((performance.now() - t0) / 1000) * rate);
      while (offered < due) pub.publish(transition(src, offered++));
      const s = pub.outboxStats()!;
      maxQueued = Math.max(maxQueued, s.inMemory + s.spilled);
      await sleep(10);
    }
    const drained = await receivedAtLeast(before + offered, 30_000);
    const tSustain = (performance.now() - t0) / 1000;
    const sustainLate = timer.stop();

    // Burst: how fast one outbox empties a backlog.
    const burst = quick ? 20_000 : 100_000;
    const timer2 = advertTimer();
    const b0 = await received();
    const acked0 = pub.outboxStats()!.delivered;
    const tb = performance.now();
    // Published 1,000 per macrotask: the producer yields as a daemon would, so the
    // timer's lateness shows the outbox's share, not one 100,000-call loop.
    let publishMs = 0;
    for (let i = 0; i < burst;) {
      const c0 = performance.now();
      for (const end = Math.min(burst, i + 1000); i < end; i++) pub.publish(transition(src, i));
      publishMs += performance.now() - c0;
      await new Promise((r) => setImmediate(r));
    }
    let tAcked = Number.NaN;
    const watch = setInterval(() => {
      if (Number.isNaN(tAcked) && pub.outboxStats()!.delivered - acked0 >= burst) tAcked = (performance.now() - tb) / 1000;
    }, 5);
    await receivedAtLeast(b0 + burst, 60_000);
    await until(() => !Number.isNaN(tAcked), 60_000);
    clearInterval(watch);
    const tBurst = (performance.now() - tb) / 1000;
    const burstLate = timer2.stop();

    const rows = [
      ['figure', 'p50', 'p99', 'max', 'n'],
      ['publish→consumer latency (ms)', fmt(pct(lat, 0.5), 3), fmt(pct(lat, 0.99), 3), fmt(pct(lat, 1), 3), String(lat.length)],
      ['10 ms timer lateness, bus idle (ms)', fmt(pct(idleLate, 0.5), 3), fmt(pct(idleLate, 0.99), 3), fmt(pct(idleLate, 1), 3), String(idleLate.length)],
      [
        `10 ms timer lateness, ${rate}/s offered (ms)`,
        fmt(pct(sustainLate, 0.5), 3),
        fmt(pct(sustainLate, 0.99), 3),
        fmt(pct(sustainLate, 1), 3),
        String(sustainLate.length),
      ],
      [
        `10 ms timer lateness, ${burst} burst (ms)`,
        fmt(pct(burstLate, 0.5), 3),
        fmt(pct(burstLate, 0.99), 3),
        fmt(pct(burstLate, 1), 3),
        String(burstLate.length),
      ],
    ];
    process.stdout.write(table(rows) + '\n\n');
    process.stdout.write(
      [
        `sustained: offered ${offered} events at ${rate}/s for ${seconds} s; all received: ${drained}; ` +
          `${fmt(offered / tSustain, 0)} events/s end to end; largest outbox queue ${maxQueued}`,
        `burst: ${burst} publish() calls took ${fmt(publishMs, 1)} ms (${fmt((publishMs * 1000) / burst, 2)} us each); ` +
          `acknowledged by JetStream in ${fmt(tAcked, 2)} s = ${fmt(burst / tAcked, 0)} events/s through the outbox; ` +
          `received by the consumer process in ${fmt(tBurst, 2)} s = ${fmt(burst / tBurst, 0)} events/s`,
        `targets: latency p99 < 5 ms: ${pct(lat, 0.99) < 5 ? 'met' : 'MISSED'}; ` +
          `20,000 events/s through the outbox: ${burst / tAcked >= 20_000 ? 'met' : 'MISSED'}`,
      ].join('\n') + '\n',
    );
  } finally {
    consumer.disconnect();
    await new Promise((r) => consumer.once('exit', r));
    await pub.close();
    await server.dispose();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
