/** Workflows declared in config: built from built-in notifiers, every mistake reported with its path. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from '../../config/define.js';
import { repoRoot } from '../../infra/paths.js';
import { workflowsFromConfig } from '../../workflows/from-config.js';
import { runWorkflow } from '../../workflows/run.js';
import { zxShell } from '../../workflows/shell.js';
import { collector, log, setup, transitionTo } from './helpers.js';

const script = join(repoRoot, 'test/notifiers/shell/fixtures/record.mjs');

test('a config workflow of built-in steps builds and runs, with step names, timeouts and retries carried over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vf-fromconfig-'));
  try {
    const m = defineConfig({
      vipflow: {
        workflows: [
          {
            name: 'record-master',
            on: { instance: 'VI_1', to: ['MASTER', 'BACKUP'] },
            steps: [{ uses: 'shell.script', name: 'record', timeoutMs: 5000, retry: { attempts: 2, backoffMs: 10 }, with: { script, env: { RECORD_FILE: join(dir, 'out') } } }],
          },
        ],
      },
    });
    const r = await workflowsFromConfig(m.vipflow.workflows);
    assert.ok(r.ok, JSON.stringify(r));
    const w = r.workflows[0]!;
    assert.equal(w.steps[0]!.name, 'record');
    assert.equal(w.steps[0]!.timeoutMs, 5000);
    assert.deepEqual(w.steps[0]!.retry, { attempts: 2, backoffMs: 10 });
    const { src } = setup();
    const ev = transitionTo(src, 'VI_1', 'backup', 'master');
    const run = await runWorkflow(w, ev, { runId: 'r', log, emit: collector().emit, shell: zxShell });
    assert.equal(run.status, 'succeeded');
    assert.match(readFileSync(join(dir, 'out'), 'utf8'), /^VI_1 BACKUP /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown notifiers, bad options and duplicate names are all reported with their config path', async () => {
  const m = defineConfig({
    vipflow: {
      workflows: [
        { name: 'a', on: { to: 'MASTER' }, steps: [{ uses: 'nginx.relaod' }, { uses: 'shell.script', with: { script: 42 } }] },
        { name: 'a', on: { to: 'BACKUP' }, steps: [{ uses: 'shell.script', with: { script: 'x.mjs', colour: 'red' } }] },
      ],
    },
  });
  const r = await workflowsFromConfig(m.vipflow.workflows);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.errors.length, 4, r.errors.join('\n'));
  assert.match(r.errors[0]!, /^vipflow\.workflows\[0\] 'a': steps\[0\] \(nginx\.relaod\): unknown notifier; use one of .*shell\.script/);
  assert.match(r.errors[1]!, /^vipflow\.workflows\[0\] 'a': steps\[1\] \(shell\.script\): with\.script: /);
  assert.match(r.errors[2]!, /^vipflow\.workflows\[1\] 'a': duplicate workflow name$/);
  assert.match(r.errors[3]!, /^vipflow\.workflows\[1\] 'a': steps\[0\] \(shell\.script\): with\.\(options\): .*colour/);
});

test('two steps of one notifier need distinct names', async () => {
  const m = defineConfig({ vipflow: { workflows: [{ name: 'twice', on: { to: 'MASTER' }, steps: [{ uses: 'shell.script', with: { script: 'a.mjs' } }, { uses: 'shell.script', with: { script: 'b.mjs' } }] }] } });
  const r = await workflowsFromConfig(m.vipflow.workflows);
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.errors[0]!, /duplicate step 'shell\.script'/);
});
