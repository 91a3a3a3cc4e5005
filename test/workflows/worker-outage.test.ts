// Real processes: a nats-server (JetStream, loopback, free port, temp store) that the
// test stops and restarts on the same port and store, and one `vipflow worker` process.
// Checks that NATS being away at start or in the middle of a run is survived, and that
// SIGTERM lets a running workflow finish before the exit.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { until, workerScene, type WorkerProc } from './worker-procs.js';

describe('vipflow worker across NATS outages and SIGTERM', () => {
  const scene = workerScene('wko');
  let worker: WorkerProc | null = null;
  const transition = (instance: string, reason: string) => scene.transition(instance, 'master', reason);
  const lines = (eventId: string) => scene.linesFor(eventId).map((l) => `${l.what} ${l.key.slice(eventId.length)}`);
  const finished = scene.finishedFor;

  test('NATS down at start: the worker says so, keeps retrying, and consumes once NATS is up', async () => {
    // Published before any worker existed: the first worker's consumer starts with what comes after it.
    const before = transition('P_1', 'quick');
    scene.bus.publish(before);
    assert.ok(await scene.bus.flush(10_000), 'stored');
    await scene.server.stop();
    worker = scene.worker('solo');
    assert.ok(await worker.waitForLog('NATS unreachable; retrying until it answers', 30_000), 'outage logged');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(worker.child.exitCode, null, 'still running');
    await scene.server.start();
    assert.ok(await worker.waitForLog('worker consuming', 30_000), 'consuming after NATS came back');
    const consuming = worker.lines.find((l) => l.msg === 'worker consuming')!;
    assert.ok(
      consuming.followFrom && typeof consuming.followFrom === 'object' && 'time' in consuming.followFrom,
      'a new consumer: transitions are followed from its creation, not the stream start',
    );
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(lines(before.id), [], 'history from before the first worker is not run');
  });

  test('NATS down in the middle of a step: the run finishes, and is recorded and acknowledged once NATS is back', async () => {
    const e = transition('O_1', 'hold:2000');
    scene.bus.publish(e);
    await until(() => lines(e.id).includes('begin /trail/hold'), 15_000, 'run inside its hold step');
    await scene.server.stop();
    await until(() => lines(e.id).includes('run /trail/hold'), 10_000, 'step finished during the outage');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(worker!.child.exitCode, null, 'worker survived the outage');
    await scene.server.start();
    await until(async () => (await finished(e.id)).length === 1, 20_000, 'workflow.finished stored after NATS returned');
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(lines(e.id), ['run /trail/first', 'begin /trail/hold', 'run /trail/hold'], 'nothing ran twice');
    const [fin] = await finished(e.id);
    assert.equal(fin?.type === 'workflow.finished' && fin.data.status, 'succeeded');
    assert.ok(
      worker!.lines.some((l) => l.msg === 'NATS connection lost; runs continue, acks and events wait for it'),
      'the loss was logged',
    );
  });

  test('SIGTERM while a step runs: no new work, the run finishes, then the worker exits 0', async () => {
    const e = transition('T_1', 'hold:1000');
    scene.bus.publish(e);
    await until(() => lines(e.id).includes('begin /trail/hold'), 15_000, 'run inside its hold step');
    process.kill(worker!.pid, 'SIGTERM');
    const code = await Promise.race([worker!.exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
    assert.equal(code, 0);
    assert.ok(lines(e.id).includes('run /trail/hold'), 'the running step completed before the exit');
    assert.equal((await finished(e.id)).length, 1, 'its workflow.finished was stored before the exit');
  });
});
