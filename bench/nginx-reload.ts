/**
 * Benchmark (a script, not a test): from a transition event handed to the
 * in-process WorkflowRunner (published on the InProcessBus, as the daemon does)
 * to nginx reloaded and verified by nginxReloadStep: `nginx -t`, SIGHUP, a new
 * worker generation seen in /proc and the health URL answering with the new
 * config. A real nginx on loopback (127.0.0.1, its own temp dir and port).
 *
 *   npx tsx bench/nginx-reload.ts            # 30 runs of each
 *   npx tsx bench/nginx-reload.ts --quick    # 8 runs
 *
 * For comparison, with the same nginx:
 *   - `nginx -s reload` alone (the command's own run time: it only reads the pid file and signals),
 *   - `nginx -t` alone (the step's first part),
 *   - SIGHUP to a new generation seen (1 ms /proc polls): the floor of what the step can verify.
 *     nginx's master starts the new workers at once but sleeps 100 ms ("allow new processes
 *     to start", ngx_process_cycle.c) before asking the old ones to quit; until then old
 *     workers still accept connections, so the new configuration is not yet the only one serving.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { InProcessBus } from '../infra/events/bus.js';
import { createEventSource, memorySeq } from '../infra/events/source.js';
import { silentLogger } from '../core/logger.js';
import { startLocalNginx, type LocalNginx } from '../lab/local-nginx.js';
import { defineWorkflow } from '../workflows/define.js';
import { WorkflowRunner } from '../workflows/runner.js';
import type { RunResult } from '../workflows/run.js';
import { nginxReloadStep } from '../notifiers/nginx/index.js';
import { checkGeneration } from '../notifiers/nginx/generation.js';
import { listWorkers } from '../notifiers/nginx/host.js';
import { fmt, max, median, table } from './lib/stats.js';

const RUNS = process.argv.includes('--quick') ? 8 : 30;
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function p99(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)] ?? Number.NaN;
}

/** Waits (bounded) until the previous generation's workers have exited, so runs do not overlap. */
async function settle(nginx: LocalNginx): Promise<void> {
  const end = performance.now() + 5000;
  while (listWorkers(nginx.pid).some((w) => w.shuttingDown) && performance.now() < end) await sleep(5);
  await sleep(20);
}

async function workflowPath(nginx: LocalNginx, pollMs: number): Promise<number[]> {
  const log = silentLogger();
  const bus = new InProcessBus({ log });
  const source = createEventSource({ cluster: 'bench', node: 'n1', seq: memorySeq() });
  let done: ((r: RunResult) => void) | null = null;
  const workflow = defineWorkflow({
    name: 'nginx-ha',
    on: { to: 'MASTER' },
    steps: [nginxReloadStep({ config: nginx.conf, prefix: nginx.dir, pidFile: nginx.pidFile, healthUrl: nginx.url('/version'), pollMs })],
  });
  const runner = await WorkflowRunner.start({ bus, source, log, workflows: [workflow], onFinished: (r) => done?.(r) });
  const times: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      await settle(nginx);
      const finished = new Promise<RunResult>((r) => (done = r));
      const event = source.make('instance.transition', {
        instance: 'VI_1',
        vrid: 1,
        family: 'ipv4',
        interface: 'lo',
        from: 'backup',
        to: 'master',
        reason: 'master-down-timer',
        effectivePriority: 100,
        basePriority: 100,
        masterSeen: null,
        advertIntervalCs: 100,
      });
      const t0 = performance.now();
      bus.publish(event);
      const r = await finished;
      const ms = performance.now() - t0;
      if (r.status !== 'succeeded') throw new Error(`run ${i} ${r.status}: ${JSON.stringify(r.steps)}`);
      times.push(ms);
    }
  } finally {
    await runner.close();
    await bus.close();
  }
  return times;
}

async function timeCommand(nginx: LocalNginx, args: string[]): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await settle(nginx);
    const t0 = performance.now();
    await run('nginx', ['-c', nginx.conf, '-p', nginx.dir, ...args]);
    times.push(performance.now() - t0);
  }
  return times;
}

async function signalToGeneration(nginx: LocalNginx): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await settle(nginx);
    const before = listWorkers(nginx.pid).map((w) => w.pid);
    const t0 = performance.now();
    process.kill(nginx.pid, 'SIGHUP');
    const end = t0 + 10_000;
    while (!checkGeneration(before, listWorkers(nginx.pid)).changed) {
      if (performance.now() > end) throw new Error('no new generation within 10 s');
      await sleep(1);
    }
    times.push(performance.now() - t0);
  }
  return times;
}

async function main(): Promise<void> {
  const nginx = await startLocalNginx('v1');
  try {
    const rows: string[][] = [['measure (ms)', 'p50', 'p99', 'max', 'runs']];
    const add = (name: string, xs: number[]) => rows.push([name, fmt(median(xs), 1), fmt(p99(xs), 1), fmt(max(xs), 1), String(xs.length)]);
    add('event -> nginx reloaded + verified (pollMs 20, default)', await workflowPath(nginx, 20));
    add('event -> nginx reloaded + verified (pollMs 5)', await workflowPath(nginx, 5));
    add('nginx -s reload (command alone)', await timeCommand(nginx, ['-s', 'reload']));
    add('nginx -t -q (command alone)', await timeCommand(nginx, ['-t', '-q']));
    add('SIGHUP -> new generation seen (1 ms polls)', await signalToGeneration(nginx));
    process.stdout.write(`nginx reload benchmark: real nginx on 127.0.0.1:${nginx.port}, worker_processes 1\n${table(rows)}\n`);
  } finally {
    await nginx.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
