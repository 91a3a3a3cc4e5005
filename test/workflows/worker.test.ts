// Real processes: a nats-server (JetStream, loopback, free port, temp store) and
// `vipflow worker` processes sharing the cluster's durable consumers; transitions are
// published through NatsBus exactly as a daemon publishes them. The fixture workflow
// (fixtures/worker.workflows.ts) writes every step it runs to a trail file.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { subjectFor } from '../../infra/events/subjects.js';
import type { VipflowEvent } from '../../infra/events/schema.js';
import { durableName } from '../../workflows/worker.js';
import { streamEvents, until, workerScene } from './worker-procs.js';

const CLUSTER = 'wk';

describe('vipflow worker processes on JetStream', () => {
  const scene = workerScene(CLUSTER);
  const { transition, linesFor, finishedFor } = scene;
  const workers = scene.workers;
  const publish = (e: VipflowEvent) => scene.bus.publish(e);
  const spawnWorker = async (name: string) => {
    const w = scene.worker(name);
    assert.ok(await w.waitForLog('worker consuming', 30_000), `${name} starts consuming`);
    return w;
  };

  /** Publishes a Master transition whose run holds `holdMs` in its second step; resolves inside that step with the worker running it. */
  const heldRun = async (instance: string, holdMs: number) => {
    const e = transition(instance, 'master', `hold:${holdMs}`);
    publish(e);
    await until(() => linesFor(e.id).some((l) => l.what === 'begin'), 10_000, 'run inside its hold step');
    const name = linesFor(e.id)[0]!.worker;
    return { e, name, proc: workers.find((w) => w.name === name)! };
  };
  /** The run's trail with the first worker called `first` and any other `other`. */
  const handover = (e: VipflowEvent, firstWorker: string, first: string, other: string) =>
    linesFor(e.id).map((l) => `${l.what} ${l.key.slice(e.id.length)} ${l.worker === firstWorker ? first : other}`);

  before(async () => {
    await Promise.all(['w1', 'w2', 'w3'].map((n) => spawnWorker(n)));
  });

  test('three workers, thirty transitions: every workflow runs exactly once and the load is shared', async () => {
    const events = Array.from({ length: 30 }, (_, i) => transition(`L_${i}`, 'master', 'hold:100'));
    for (const e of events) publish(e);
    await until(() => events.every((e) => linesFor(e.id).filter((l) => l.what === 'run').length === 2), 30_000, 'thirty runs');
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would show up in this pause
    const byWorker = new Map<string, number>();
    for (const e of events) {
      const lines = linesFor(e.id);
      assert.deepEqual(
        lines.map((l) => `${l.what} ${l.key.slice(e.id.length)}`),
        ['run /trail/first', 'begin /trail/hold', 'run /trail/hold'],
        `${e.data.instance}: each step once`,
      );
      assert.equal(new Set(lines.map((l) => l.worker)).size, 1, 'one worker per run');
      byWorker.set(lines[0]!.worker, (byWorker.get(lines[0]!.worker) ?? 0) + 1);
    }
    assert.ok(byWorker.size > 1, `load shared: ${JSON.stringify([...byWorker])}`);
    await until(
      async () => {
        const fin = await streamEvents(scene.server.url, CLUSTER, ['workflow.finished']);
        return events.every((e) => fin.some((f) => f.type === 'workflow.finished' && f.data.runId === `${e.id}/trail` && f.data.status === 'succeeded'));
      },
      10_000,
      'workflow.finished events',
    );
    const fin = await streamEvents(scene.server.url, CLUSTER, ['workflow.finished']);
    for (const e of events)
      assert.equal(fin.filter((f) => f.type === 'workflow.finished' && f.data.runId === `${e.id}/trail`).length, 1, 'one workflow.finished per run');
  });

  test('Master then Backup within a second: the Master run is cancelled on its worker and compensated; Backup runs elsewhere', async () => {
    const { e: master, name: masterWorker } = await heldRun('S_1', 8000);
    const backup = transition('S_1', 'backup', 'quick');
    publish(backup);
    await until(
      () => linesFor(master.id).some((l) => l.what === 'undo') && linesFor(backup.id).filter((l) => l.what === 'run').length === 2,
      10_000,
      'cancel, compensation and the Backup run',
    );
    const m = linesFor(master.id).map((l) => `${l.what} ${l.key.slice(master.id.length)} ${l.worker}`);
    assert.deepEqual(
      m,
      [`run /trail/first ${masterWorker}`, `begin /trail/hold ${masterWorker}`, `undo /trail/first ${masterWorker}`],
      'hold never completed; first compensated',
    );
    // Every worker runs one workflow at a time (--concurrency 1), so the Backup ran on another worker.
    assert.notEqual(linesFor(backup.id)[0]!.worker, masterWorker, 'cancelled across workers');
    await until(async () => (await finishedFor(master.id)).length === 1, 10_000, 'Master workflow.finished');
    const [fin] = await finishedFor(master.id);
    assert.equal(fin?.type === 'workflow.finished' && fin.data.status, 'cancelled');
  });

  test('a redelivered, already finished event is acknowledged without running again', async () => {
    const e = transition('R_1', 'master', 'quick');
    publish(e);
    await until(() => linesFor(e.id).filter((l) => l.what === 'run').length === 2, 10_000, 'first run');
    await until(async () => (await finishedFor(e.id)).length === 1, 10_000, 'workflow.finished');
    // The same event stored again under another message id: what an outbox resend after
    // the dedup window, or a consumer reset, delivers to the workers.
    const nc = await connect({ servers: scene.server.url });
    try {
      await jetstream(nc).publish(subjectFor(e), JSON.stringify(e), { msgID: `${e.id}#again` });
      const jsm = await jetstreamManager(nc);
      await until(
        async () => {
          const i = await jsm.consumers.info(`VIPFLOW_${CLUSTER}`, durableName('instance.transition'));
          return i.num_pending === 0 && i.num_ack_pending === 0;
        },
        10_000,
        'redelivery acknowledged',
      );
    } finally {
      await nc.close();
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(linesFor(e.id).length, 3, 'no step ran again');
    assert.equal((await finishedFor(e.id)).length, 1, 'no second workflow.finished');
    assert.ok(
      workers.some((w) => w.lines.some((l) => l.msg === 'run already finished; acknowledged without running')),
      'a worker logged the skip',
    );
  });

  test('SIGTERM past the stop bound: the run is handed over at once, not compensated, and completes once elsewhere', async () => {
    const { e, name: leaverName, proc: leaver } = await heldRun('G_1', 6000);
    // The fixture's workers get 3 s to finish at SIGTERM; this step needs 6.
    process.kill(leaver.pid, 'SIGTERM');
    assert.equal(await leaver.exited, 0);
    const exitedAt = Date.now();
    await until(() => linesFor(e.id).filter((l) => l.what === 'begin').length === 2, 15_000, 'another worker resumed the run');
    const tookMs = Date.now() - exitedAt;
    // Released claim + nak: no wait for ack_wait (5 s) and the lease (5 s); 3 s is margin for a loaded machine.
    assert.ok(tookMs < 3000, `resumed ${tookMs} ms after the exit`);
    await until(() => linesFor(e.id).some((l) => l.what === 'run' && l.key.endsWith('/hold')), 15_000, 'the run completed');
    assert.deepEqual(
      handover(e, leaverName, 'leaver', 'other'),
      ['run /trail/first leaver', 'begin /trail/hold leaver', 'begin /trail/hold other', 'run /trail/hold other'],
      'no compensation by the leaver; first not rerun',
    );
    await until(async () => (await finishedFor(e.id)).length >= 1, 10_000, 'workflow.finished');
    assert.equal((await finishedFor(e.id)).length, 1);
    await spawnWorker('w5');
  });

  test('SIGKILL of the worker inside a step: another worker completes the run, once', async () => {
    const { e, name: victimName, proc: victim } = await heldRun('K_1', 1500);
    process.kill(victim.pid, 'SIGKILL');
    await victim.exited;
    const killedAt = Date.now();
    await until(() => linesFor(e.id).filter((l) => l.what === 'run' && l.key.endsWith('/hold')).length >= 1, 20_000, 'the run completed elsewhere');
    const tookMs = Date.now() - killedAt;
    await until(async () => (await finishedFor(e.id)).length >= 1, 10_000, 'workflow.finished');
    await new Promise((r) => setTimeout(r, 500));
    const survivor = linesFor(e.id).find((l) => l.what === 'run' && l.key.endsWith('/hold'))!.worker;
    assert.notEqual(survivor, victimName);
    assert.deepEqual(
      handover(e, victimName, 'victim', 'survivor'),
      ['run /trail/first victim', 'begin /trail/hold victim', 'begin /trail/hold survivor', 'run /trail/hold survivor'],
      'the completed step is not run again; the interrupted one is resumed',
    );
    const fin = await finishedFor(e.id);
    assert.equal(fin.length, 1, 'one workflow.finished');
    assert.equal(fin[0]?.type === 'workflow.finished' && fin[0].data.status, 'succeeded');
    assert.equal(fin[0]?.node, survivor, 'finished by the survivor');
    // ack_wait 5 s + lease 5 s + the 1.5 s step, with margin for a loaded machine.
    assert.ok(tookMs < 15_000, `taken over in ${tookMs} ms`);
  });
});
