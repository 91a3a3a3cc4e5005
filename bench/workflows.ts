/**
 * Benchmark (a script, not a test): from a transition event being published to the
 * first step of its workflow starting.
 *
 *   npx tsx bench/workflows.ts            # 1000 events per mode
 *   npx tsx bench/workflows.ts --quick    # 200 events per mode
 *
 * (a) in-process: InProcessBus → WorkflowRunner (the daemon with --workflows).
 * (b) worker: NatsBus (outbox, publisher thread, as the daemon publishes) → JetStream on a
 *     loopback nats-server → WorkflowWorker's durable pull consumer → KV claim (create)
 *     → first step. The worker runs in this process, so both ends read one clock.
 * (c) the same with the worker in a process of its own, as deployed: latency is the
 *     step's process.hrtime minus the event's monoNs (both CLOCK_MONOTONIC).
 *
 * Events are paced (one every 2 ms in-process, 5 ms via NATS) so the figures are
 * latency, not queueing; the first 5% are warm-up and not counted.
 * Targets: p99 under 2 ms in-process, under 10 ms via NATS on loopback.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProcessBus, type EventBus } from '../infra/events/bus.js';
import { startNatsServer } from '../infra/events/local-nats.js';
import { NatsBus } from '../infra/events/nats-bus.js';
import { createEventSource, type EventSource } from '../infra/events/source.js';
import type { VipflowEvent } from '../infra/events/schema.js';
import { silentLogger } from '../core/logger.js';
import { defineWorkflow, type Workflow } from '../workflows/define.js';
import { WorkflowRunner } from '../workflows/runner.js';
import { WorkflowWorker } from '../workflows/worker.js';
import { fmt, max, table } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const N = quick ? 200 : Number(process.env.N ?? 1000);
const log = silentLogger();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? Number.NaN;
}

/** A workflow whose first step stamps when it started; a second step stands for real work. */
function stampingWorkflow(started: Map<string, number>): Workflow {
  return defineWorkflow({
    name: 'bench',
    on: { to: 'MASTER' },
    steps: [
      { name: 'first', run: (ctx) => void started.set(ctx.event.id, performance.now()) },
      { name: 'second', run: () => undefined },
    ],
  });
}

function transition(src: EventSource, i: number): VipflowEvent {
  return src.make('instance.transition', {
    instance: `VI_${i % 50}`,
    vrid: 1 + (i % 50),
    family: 'ipv4',
    interface: 'eth0',
    from: 'backup',
    to: 'master',
    reason: 'bench',
    effectivePriority: 100,
    basePriority: 100,
    masterSeen: null,
    advertIntervalCs: 100,
  });
}

/** Publishes N paced events and returns first-step latencies (ms) after warm-up. */
async function drive(bus: EventBus, src: EventSource, started: Map<string, number>, paceMs: number, waitMs = 15_000): Promise<number[]> {
  const sent: { id: string; t0: number }[] = [];
  for (let i = 0; i < N; i++) {
    const e = transition(src, i);
    sent.push({ id: e.id, t0: performance.now() });
    bus.publish(e);
    await sleep(paceMs);
  }
  const end = Date.now() + waitMs;
  while (started.size < N && Date.now() < end) await sleep(20);
  return sent.slice(Math.floor(N * 0.05)).flatMap(({ id, t0 }) => {
    const t1 = started.get(id);
    return t1 === undefined ? [] : [t1 - t0];
  });
}

async function inProcess(): Promise<number[]> {
  const bus = new InProcessBus({ log });
  const src = createEventSource({ cluster: 'bench', node: 'n1', seq: bus.seq });
  const started = new Map<string, number>();
  const runner = await WorkflowRunner.start({ bus, source: src, log, workflows: [stampingWorkflow(started)] });
  const lat = await drive(bus, src, started, 2);
  await runner.close();
  await bus.close();
  return lat;
}

