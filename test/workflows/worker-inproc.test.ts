// A WorkflowWorker in the test process against a real nats-server (JetStream, loopback,
// free port, temp store), with claims written by hand into the runs bucket to reach the
// paths that process tests can only hit by timing: a live foreign claim (the message is
// handed back until the lease runs out, then taken over after its completed steps), and
// split-brain runs on their own consumer, cancelled by the transition that ends them.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { createEventSource } from '../../infra/events/source.js';
import { silentLogger } from '../../core/logger.js';
import { defineWorkflow, type StepContext } from '../../workflows/define.js';
import { claimFor, runKey } from '../../workflows/claims.js';
import { runsBucketName, WorkflowWorker } from '../../workflows/worker.js';
import type { RunResult } from '../../workflows/run.js';
import { natsFixture, until } from '../infra/events/nats-server.js';
import { samplePayloads } from '../infra/events/fixtures.js';

// Registered before the fixture's hooks, so the workers stop while NATS is still up.
const workers: WorkflowWorker[] = [];
after(async () => {
  for (const w of workers) await w.stop(1000);
});
const fx = natsFixture();

async function scene(cluster: string, workflows: Parameters<typeof WorkflowWorker.start>[0]['workflows']) {
  const bus = fx.bus(cluster, { stateDir: fx.tempDir(), node: 'node-a' });
  assert.ok(await bus.connected(10_000));
  const src = createEventSource({ cluster, node: 'node-a', seq: bus.seq });
  bus.publish(src.make('daemon.start', samplePayloads['daemon.start']));
  assert.ok(await bus.flush(10_000), 'stream exists');
  const finished: RunResult[] = [];
  const worker = WorkflowWorker.start({
    servers: fx.server.url,
    cluster,
    name: 'solo',
    workflows,
    log: silentLogger(),
    onFinished: (r) => void finished.push(r),
  });
  workers.push(worker);
  await worker.ready;
  return { bus, src, worker, finished };
}

const hold = (ctx: StepContext, ms: number) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    ctx.signal.addEventListener('abort', () => (clearTimeout(t), reject(ctx.signal.reason)), { once: true });
  });

test('a live claim of another worker: the message is handed back, then the run is taken over after its completed steps', async () => {
  const ran: string[] = [];
  const w = defineWorkflow({
    name: 'two',
    on: { to: 'MASTER' },
    steps: [
      { name: 'first', run: () => void ran.push('first') },
      { name: 'second', run: () => void ran.push('second') },
    ],
  });
  const { bus, src, worker, finished } = await scene('claims', [w]);
  const e = src.make('instance.transition', { ...samplePayloads['instance.transition'], instance: 'VI_1' });
  const nc = await connect({ servers: fx.server.url });
  try {
    const kv = await new Kvm(nc).open(runsBucketName('claims'));
    // A worker that ran `first` and then went silent, its lease good for 1.5 s more.
    await kv.create(runKey(e.id, 'two'), JSON.stringify(renewedGhost(Date.now() + 1500)));
    const t0 = Date.now();
    bus.publish(e);
    await until(() => finished.length === 1, 15_000, 'the run finished');
    assert.ok(Date.now() - t0 >= 1000, 'not before the foreign lease ran out');
    assert.deepEqual(ran, ['second'], 'the completed step is not run again');
    assert.equal(finished[0]!.status, 'succeeded');
    assert.ok(worker.stats.waits >= 1, 'handed back at least once');
    assert.equal(worker.stats.takeovers, 1);
    const rec = await kv.get(runKey(e.id, 'two'));
    assert.equal(rec?.json<{ state: string }>().state, 'finished');
  } finally {
    await nc.close();
  }
});

function renewedGhost(leaseUntil: number) {
  return { ...claimFor('ghost#000000', 0, 0), leaseUntil, completed: ['first'] };
}

