// `vipflow worker --http`: the worker's samples (pure), then a real worker
// process serving /metrics and /healthz on loopback (NATS unreachable: the
// worker keeps retrying and the endpoint answers meanwhile), and its refusal
// to listen off loopback without credentials.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../core/paths.js';
import { freePort } from '../../infra/events/local-nats.js';
import { vipflowCommand } from '../../lab/vipflow.js';
import { StatusMetrics } from '../../daemon/metrics.js';
import { RunTally, WORKER_FAMILIES, workerSamples } from '../../cli/worker-http.js';

const WORKFLOWS = join(repoRoot, 'test', 'workflows', 'fixtures', 'sample.workflows.ts');

describe('vipflow worker --http', () => {
  test('workflow runs by outcome, and the worker counters', async () => {
    const runs = new RunTally();
    const step = (outcome: 'succeeded' | 'failed' | 'retried', durationMs: number, phase: 'run' | 'compensate' = 'run') => ({
      step: 'vip',
      phase,
      attempt: 1,
      outcome,
      durationMs,
    });
    runs.add({ workflow: 'w', status: 'succeeded', durationMs: 1500, steps: [step('retried', 700), step('succeeded', 30)] });
    runs.add({ workflow: 'w', status: 'succeeded', durationMs: 500, steps: [step('succeeded', 40)] });
    runs.add({ workflow: 'w', status: 'failed', durationMs: 100, steps: [step('failed', 60), step('succeeded', 3, 'compensate')] });
    const stats = {
      received: 9,
      invalid: 1,
      runsStarted: 3,
      runsFinished: 3,
      alreadyFinished: 2,
      superseded: 0,
      waits: 4,
      takeovers: 1,
      abandoned: 0,
      refused: 2,
    };
    const text = await new StatusMetrics(WORKER_FAMILIES, [runs.histograms.registry]).render(workerSamples(stats, 2, runs));
    for (const line of [
      'vipflow_workflow_runs_total{workflow="w",status="succeeded"} 2',
      'vipflow_workflow_runs_total{workflow="w",status="failed"} 1',
      'vipflow_workflow_run_seconds_total{workflow="w",status="succeeded"} 2',
      'vipflow_worker_messages_total{result="received"} 9',
      'vipflow_worker_messages_total{result="waited"} 4',
      'vipflow_worker_runs_running 2',
      'vipflow_worker_takeovers_total 1',
      'vipflow_worker_refused_total 2',
      'vipflow_workflow_run_duration_seconds_bucket{le="1",workflow="w",status="succeeded"} 1',
      'vipflow_workflow_run_duration_seconds_bucket{le="2.5",workflow="w",status="succeeded"} 2',
      'vipflow_workflow_run_duration_seconds_count{workflow="w",status="failed"} 1',
      'vipflow_workflow_steps_total{workflow="w",step="vip",phase="run",outcome="succeeded"} 2',
      'vipflow_workflow_steps_total{workflow="w",step="vip",phase="run",outcome="retried"} 1',
      'vipflow_workflow_steps_total{workflow="w",step="vip",phase="compensate",outcome="succeeded"} 1',
      'vipflow_workflow_step_duration_seconds_bucket{le="0.05",workflow="w",phase="run",outcome="succeeded"} 2',
      'vipflow_workflow_step_duration_seconds_count{workflow="w",phase="run",outcome="failed"} 1',
    ])
      assert.ok(text.split('\n').includes(line), line);
  });

  test('off loopback without credentials the worker refuses to start (exit 2)', () => {
    const r = spawnSync(process.execPath, [...vipflowCommand(), 'worker', '--nats', 'nats://127.0.0.1:1', '--workflows', WORKFLOWS, '--http', '0.0.0.0:9650'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /refusing to serve HTTP on 0\.0\.0\.0:9650 without credentials/);
  });

  test('a running worker answers /healthz and /metrics on loopback, and stops on SIGTERM', async () => {
    // A port the kernel just handed out and released (--http refuses port 0). A port
    // derived from the PID could be taken: the test files run two at a time, and
    // 20000-39999 overlaps the ephemeral range that outgoing connections use.
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [...vipflowCommand(), 'worker', '--nats', 'nats://127.0.0.1:1', '--workflows', WORKFLOWS, '--http', `127.0.0.1:${port}`],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      let health: Response | undefined;
      for (let i = 0; i < 100 && health === undefined; i++) {
        health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        if (health === undefined) await new Promise((w) => setTimeout(w, 100));
      }
      assert.ok(health, 'the endpoint answers');
      assert.equal(health.status, 200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.ok(metrics.split('\n').includes('vipflow_worker_runs_running 0'), metrics);
      assert.ok(metrics.split('\n').includes('vipflow_worker_messages_total{result="received"} 0'));
    } finally {
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
      if (code === 'timeout') child.kill('SIGKILL');
      assert.equal(code, 0);
    }
  });
});
