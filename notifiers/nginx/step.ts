/**
 * The nginx reload step: `nginx -t`, then SIGHUP to the running master, then
 * wait (bounded) until a new worker generation runs and the health URL
 * answers. nginx itself keeps the old configuration and workers when the test
 * or the reload fails, so a failed step leaves the old configuration serving.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { StepContext, StepSettings, WorkflowStep } from '../../workflows/define.js';
import { checkGeneration, healthAccepted, nginxArgv, testFailureText, type GenerationCheck } from './generation.js';
import { httpGet, listWorkers, readMasterPid, runCommand, type HealthAnswer } from './host.js';
import { parseNginxOptions, type NginxOptions, type ResolvedNginxOptions } from './options.js';

/** What a successful reload did. */
export interface NginxReloadReport {
  master: number;
  oldWorkers: number[];
  newWorkers: number[];
  /** `nginx -t` duration. */
  testMs: number;
  /** SIGHUP to new generation verified (and healthy). */
  verifyMs: number;
}

/**
 * A workflow step that reloads nginx safely.
 * Step defaults: name `nginx-reload`, timeout testTimeoutMs + verifyTimeoutMs + 1 s.
 * @throws Error naming the bad option (at definition time).
 */
export function nginxReloadStep(options: NginxOptions, step: StepSettings = {}): WorkflowStep {
  const o = parseNginxOptions(options);
  return {
    name: step.name ?? 'nginx-reload',
    timeoutMs: step.timeoutMs ?? o.testTimeoutMs + o.verifyTimeoutMs + 1000,
    ...(step.retry ? { retry: step.retry } : {}),
    run: (ctx) => reloadNginx(o, ctx),
  };
}

function describeHealth(a: HealthAnswer | null): string {
  if (a === null) return 'not asked yet';
  return a.ok ? `status ${a.status}, body ${JSON.stringify(a.body.slice(0, 120))}` : a.error;
}

/**
 * Runs the reload with validated options. Resolves to what it did (undefined
 * in a dry run); rejects with an Error saying what failed and what to check.
 */
export async function reloadNginx(o: ResolvedNginxOptions, ctx: StepContext): Promise<NginxReloadReport | undefined> {
  const testArgv = nginxArgv(o, ['-t', '-q']);
  const plan = { test: [o.binary, ...testArgv].join(' '), signal: 'SIGHUP', pidFile: o.pidFile, ...(o.healthUrl ? { healthUrl: o.healthUrl } : {}) };
  ctx.intend('test the nginx configuration, reload the master and verify new workers serve', plan);
  if (ctx.dryRun) return undefined;

  const t0 = performance.now();
  const test = await runCommand(o.binary, testArgv, o.testTimeoutMs, ctx.signal);
  if (ctx.signal.aborted) throw ctx.signal.reason;
  if (test.code === null) throw new Error(`nginx -t could not run (${test.error ?? 'unknown'}): check the binary option ('${o.binary}')`);
  if (test.code !== 0)
    throw new Error(
      `nginx -t refused the configuration (exit ${test.code}); nothing reloaded, the running configuration keeps serving: ${testFailureText(test.stderr, test.stdout)}`,
    );
  const testMs = performance.now() - t0;

  const master = readMasterPid(o.pidFile);
  if (!master.ok) throw new Error(`${master.error}; nothing reloaded`);
  const oldWorkers = listWorkers(master.pid).map((w) => w.pid);
  const t1 = performance.now();
  try {
    process.kill(master.pid, 'SIGHUP');
  } catch (e) {
    throw new Error(`cannot signal nginx master ${master.pid} (${(e as NodeJS.ErrnoException).code ?? 'error'}); nothing reloaded`);
  }

  const deadline = t1 + o.verifyTimeoutMs;
  let gen: GenerationCheck = { changed: false, fresh: [], lingering: oldWorkers };
  let health: HealthAnswer | null = null;
  for (;;) {
    gen = checkGeneration(oldWorkers, listWorkers(master.pid));
    if (gen.changed) {
      if (o.healthUrl === undefined) break;
      const left = Math.max(1, Math.min(o.healthTimeoutMs, deadline - performance.now()));
      const answer = await httpGet(o.healthUrl, left, ctx.signal);
      if (answer.ok && healthAccepted(answer.status, answer.body, o)) break;
      // A request cut short by the deadline says less than an earlier real answer: keep that one for the error.
      if (answer.ok || health === null || !health.ok) health = answer;
    }
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (!readMasterPid(o.pidFile).ok) throw new Error(`nginx master ${master.pid} went away during the reload; check nginx's error log`);
    if (performance.now() >= deadline) {
      throw new Error(
        gen.changed
          ? `new nginx workers ${gen.fresh.join(',')} run but ${o.healthUrl} did not answer as expected within ${o.verifyTimeoutMs} ms (last: ${describeHealth(health)})`
          : `nginx master ${master.pid} started no new worker generation within ${o.verifyTimeoutMs} ms after SIGHUP ` +
              `(workers still serving: ${gen.lingering.join(',') || 'none'}); the new configuration is not live ` +
              `(nginx keeps the old one when it cannot apply a reload, e.g. a listen address in use): check its error log`,
      );
    }
    // The timer's AbortError says nothing; the signal's reason says why (timeout, superseded).
    await delay(o.pollMs, undefined, { signal: ctx.signal }).catch(() => Promise.reject(ctx.signal.reason));
  }
  const report: NginxReloadReport = { master: master.pid, oldWorkers, newWorkers: gen.fresh, testMs: round(testMs), verifyMs: round(performance.now() - t1) };
  ctx.log.info({ notifier: 'nginx', ...report }, 'nginx reloaded: new workers serve');
  return report;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