/** A worker in a child process (this script with --worker-child URL): steps report hrtime − monoNs. */
async function childWorker(): Promise<void> {
  const url = process.argv[process.argv.indexOf('--worker-child') + 1]!;
  process.once('disconnect', () => process.exit(1)); // the parent is gone: do not linger
  const lat: number[] = [];
  const w = defineWorkflow({
    name: 'bench',
    on: { to: 'MASTER' },
    steps: [
      { name: 'first', run: (ctx) => void lat.push(Number(process.hrtime.bigint() - BigInt(ctx.event.monoNs)) / 1e6) },
      { name: 'second', run: () => undefined },
    ],
  });
  const worker = WorkflowWorker.start({ servers: url, cluster: 'bench', name: 'bench-child', workflows: [w], log });
  await worker.ready;
  process.send!({ ready: true });
  await new Promise<void>((done) =>
    process.on('message', (m: { report?: boolean }) => {
      if (m.report) void worker.stop(2000).then(() => process.send!({ lat, stats: worker.stats }, () => done()));
    }),
  );
}

async function viaWorker(separate = false): Promise<{ lat: number[]; ran: number; finished: number; stats: WorkflowWorker['stats'] }> {
  const server = await startNatsServer();
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-bench-wf-'));
  const bus = new NatsBus({ servers: server.url, cluster: 'bench', log, stateDir: dir, node: 'n1' });
  let worker: WorkflowWorker | null = null;
  try {
    if (!(await bus.connected(10_000))) throw new Error('NATS not reachable');
    const src = createEventSource({ cluster: 'bench', node: 'n1', seq: bus.seq });
    // The outbox's publisher thread connects on its own, about half a second after the
    // bus: a daemon start event must be stored first, or the first events measure that.
    bus.publish(src.make('daemon.start', { version: 'bench', pid: process.pid, configFile: '-', instances: [] }));
    if (!(await bus.flush(10_000))) throw new Error('publisher not ready');
    const started = new Map<string, number>();
    if (separate) {
      const child = fork(fileURLToPath(import.meta.url), ['--worker-child', server.url], { execArgv: process.execArgv });
      await new Promise<void>((r) => child.once('message', () => r()));
      // Paced as in (b); the latencies come from the child, so nothing is stamped here.
      await drive(bus, src, new Map(), 5, 3000);
      const report = await new Promise<{ lat: number[]; stats: WorkflowWorker['stats'] }>((r) => {
        child.once('message', (m) => r(m as { lat: number[]; stats: WorkflowWorker['stats'] }));
        child.send({ report: true });
      });
      return { lat: report.lat.slice(Math.floor(N * 0.05)), ran: report.lat.length, finished: report.stats.runsFinished, stats: report.stats };
    }
    let finished = 0;
    worker = WorkflowWorker.start({
      servers: server.url,
      cluster: 'bench',
      name: 'bench-worker',
      workflows: [stampingWorkflow(started)],
      log,
      onFinished: () => void finished++,
    });
    await worker.ready;
    const lat = await drive(bus, src, started, 5);
    const end = Date.now() + 10_000;
    while (finished < N && Date.now() < end) await sleep(20);
    return { lat, ran: started.size, finished, stats: { ...worker.stats } };
  } finally {
    await worker?.stop(2000);
    await bus.close();
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  process.stdout.write(`workflow latency: transition published → first step started, ${N} events per mode (5% warm-up excluded)\n`);
  // Tail latencies on a shared machine follow its load: print it with the figures.
  process.stdout.write(
    `machine: ${cpus().length} CPUs, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}\n\n`,
  );
  const a = await inProcess();
  const b = await viaWorker();
  const c = await viaWorker(true);
  const row = (name: string, xs: number[], target: number) => [
    name,
    String(xs.length),
    fmt(pct(xs, 0.5), 3),
    fmt(pct(xs, 0.99), 3),
    fmt(max(xs), 3),
    `${target}`,
    pct(xs, 0.99) < target ? 'yes' : 'NO',
  ];
  process.stdout.write(
    table([
      ['mode', 'n', 'p50 ms', 'p99 ms', 'max ms', 'target p99 ms', 'met'],
      row('in-process (InProcessBus → WorkflowRunner)', a, 2),
      row('worker, same process (NatsBus → JetStream → WorkflowWorker)', b.lat, 10),
      row('worker, own process', c.lat, 10),
    ]) + '\n',
  );
  for (const [name, r] of [
    ['same process', b],
    ['own process', c],
  ] as const) {
    process.stdout.write(
      `\nworker, ${name}: ${r.ran}/${N} first steps ran, ${r.finished}/${N} runs finished (claimed, recorded, events stored, acked); counters ${JSON.stringify(r.stats)}`,
    );
  }
  process.stdout.write('\n');
}

(process.argv.includes('--worker-child') ? childWorker() : main()).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench/workflows: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
