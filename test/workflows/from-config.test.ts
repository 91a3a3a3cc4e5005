/** Workflows declared in config: built from built-in notifiers, every mistake reported with its path. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from '../../config/define.js';
import { repoRoot } from '../../core/paths.js';
import { workflowsFromConfig } from '../../workflows/from-config.js';
import { BUILTIN_NOTIFIERS } from '../../notifiers/builtin.js';
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
            steps: [
              {
                uses: 'shell.script',
                name: 'record',
                timeoutMs: 5000,
                retry: { attempts: 2, backoffMs: 10 },
                with: { script, env: { RECORD_FILE: join(dir, 'out') } },
              },
            ],
          },
        ],
      },
    });
    const r = await workflowsFromConfig(m.vipflow.workflows, BUILTIN_NOTIFIERS);
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
  const r = await workflowsFromConfig(m.vipflow.workflows, BUILTIN_NOTIFIERS);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.errors.length, 4, r.errors.join('\n'));
  assert.match(r.errors[0]!, /^vipflow\.workflows\[0\] 'a': steps\[0\] \(nginx\.relaod\): unknown notifier; use one of .*shell\.script/);
  assert.match(r.errors[1]!, /^vipflow\.workflows\[0\] 'a': steps\[1\] \(shell\.script\): with\.script: /);
  assert.match(r.errors[2]!, /^vipflow\.workflows\[1\] 'a': duplicate workflow name$/);
  assert.match(r.errors[3]!, /^vipflow\.workflows\[1\] 'a': steps\[0\] \(shell\.script\): with\.\(options\): .*colour/);
});

test('two steps of one notifier need distinct names', async () => {
  const m = defineConfig({
    vipflow: {
      workflows: [
        {
          name: 'twice',
          on: { to: 'MASTER' },
          steps: [
            { uses: 'shell.script', with: { script: 'a.mjs' } },
            { uses: 'shell.script', with: { script: 'b.mjs' } },
          ],
        },
      ],
    },
  });
  const r = await workflowsFromConfig(m.vipflow.workflows, BUILTIN_NOTIFIERS);
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.errors[0]!, /duplicate step 'shell\.script'/);
});

test('every built-in notifier builds from config and dry-runs: intentions recorded, no secret in them', async () => {
  const am = { url: 'http://198.18.0.9:9093' };
  const pd = { routingKeyEnv: 'PD_ROUTING_KEY', endpoint: 'http://198.18.0.9:8080/v2/enqueue' };
  const uses: Record<string, Record<string, unknown>> = {
    'vip.ready': { timeoutMs: 2000 },
    'nginx.reload': { pidFile: '/run/nginx.pid', healthUrl: 'http://127.0.0.1/healthz' },
    'dns.update': {
      server: '198.18.0.53',
      zone: 'example.test',
      name: 'www.example.test',
      addresses: ['198.18.0.10'],
      key: { name: 'vipflow', secret: 'c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw==' },
    },
    'pagerduty.trigger': pd,
    'pagerduty.acknowledge': pd,
    'pagerduty.resolve': pd,
    'alertmanager.fire': am,
    'alertmanager.resolve': am,
    'webhook.post': { url: 'http://198.18.0.9:8080/hook', headers: { authorization: { prefix: 'Bearer ', env: 'HOOK_TOKEN' } } },
    'health.alert': { health: { url: 'http://127.0.0.1/healthz' }, alertmanager: am },
    'shell.script': { script: '/usr/local/bin/on-master.mjs' },
    'conntrackd.sync': { config: '/etc/conntrackd/conntrackd.conf' },
  };
  const { BUILTIN_NOTIFIERS } = await import('../../notifiers/builtin.js');
  assert.deepEqual(Object.keys(uses).sort(), Object.keys(BUILTIN_NOTIFIERS).sort(), 'this test covers every built-in');
  const m = defineConfig({
    vipflow: { workflows: [{ name: 'all', on: { to: 'MASTER' }, steps: Object.entries(uses).map(([u, w]) => ({ uses: u, with: w })) }] },
  });
  const r = await workflowsFromConfig(m.vipflow.workflows, BUILTIN_NOTIFIERS);
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  const intents: { step: string; action: string; detail?: unknown }[] = [];
  const { src } = setup();
  const { dryRunShell } = await import('../../workflows/shell.js');
  const run = await runWorkflow(r.workflows[0]!, transitionTo(src, 'VI_1', 'master'), {
    runId: 'r',
    log,
    emit: collector().emit,
    shell: dryRunShell(log),
    dryRun: true,
    onIntent: (i) => void intents.push(i),
  });
  assert.equal(run.status, 'succeeded', JSON.stringify(run.steps));
  for (const step of Object.keys(uses))
    assert.ok(
      intents.some((i) => i.step === step),
      `${step} recorded an intention`,
    );
  assert.doesNotMatch(JSON.stringify(intents), /c2VjcmV0LXZhbHVl/, 'the TSIG secret is not in the intentions');
});