test('split-brain workflows run off their own consumer and are cancelled by the instance transition that ends the double Master', async () => {
  const trail: string[] = [];
  const fence = defineWorkflow({
    name: 'fence',
    on: { to: 'split_brain' },
    steps: [
      { name: 'page', run: () => void trail.push('page'), compensate: () => void trail.push('unpage') },
      { name: 'wait', run: (ctx) => (trail.push('wait'), hold(ctx as StepContext, 10_000)) },
    ],
  });
  const { bus, src, finished } = await scene('sb', [fence]);
  const other = createEventSource({ cluster: 'sb', node: 'node-b', seq: { next: () => 1 } });
  bus.publish(src.make('cluster.split_brain', { instance: 'VI_1', vrid: 51, masters: ['node-a', 'node-b'] }));
  await until(() => trail.includes('wait'), 10_000, 'split-brain run waiting');
  // node-b steps down: a transition of the instance on another node ends the split brain.
  bus.publish(other.make('instance.transition', { ...samplePayloads['instance.transition'], instance: 'VI_1', from: 'master', to: 'backup' }));
  await until(() => finished.length === 1, 10_000, 'run ended');
  assert.equal(finished[0]!.status, 'cancelled');
  assert.deepEqual(trail, ['page', 'wait', 'unpage']);
});

test('a backlog of Master then Backup while no worker ran: the superseded Master starts nothing, the Backup runs', async () => {
  const ran: string[] = [];
  const note = defineWorkflow({ name: 'note', on: { to: ['MASTER', 'BACKUP'] }, steps: [{ name: 's', run: (ctx) => void ran.push(ctx.event.data.to) }] });
  const first = await scene('backlog', [note]);
  await first.worker.stop(1000); // the durable consumers stay, and keep what arrives meanwhile
  const { bus, src } = first;
  const master = src.make('instance.transition', { ...samplePayloads['instance.transition'], instance: 'VI_1', from: 'backup', to: 'master' });
  const backup = src.make('instance.transition', { ...samplePayloads['instance.transition'], instance: 'VI_1', from: 'master', to: 'backup' });
  bus.publish(master);
  bus.publish(backup);
  assert.ok(await bus.flush(10_000));
  const finished: RunResult[] = [];
  const worker = WorkflowWorker.start({
    servers: fx.server.url,
    cluster: 'backlog',
    name: 'late',
    workflows: [note],
    log: silentLogger(),
    onFinished: (r) => void finished.push(r),
  });
  workers.push(worker);
  await until(() => finished.length === 1 && worker.stats.superseded === 1, 10_000, 'backlog handled');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(ran, ['backup']);
  assert.equal(finished.length, 1);
});

test('checker workflows run in workers off their own consumers: realserver_down and quorum_down, once each', async () => {
  const ran: string[] = [];
  const drain = defineWorkflow({
    name: 'drain',
    on: { to: 'realserver_down', realServer: '198.18.1.1:80' },
    steps: [{ name: 'note', run: (ctx) => void ran.push(`drain:${ctx.event.data.reason}`) }],
  });
  const page = defineWorkflow({
    name: 'page',
    on: { to: 'quorum_down' },
    steps: [{ name: 'note', run: (ctx) => void ran.push(`page:${ctx.event.data.liveWeight}`) }],
  });
  const { bus, src, finished } = await scene('chk', [drain, page]);
  bus.publish(src.make('realserver.down', samplePayloads['realserver.down']));
  bus.publish(src.make('realserver.down', { ...samplePayloads['realserver.down'], realServer: '198.18.0.100:80/198.18.1.2:80' }));
  bus.publish(src.make('virtualserver.quorum', { ...samplePayloads['virtualserver.quorum'], up: true }));
  bus.publish(src.make('virtualserver.quorum', samplePayloads['virtualserver.quorum']));
  await until(() => finished.length === 2, 10_000, 'two runs');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(ran.sort(), ['drain:status', 'page:1']);
  assert.equal(finished.length, 2, 'the other real server and quorum up start nothing');
  assert.ok(finished.every((r) => r.status === 'succeeded'));
});
