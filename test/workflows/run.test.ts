/** One run's step semantics: order, timeout, retry with backoff, compensation, zx `$`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineWorkflow, isPermanent, PermanentStepError, type StepContext } from '../../workflows/define.js';
import { runWorkflow, type RunOptions } from '../../workflows/run.js';
import { dryRunShell, zxShell } from '../../workflows/shell.js';
import type { EventOf } from '../../infra/events/schema.js';
import { collector, log, setup, transitionTo } from './helpers.js';

function opts(extra: Partial<RunOptions> = {}) {
  const c = collector();
  return { c, o: { runId: 'r1', log, emit: c.emit, shell: zxShell, ...extra } satisfies RunOptions };
}

test('steps run in order with a typed event, attempt 1 and a stable idempotency key', async () => {
  const { src } = setup();
  const ev = transitionTo(src, 'VI_1', 'master');
  const seen: string[] = [];
  const w = defineWorkflow({
    name: 'promote',
    on: { to: 'MASTER' },
    steps: ['a', 'b', 'c'].map((name) => ({
      name,
      run: async (ctx: StepContext<EventOf<'instance.transition'>>) => {
        seen.push(`${ctx.step}:${ctx.attempt}:${ctx.idempotencyKey}:${ctx.event.data.to}`);
      },
    })),
  });
  const { o } = opts();
  const r = await runWorkflow(w, ev, o);
  assert.equal(r.status, 'succeeded');
  assert.deepEqual(
    seen,
    ['a', 'b', 'c'].map((s) => `${s}:1:${ev.id}/promote/${s}:master`),
  );
});

test('a step past its timeout has its signal aborted, fails, and later steps are skipped', async () => {
  const { src } = setup();
  let signal: AbortSignal | undefined;
  let laterRan = false;
  const w = defineWorkflow({
    name: 'slow',
    on: { to: 'MASTER' },
    steps: [
      // Ignores its signal entirely: the runner must still move on at the timeout.
      {
        name: 'hang',
        timeoutMs: 40,
        run: (ctx) => {
          signal = ctx.signal;
          return new Promise(() => undefined);
        },
      },
      {
        name: 'later',
        run: () => {
          laterRan = true;
        },
      },
    ],
  });
  const { o, c } = opts();
  const t0 = Date.now();
  const r = await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), o);
  const took = Date.now() - t0;
  assert.equal(r.status, 'failed');
  assert.ok(signal?.aborted, 'signal aborted on timeout');
  assert.ok(took >= 35 && took < 1000, `abandoned near the timeout (${took}ms)`);
  assert.equal(laterRan, false);
  assert.deepEqual(
    r.steps.map((s) => [s.step, s.outcome]),
    [
      ['hang', 'timed_out'],
      ['later', 'skipped'],
    ],
  );
  const stepEv = c.events.find((e) => e.type === 'workflow.step' && e.data.step === 'hang');
  assert.equal(stepEv?.data.status, 'failed');
  assert.match(String(stepEv?.data.error), /^timed_out: timed out after 40ms/);
});

test('retries wait with exponential backoff, then succeed', async () => {
  const { src } = setup();
  const at: number[] = [];
  const attempts: number[] = [];
  const w = defineWorkflow({
    name: 'flaky',
    on: { to: 'BACKUP' },
    steps: [
      {
        name: 'call-api',
        retry: { attempts: 4, backoffMs: 30, factor: 2 },
        run: (ctx) => {
          at.push(performance.now());
          attempts.push(ctx.attempt);
          if (ctx.attempt < 3) throw new Error(`boom ${ctx.attempt}`);
        },
      },
    ],
  });
  const { o } = opts();
  const r = await runWorkflow(w, transitionTo(src, 'VI_1', 'backup', 'master'), o);
  assert.equal(r.status, 'succeeded');
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.deepEqual(
    r.steps.map((s) => s.outcome),
    ['retried', 'retried', 'succeeded'],
  );
  const gap1 = at[1]! - at[0]!;
  const gap2 = at[2]! - at[1]!;
  assert.ok(gap1 >= 28 && gap1 < 500, `first backoff ~30ms (${gap1})`);
  assert.ok(gap2 >= 58 && gap2 < 600, `second backoff ~60ms (${gap2})`);
});

test('retries exhausted: the run fails and completed steps are compensated in reverse order', async () => {
  const { src } = setup();
  const trail: string[] = [];
  const step = (name: string) => ({
    name,
    run: () => void trail.push(`run:${name}`),
    compensate: () => void trail.push(`undo:${name}`),
  });
  const w = defineWorkflow({
    name: 'takeover',
    on: { to: 'MASTER' },
    steps: [
      step('a'),
      { name: 'no-undo', run: () => void trail.push('run:no-undo') },
      step('b'),
      {
        name: 'bad',
        retry: { attempts: 2, backoffMs: 1 },
        run: () => {
          trail.push('run:bad');
          throw new Error('nope');
        },
        compensate: () => void trail.push('undo:bad'),
      },
      step('never'),
    ],
  });
  const { o, c } = opts();
  const r = await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), o);
  assert.equal(r.status, 'failed');
  assert.deepEqual(trail, ['run:a', 'run:no-undo', 'run:b', 'run:bad', 'run:bad', 'undo:b', 'undo:a']);
  assert.deepEqual(
    c.events.filter((e) => e.type === 'workflow.step').map((e) => `${e.data.step}=${e.data.status}`),
    ['a=succeeded', 'no-undo=succeeded', 'b=succeeded', 'bad=failed', 'bad=failed', 'never=skipped', 'compensate:b=succeeded', 'compensate:a=succeeded'],
  );
  assert.equal(c.events.at(-1)?.data.status, 'failed');
});

test('a cancel during a step aborts its signal and compensates the completed steps; compensations get a live signal', async () => {
  const { src } = setup();
  const trail: string[] = [];
  const cancel = new AbortController();
  let stepSignal: AbortSignal | undefined;
  const w = defineWorkflow({
    name: 'cancel-me',
    on: { to: 'MASTER' },
    steps: [
      { name: 'a', run: () => void trail.push('run:a'), compensate: (ctx) => void trail.push(`undo:a:${ctx.signal.aborted}`) },
      {
        name: 'wait',
        run: (ctx) => {
          stepSignal = ctx.signal;
          setTimeout(() => cancel.abort(new Error('superseded')), 10);
          return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
        },
        compensate: () => void trail.push('undo:wait'),
      },
    ],
  });
  const { o } = opts({ cancel: cancel.signal });
  const r = await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), o);
  assert.equal(r.status, 'cancelled');
  assert.ok(stepSignal?.aborted);
  assert.deepEqual(trail, ['run:a', 'undo:a:false']);
  assert.deepEqual(
    r.steps.map((s) => `${s.phase}:${s.step}:${s.outcome}`),
    ['run:a:succeeded', 'run:wait:cancelled', 'compensate:a:succeeded'],
  );
  assert.equal(r.steps[1]?.error, 'superseded');
});

test('a $ step runs a real shell command through zx', async () => {
  const { src } = setup();
  let out = '';
  const w = defineWorkflow({
    name: 'shell',
    on: { to: 'MASTER' },
    steps: [
      {
        name: 'echo',
        run: async (ctx) => {
          out = (await ctx.$`echo ${'hello world'} ${ctx.event.data.instance}`).stdout;
        },
      },
    ],
  });
  const { o } = opts();
  const r = await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), o);
  assert.equal(r.status, 'succeeded');
  assert.equal(out, 'hello world VI_1\n');
});

test('a $ command still running at the timeout is killed through the signal', async () => {
  const { src } = setup();
  const w = defineWorkflow({
    name: 'shell-slow',
    on: { to: 'MASTER' },
    steps: [{ name: 'sleep', timeoutMs: 100, run: (ctx) => ctx.$`sleep 5` }],
  });
  const { o } = opts();
  const t0 = Date.now();
  const r = await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), o);
  assert.equal(r.status, 'failed');
  assert.equal(r.steps[0]?.outcome, 'timed_out');
  assert.ok(Date.now() - t0 < 2000);
});

test('the dry-run shell records quoted commands and runs nothing', async () => {
  const { src } = setup();
  const commands: string[] = [];
  const w = defineWorkflow({
    name: 'dry',
    on: { to: 'MASTER' },
    steps: [{ name: 'rm', run: (ctx) => ctx.$`rm -rf ${'/tmp/does not exist'} ${['a', 'b']}` }],
  });
  const { o } = opts({ shell: dryRunShell(log, (c) => commands.push(c)) });
  const r = await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), o);
  assert.equal(r.status, 'succeeded');
  assert.deepEqual(commands, ["rm -rf $'/tmp/does not exist' a b"]);
});

test('defineWorkflow refuses definitions that cannot run', () => {
  assert.throws(() => defineWorkflow({ name: 'x', on: { to: 'MASTER' }, steps: [] }), /no steps/);
  assert.throws(
    () =>
      defineWorkflow({
        name: 'x',
        on: { to: 'MASTER' },
        steps: [
          { name: 'a', run: () => 1 },
          { name: 'a', run: () => 1 },
        ],
      }),
    /duplicate step 'a'/,
  );
  assert.throws(() => defineWorkflow({ name: 'x', on: { to: 'MASTER' }, steps: [{ name: 'a', run: () => 1, retry: { attempts: 0, backoffMs: 1 } }] }), /retry/);
  assert.throws(() => defineWorkflow({ name: 'x', on: { to: 'BOGUS' as 'MASTER' }, steps: [{ name: 'a', run: () => 1 }] }), /unknown trigger/);
});

test('dryRun reaches every step and intend() records the intention with its step', async () => {
  const { src } = setup();
  const intents: unknown[] = [];
  const flags: boolean[] = [];
  const w = defineWorkflow({
    name: 'runbook',
    on: { to: 'MASTER' },
    steps: [
      {
        name: 'page',
        run: (ctx) => {
          flags.push(ctx.dryRun);
          if (ctx.dryRun) ctx.intend('send a page', { severity: 'critical' });
        },
      },
      {
        name: 'dns',
        run: (ctx) => {
          flags.push(ctx.dryRun);
          ctx.intend('update DNS');
        },
      },
    ],
  });
  const { o } = opts({ dryRun: true, onIntent: (i) => void intents.push(i), shell: dryRunShell(log) });
  const r = await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), o);
  assert.equal(r.status, 'succeeded');
  assert.deepEqual(flags, [true, true]);
  assert.deepEqual(intents, [
    { workflow: 'runbook', step: 'page', action: 'send a page', detail: { severity: 'critical' } },
    { workflow: 'runbook', step: 'dns', action: 'update DNS' },
  ]);
  const real = opts();
  flags.length = 0;
  await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), real.o);
  assert.deepEqual(flags, [false, false], 'dryRun defaults to false');
});

test('a PermanentStepError fails the step at once: no retries, no backoff', async () => {
  const { src } = setup();
  let calls = 0;
  const w = defineWorkflow({
    name: 'refused',
    on: { to: 'MASTER' },
    steps: [
      {
        name: 'post',
        retry: { attempts: 5, backoffMs: 1000 },
        run: () => {
          calls++;
          throw new PermanentStepError('400 invalid event');
        },
      },
    ],
  });
  const t0 = Date.now();
  const r = await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), opts().o);
  assert.equal(calls, 1);
  assert.ok(Date.now() - t0 < 900, 'no backoff wait');
  assert.deepEqual(
    r.steps.map((s) => [s.outcome, s.error]),
    [['failed', '400 invalid event (not retried: trying again cannot help)']],
  );
  // Recognised by shape, as a user's module copy of the class would be.
  assert.equal(isPermanent(Object.assign(new Error('x'), { permanent: true })), true);
  assert.equal(isPermanent(new Error('x')), false);
});
