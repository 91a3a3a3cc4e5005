/** loadWorkflows on a TypeScript file, and `vipflow workflows test` as a user runs it (dry run). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../core/paths.js';
import { loadWorkflows } from '../../workflows/load.js';
import { samplePayloads } from '../infra/events/fixtures.js';

const sample = join(repoRoot, 'test', 'workflows', 'fixtures', 'sample.workflows.ts');

test('loadWorkflows imports a .ts workflows file through tsx', async () => {
  const r = await loadWorkflows(sample);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.deepEqual(
    r.workflows.map((w) => [w.name, w.steps.map((s) => s.name)]),
    [
      ['announce-master', ['say', 'reload-lb']],
      ['fence', ['page']],
    ],
  );
});

test('loadWorkflows reports a missing file and a module that exports no workflow as errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-wf-'));
  try {
    const missing = await loadWorkflows(join(dir, 'nope.ts'));
    assert.equal(missing.ok, false);
    const bad = join(dir, 'bad.mjs');
    writeFileSync(bad, 'export default [{ name: "x", on: { to: "MASTER" }, steps: [{ name: "s" }] }];\n');
    const r = await loadWorkflows(bad);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.error, /step 's' has no run function/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('vipflow workflows test prints the commands a triggered workflow would run, and runs none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-wf-'));
  try {
    const ev = join(dir, 'event.json');
    writeFileSync(ev, JSON.stringify({ type: 'instance.transition', data: { ...samplePayloads['instance.transition'], instance: 'VI_1', to: 'master' } }));
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'cli', 'main.ts'), 'workflows', ...args], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 30_000,
      });
    const r = cli('test', '--workflows', sample, '--event', ev, '--json');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { runs: { workflow: string; status: string; commands: string[] }[] };
    assert.deepEqual(
      out.runs.map((x) => [x.workflow, x.status, x.commands]),
      [['announce-master', 'succeeded', ['echo VI_1 is master', 'systemctl reload haproxy']]],
    );
    const text = cli('test', '--workflows', sample, '--event', ev);
    assert.match(text.stdout, /would run: systemctl reload haproxy/);
    assert.match(text.stdout, /workflow fence: not triggered/);
    writeFileSync(ev, JSON.stringify({ type: 'instance.transition', data: { instance: 'VI_1' } }));
    const invalid = cli('test', '--workflows', sample, '--event', ev);
    assert.equal(invalid.status, 2);
    assert.match(invalid.stderr, /not a valid event/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('vipflow workflows test --config dry-runs the workflows a config declares, built-in notifiers included', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-wf-'));
  try {
    const ev = join(dir, 'event.json');
    writeFileSync(ev, JSON.stringify({ type: 'instance.transition', data: { ...samplePayloads['instance.transition'], instance: 'VI_1', to: 'master' } }));
    const config = join(dir, 'vipflow.config.ts');
    const marker = join(dir, 'ran');
    writeFileSync(
      config,
      `import { defineConfig } from ${JSON.stringify(join(repoRoot, 'config', 'define.ts'))};\n` +
        `export default defineConfig({ vipflow: { workflowsFile: ${JSON.stringify(sample)}, workflows: [{ name: 'hook', on: { instance: 'VI_1', to: 'MASTER' }, steps: [{ uses: 'shell.script', name: 'touch', with: { script: '/usr/bin/touch', args: [${JSON.stringify(marker)}] } }] }] } });\n`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'cli', 'main.ts'), 'workflows', 'test', '--config', config, '--event', ev], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /workflow hook: triggered \(dry run\)/);
    assert.match(r.stdout, /would run script \{"script":"\/usr\/bin\/touch","args":\[".*ran"\]\}/);
    assert.match(r.stdout, /workflow announce-master: triggered/);
    assert.equal(existsSync(marker), false, 'the dry run ran nothing');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a workflows file anywhere on disk imports 'vipflow/workflows' and 'vipflow/notifiers' from the running installation", () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-wf-'));
  try {
    const wf = join(dir, 'workflows.ts');
    writeFileSync(
      wf,
      "import { defineWorkflow } from 'vipflow/workflows';\nimport { shellScriptStep } from 'vipflow/notifiers';\n" +
        "export default [defineWorkflow({ name: 'hook', on: { to: 'MASTER' }, steps: [shellScriptStep({ script: '/usr/local/bin/hook.mjs' })] })];\n",
    );
    const ev = join(dir, 'event.json');
    writeFileSync(ev, JSON.stringify({ type: 'instance.transition', data: { ...samplePayloads['instance.transition'], to: 'master' } }));
    // The installed (compiled) CLI, as an operator runs it; `npm test` builds dist/ first.
    const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), 'workflows', 'test', '--workflows', wf, '--event', ev], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /would run script \{"script":"\/usr\/local\/bin\/hook\.mjs"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
