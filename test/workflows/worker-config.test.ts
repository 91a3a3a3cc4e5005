/**
 * `vipflow worker --config`: the workflows a vipflow.config.ts declares run on a worker
 * (NATS URL from the config), and a config whose daemons would also run them is refused.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vipflowCommand } from '../../lab/vipflow.js';
import { repoRoot } from '../../core/paths.js';
import { until, workerScene } from './worker-procs.js';

const CLUSTER = 'wkcfg';
const defineModule = join(repoRoot, 'config', 'define.ts');

function writeConfig(path: string, vipflow: string): void {
  writeFileSync(path, `import { defineConfig } from ${JSON.stringify(defineModule)};\nexport default defineConfig({ vipflow: ${vipflow} });\n`);
}

describe('vipflow worker --config', () => {
  const scene = workerScene(CLUSTER);

  test('a config whose daemons run its workflows is refused (they would run twice)', () => {
    const config = join(scene.dir, 'daemon-runs.config.ts');
    writeConfig(config, `{ workflows: [{ name: 'w', on: { to: 'MASTER' }, steps: [{ uses: 'shell.script', with: { script: '/bin/true' } }] }] }`);
    const r = spawnSync(process.execPath, [...vipflowCommand(), 'worker', '--config', config, '--nats', scene.server.url], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stdout, /refusing to run the config's workflows: its daemons run them too.*workflowRunner: 'workers'/);
  });

  test("with workflowRunner 'workers' the config's built-in steps run on the worker, NATS URL from the config", async () => {
    const out = join(scene.dir, 'config-trail');
    const config = join(scene.dir, 'workers.config.ts');
    writeConfig(
      config,
      `{ nats: { url: ${JSON.stringify(scene.server.url)} }, workflowRunner: 'workers', workflows: [{ name: 'cfg', on: { to: 'MASTER' }, ` +
        `steps: [{ uses: 'shell.script', name: 'note', with: { script: '/bin/sh', args: ['-c', 'echo "$VIPFLOW_INSTANCE $VIPFLOW_IDEMPOTENCY_KEY" >> ${out}'] } }] }] }`,
    );
    const w = scene.worker('cw1', { workflowArgs: ['--config', config], nats: undefined });
    assert.ok(await w.waitForLog('worker consuming', 30_000), 'the worker starts consuming');
    const e = scene.transition('CFG_1', 'master', 'config');
    scene.bus.publish(e);
    await until(() => existsSync(out) && readFileSync(out, 'utf8').includes(e.id), 15_000, 'the config workflow ran');
    assert.equal(readFileSync(out, 'utf8'), `CFG_1 ${e.id}/cfg/note\n`);
  });
});
