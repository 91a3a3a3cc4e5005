/** The shell notifier: environment, zx scripts, failure text, process-group kill, dry run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../../core/paths.js';
import { defineWorkflow } from '../../../workflows/define.js';
import { runWorkflow } from '../../../workflows/run.js';
import { dryRunShell, zxShell } from '../../../workflows/shell.js';
import { scriptEnvironment, shellScriptStep } from '../../../notifiers/shell/index.js';
import { collector, log, setup, transitionTo } from '../../workflows/helpers.js';
import { isAlive } from '../../../lab/run.js';

const fixtures = join(repoRoot, 'test/notifiers/shell/fixtures');

test('scriptEnvironment flattens a transition into VIPFLOW_* with keepalived state names', () => {
  const { src } = setup();
  const ev = transitionTo(src, 'VI_1', 'stopped', 'master');
  const env = scriptEnvironment({ event: ev, workflow: 'w', step: 's', idempotencyKey: `${ev.id}/w/s`, attempt: 2 });
  assert.equal(env.VIPFLOW_INSTANCE, 'VI_1');
  assert.equal(env.VIPFLOW_STATE, 'STOP');
  assert.equal(env.VIPFLOW_TO, 'stopped');
  assert.equal(env.VIPFLOW_FROM, 'master');
  assert.equal(env.VIPFLOW_ATTEMPT, '2');
  assert.equal(env.VIPFLOW_PRIORITY, String(ev.data.effectivePriority));
  assert.deepEqual(JSON.parse(env.VIPFLOW_EVENT!), ev);
});

test('shellScriptStep refuses bad options when the workflow is defined', () => {
  assert.throws(() => shellScriptStep({ script: '' }), /shellScriptStep: script:/);
});

test('a zx script runs with the event in its environment and its arguments', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vf-shell-'));
  try {
    const { src } = setup();
    const ev = transitionTo(src, 'VI_7', 'master');
    const w = defineWorkflow({
      name: 'rec',
      on: { to: 'MASTER' },
      steps: [shellScriptStep({ script: join(fixtures, 'record.mjs'), args: ['a', 'b'], env: { RECORD_FILE: join(dir, 'out') } }, { name: 'record' })],
    });
    const r = await runWorkflow(w, ev, { runId: 'r', log, emit: collector().emit, shell: zxShell });
    assert.equal(r.status, 'succeeded', JSON.stringify(r.steps));
    assert.equal(readFileSync(join(dir, 'out'), 'utf8'), `VI_7 MASTER ${ev.data.effectivePriority} ${ev.id}/rec/record a,b\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing script fails the step with its exit status and the tail of stderr, retried per policy', async () => {
  const { src } = setup();
  const w = defineWorkflow({
    name: 'f',
    on: { to: 'MASTER' },
    steps: [shellScriptStep({ script: join(fixtures, 'fail.mjs') }, { name: 'reload', retry: { attempts: 2, backoffMs: 10 } })],
  });
  const r = await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), { runId: 'r', log, emit: collector().emit, shell: zxShell });
  assert.equal(r.status, 'failed');
  assert.deepEqual(
    r.steps.map((s) => s.outcome),
    ['retried', 'failed'],
  );
  assert.match(r.steps[1]!.error ?? '', /fail\.mjs exited with status 3: nginx: \[emerg\] unknown directive "lisen"/);
});

test('a hung script is ended at the step timeout with its whole process group', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vf-shell-'));
  try {
    const { src } = setup();
    const pidsFile = join(dir, 'pids');
    const w = defineWorkflow({
      name: 'h',
      on: { to: 'MASTER' },
      steps: [shellScriptStep({ script: join(fixtures, 'hang.sh'), env: { PIDS_FILE: pidsFile }, killGraceMs: 200 }, { name: 'hang', timeoutMs: 500 })],
    });
    const r = await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), { runId: 'r', log, emit: collector().emit, shell: zxShell });
    assert.equal(r.steps[0]!.outcome, 'timed_out');
    assert.ok(existsSync(pidsFile), 'the script started');
    const pids = readFileSync(pidsFile, 'utf8').trim().split('\n').map(Number);
    assert.equal(pids.length, 2);
    const end = Date.now() + 3000;
    while (pids.some(isAlive) && Date.now() < end) await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(pids.filter(isAlive), [], 'script and grandchild both ended');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a dry run records the intention and runs nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vf-shell-'));
  try {
    const { src } = setup();
    const intents: unknown[] = [];
    const w = defineWorkflow({
      name: 'rec',
      on: { to: 'MASTER' },
      steps: [shellScriptStep({ script: join(fixtures, 'record.mjs'), env: { RECORD_FILE: join(dir, 'out') } }, { name: 'record' })],
    });
    const r = await runWorkflow(w, transitionTo(src, 'VI_1', 'master'), {
      runId: 'r',
      log,
      emit: collector().emit,
      shell: dryRunShell(log),
      dryRun: true,
      onIntent: (i) => void intents.push(i),
    });
    assert.equal(r.status, 'succeeded');
    assert.equal(existsSync(join(dir, 'out')), false);
    assert.deepEqual(intents, [{ workflow: 'rec', step: 'record', action: 'run script', detail: { script: join(fixtures, 'record.mjs'), args: [] } }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
