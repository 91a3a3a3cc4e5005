/** The runner on an InProcessBus: matching, supersession, deduplication, published workflow.* events. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineWorkflow, matchesTrigger, type Workflow } from '../../workflows/define.js';
import { WorkflowRunner } from '../../workflows/runner.js';
import type { RunResult } from '../../workflows/run.js';
import { testSource } from '../infra/events/fixtures.js';
import { busWorkflowEvents, log, setup, splitBrain, transitionTo, waitFor } from './helpers.js';

function recorder(name: string, on: Workflow['on'], ran: string[]): Workflow {
  return defineWorkflow({
    name,
    on,
    steps: [{ name: 'note', run: (ctx) => void ran.push(`${name}:${'instance' in ctx.event.data ? ctx.event.data.instance : '-'}`) }],
  });
}

async function startRunner(workflows: Workflow[], extra: { groups?: Record<string, string[]> } = {}) {
  const { bus, src } = setup();
  const finished: RunResult[] = [];
  const runner = await WorkflowRunner.start({ bus, source: src, log, workflows, onFinished: (r) => finished.push(r), ...extra });
  return { bus, src, runner, finished };
}

test('workflows start by state, instance, group and split brain; other nodes and other states start nothing', async () => {
  const ran: string[] = [];
  const { bus, src, runner, finished } = await startRunner(
    [
      recorder('vi1-master', { instance: 'VI_1', to: 'MASTER' }, ran),
      recorder('any-backup-or-fault', { to: ['BACKUP', 'FAULT'] }, ran),
      recorder('group-master', { group: 'G', to: 'MASTER' }, ran),
      recorder('stop', { to: 'STOP' }, ran),
      recorder('fence', { to: 'split_brain' }, ran),
    ],
    { groups: { G: ['VI_2'] } },
  );
  const other = testSource('node-b');
  const events = [
    transitionTo(src, 'VI_1', 'master'),
    transitionTo(src, 'VI_2', 'master'),
    transitionTo(src, 'VI_3', 'fault', 'master'),
    transitionTo(src, 'VI_4', 'stopped', 'master'),
    transitionTo(src, 'VI_5', 'initialize', 'stopped'),
    splitBrain(src, 'VI_1'),
    transitionTo(other, 'VI_1', 'master'),
  ];
  for (const e of events) bus.publish(e);
  await waitFor(() => finished.length === 5);
  await new Promise((r) => setTimeout(r, 20));
  await runner.close();
  assert.deepEqual(ran.sort(), ['any-backup-or-fault:VI_3', 'fence:VI_1', 'group-master:VI_2', 'stop:VI_4', 'vi1-master:VI_1']);
  assert.equal(finished.length, 5);
});

test('matchesTrigger maps MASTER/BACKUP/FAULT/STOP onto the machine states', () => {
  const { src } = setup();
  const w = (to: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP') => defineWorkflow({ name: to, on: { to }, steps: [{ name: 's', run: () => 1 }] });
  assert.ok(matchesTrigger(w('MASTER'), transitionTo(src, 'X', 'master')));
  assert.ok(matchesTrigger(w('BACKUP'), transitionTo(src, 'X', 'backup', 'master')));
  assert.ok(matchesTrigger(w('FAULT'), transitionTo(src, 'X', 'fault')));
  assert.ok(matchesTrigger(w('STOP'), transitionTo(src, 'X', 'stopped')));
  assert.ok(!matchesTrigger(w('MASTER'), transitionTo(src, 'X', 'backup')));
  assert.ok(!matchesTrigger(w('MASTER'), splitBrain(src, 'X')));
  assert.ok(!matchesTrigger(w('MASTER'), src.make('instance.recover', { instance: 'X', vrid: 1, reason: 'r' }) as never));
});

test('a newer transition of the same instance cancels the running run and compensates in reverse order', async () => {
  const trail: string[] = [];
  let waitSignal: AbortSignal | undefined;
  const promote = defineWorkflow({
    name: 'promote',
    on: { instance: 'VI_1', to: 'MASTER' },
    steps: [
      { name: 'a', run: () => void trail.push('run:a'), compensate: () => void trail.push('undo:a') },
      { name: 'b', run: () => void trail.push('run:b'), compensate: () => void trail.push('undo:b') },
      {
        name: 'wait',
        timeoutMs: 5000,
        run: (ctx) => {
          waitSignal = ctx.signal;
          trail.push('run:wait');
          return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
        },
        compensate: () => void trail.push('undo:wait'),
      },
    ],
  });
  const demote = defineWorkflow({ name: 'demote', on: { instance: 'VI_1', to: 'BACKUP' }, steps: [{ name: 'd', run: () => void trail.push('run:demote') }] });
  // Another instance's run must not be touched by VI_1's transitions.
  let vi2Signal: AbortSignal | undefined;
  const vi2 = defineWorkflow({
    name: 'vi2',
    on: { instance: 'VI_2', to: 'MASTER' },
    steps: [
      {
        name: 'hold',
        run: async (ctx) => {
          vi2Signal = ctx.signal;
          await new Promise((r) => setTimeout(r, 60));
        },
      },
    ],
  });
  const { bus, src, runner, finished } = await startRunner([promote, demote, vi2]);
  bus.publish(transitionTo(src, 'VI_2', 'master'));
  const master = transitionTo(src, 'VI_1', 'master');
  bus.publish(master);
  await waitFor(() => trail.includes('run:wait'));
  const backup = transitionTo(src, 'VI_1', 'backup', 'master');
  bus.publish(backup);
  await waitFor(() => finished.length === 3);
  await runner.close();
  const byName = new Map(finished.map((r) => [r.workflow, r]));
  assert.equal(byName.get('promote')?.status, 'cancelled');
  assert.equal(byName.get('demote')?.status, 'succeeded');
  assert.equal(byName.get('vi2')?.status, 'succeeded');
  assert.equal(vi2Signal?.aborted, false);
  assert.ok(waitSignal?.aborted);
  assert.match(String((waitSignal?.reason as Error).message), new RegExp(`superseded by ${backup.id}`));
  assert.deepEqual(
    trail.filter((t) => t !== 'run:demote'),
    ['run:a', 'run:b', 'run:wait', 'undo:b', 'undo:a'],
  );
});

test('the same event id runs a workflow once, and a late older transition starts nothing', async () => {
  let runs = 0;
  const w = defineWorkflow({ name: 'count', on: { to: ['MASTER', 'BACKUP'] }, steps: [{ name: 's', run: () => void runs++ }] });
  const { bus, src, runner, finished } = await startRunner([w]);
  const older = transitionTo(src, 'VI_1', 'backup', 'master');
  const e = transitionTo(src, 'VI_1', 'master');
  bus.publish(e);
  bus.publish(e);
  bus.publish({ ...e });
  await waitFor(() => finished.length === 1);
  runner.handle(e);
  bus.publish(older);
  await new Promise((r) => setTimeout(r, 30));
  await runner.close();
  assert.equal(runs, 1);
  assert.equal(finished.length, 1);
});

test('workflow.* events go out on the bus in order with run, step and trigger fields', async () => {
  const w = defineWorkflow({
    name: 'drain',
    on: { to: 'MASTER' },
    steps: [
      { name: 'one', run: () => undefined },
      {
        name: 'two',
        retry: { attempts: 2, backoffMs: 1 },
        run: (ctx) => {
          if (ctx.attempt === 1) throw new Error('first try fails');
        },
      },
    ],
  });
  const { bus, src, runner, finished } = await startRunner([w]);
  const got = await busWorkflowEvents(bus);
  const e = transitionTo(src, 'VI_1', 'master');
  bus.publish(e);
  await waitFor(() => finished.length === 1 && got.length === 5);
  await runner.close();
  const runId = `${e.id}/drain`;
  assert.deepEqual(
    got.map((g) => [g.type, g.node, g.cluster]),
    Array.from({ length: 5 }, (_, i) => [
      ['workflow.started', 'workflow.step', 'workflow.step', 'workflow.step', 'workflow.finished'][i],
      src.node,
      src.cluster,
    ]),
  );
  const data = got.map((g) => g.data as Record<string, unknown>);
  assert.deepEqual(data[0], { workflow: 'drain', runId, instance: 'VI_1', trigger: e.id });
  assert.deepEqual({ ...data[1], durationMs: 0 }, { workflow: 'drain', runId, instance: 'VI_1', step: 'one', status: 'succeeded', durationMs: 0 });
  assert.equal(data[2]?.step, 'two');
  assert.equal(data[2]?.status, 'failed');
  assert.match(String(data[2]?.error), /^retried: first try fails \(attempt 1\/2, retrying in 1ms\)/);
  assert.equal(data[3]?.status, 'succeeded');
  assert.equal(data[4]?.status, 'succeeded');
  assert.equal(typeof data[4]?.durationMs, 'number');
  const seqs = got.map((g) => g.seq);
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
  );
});

test('a failing workflow is published as failed and never reaches the bus as a handler error', async () => {
  const w = defineWorkflow({
    name: 'broken',
    on: { to: 'MASTER' },
    steps: [
      {
        name: 'throw',
        run: () => {
          throw new Error('kaput');
        },
      },
    ],
  });
  const { bus, src, runner, finished } = await startRunner([w]);
  const got = await busWorkflowEvents(bus);
  bus.publish(transitionTo(src, 'VI_1', 'master'));
  await waitFor(() => got.some((g) => g.type === 'workflow.finished'));
  assert.deepEqual(runner.stats, { delivered: 1, invalid: 0, handlerErrors: 0 });
  await runner.close();
  assert.equal(finished[0]?.status, 'failed');
  const fin = got.find((g) => g.type === 'workflow.finished');
  assert.equal((fin?.data as { status: string }).status, 'failed');
  assert.equal((got.find((g) => g.type === 'workflow.step')?.data as { error?: string }).error, 'kaput');
});

test('a split-brain run is cancelled by the transition that ends the double Master', async () => {
  let started = false;
  const fence = defineWorkflow({
    name: 'fence',
    on: { instance: 'VI_1', to: 'split_brain' },
    steps: [
      {
        name: 'page',
        timeoutMs: 5000,
        run: (ctx) => {
          started = true;
          assert.deepEqual(ctx.event.data.masters, ['node-a', 'node-b']);
          return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
        },
      },
    ],
  });
  const { bus, src, runner, finished } = await startRunner([fence]);
  bus.publish(splitBrain(src, 'VI_1'));
  await waitFor(() => started);
  bus.publish(splitBrain(src, 'VI_1'));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(finished.length, 0, 'a second split-brain event supersedes nothing');
  bus.publish(transitionTo(src, 'VI_1', 'backup', 'master'));
  await waitFor(() => finished.length === 2);
  await runner.close();
  assert.deepEqual(
    finished.map((r) => r.status),
    ['cancelled', 'cancelled'],
  );
});

test('checker triggers: realserver_up / realserver_down / realserver_weight / quorum_up / quorum_down, filtered by virtual and real server', async () => {
  const ran: string[] = [];
  const note = (name: string, on: Workflow['on']) =>
    defineWorkflow({
      name,
      on,
      steps: [
        {
          name: 'note',
          run: (ctx) => {
            const d = ctx.event.data as { realServer?: string; virtualServer?: string };
            ran.push(`${name}:${ctx.event.type}:${d.realServer ?? d.virtualServer}`);
          },
        },
      ],
    });
  const { bus, src, runner, finished } = await startRunner([
    note('drain', { to: 'realserver_down', realServer: '198.18.1.1:80' }),
    note('any-rs', { to: ['realserver_up', 'realserver_down', 'realserver_weight'], virtualServer: '198.18.0.100:80' }),
    note('quorum-lost', { to: 'quorum_down' }),
    note('quorum-back', { to: 'quorum_up', virtualServer: 'fwmark:7' }),
  ]);
  const vs = '198.18.0.100:80';
  const rs1 = `${vs}/198.18.1.1:80`;
  const rs2 = `${vs}/198.18.1.2:80`;
  bus.publish(src.make('realserver.down', { virtualServer: vs, realServer: rs1, reason: 'refused', detail: 'connection refused' }) as never);
  bus.publish(src.make('realserver.down', { virtualServer: vs, realServer: rs2, reason: 'timeout' }) as never);
  bus.publish(src.make('realserver.weight', { virtualServer: vs, realServer: rs2, weight: 3 }) as never);
  bus.publish(src.make('virtualserver.quorum', { virtualServer: vs, up: false, liveWeight: 0, quorum: 1, hysteresis: 0 }) as never);
  bus.publish(src.make('virtualserver.quorum', { virtualServer: vs, up: true, liveWeight: 1, quorum: 1, hysteresis: 0 }) as never);
  bus.publish(src.make('virtualserver.quorum', { virtualServer: 'fwmark:7', up: true, liveWeight: 1, quorum: 1, hysteresis: 0 }) as never);
  await waitFor(() => finished.length === 6);
  await new Promise((r) => setTimeout(r, 20));
  await runner.close();
  assert.deepEqual(ran.sort(), [
    `any-rs:realserver.down:${rs1}`,
    `any-rs:realserver.down:${rs2}`,
    `any-rs:realserver.weight:${rs2}`,
    `drain:realserver.down:${rs1}`,
    'quorum-back:virtualserver.quorum:fwmark:7',
    `quorum-lost:virtualserver.quorum:${vs}`,
  ]);
  assert.equal(finished.length, 6, 'quorum up of the first virtual server starts nothing: quorum-back names another one');
});

test('checker triggers cannot be mixed with instance triggers or filters', () => {
  const steps = [{ name: 's', run: () => 1 }];
  assert.throws(() => defineWorkflow({ name: 'm', on: { to: ['MASTER', 'realserver_down'] }, steps }), /cannot be mixed/);
  assert.throws(() => defineWorkflow({ name: 'i', on: { instance: 'VI_1', to: 'realserver_down' }, steps }), /on\.virtualServer/);
  assert.throws(() => defineWorkflow({ name: 'v', on: { virtualServer: '198.18.0.100:80', to: 'MASTER' }, steps }), /only apply to checker triggers/);
});
