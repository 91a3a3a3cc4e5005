/**
 * "Page when the new Master does not serve": a step for a MASTER workflow that checks
 * an HTTP health URL from this node and, when it keeps failing, fires an alert through a
 * PagingTarget (Alertmanager, PagerDuty); it then keeps watching for a bounded time and
 * resolves the alert as soon as the check passes. A node whose check passes at once sends
 * a resolve (so an alert left from an earlier Master period of this node is cleared).
 *
 * A run is cancelled when the instance changes state again (the runner supersedes it):
 * the watch stops and the alert stays. Pair it with a resolve step in a BACKUP/FAULT/STOP
 * workflow so a node that is no longer Master clears its own alert.
 */
import { z } from 'zod';
import type { RetryPolicy, StepContext, StepSettings, WorkflowStep } from '../../workflows/define.js';
import type { PagingTarget } from './deliver.js';
import { parseOptions } from './secret.js';

export const healthAlertOptionsSchema = z.strictObject({
  /** Checked with GET from this node (its own namespace), e.g. http://127.0.0.1/healthz. */
  url: z.url({ protocol: /^https?$/ }),
  /** One check fails after this long without an answer. */
  checkTimeoutMs: z.number().int().positive().default(2000),
  /** Healthy answers: this exact status, or any 2xx/3xx when unset. */
  expectStatus: z.number().int().min(100).max(599).optional(),
  /** Consecutive failed checks before the alert fires (a single blip does not page). */
  failuresToFire: z.number().int().min(1).max(100).default(2),
  /** Pause between checks. */
  intervalMs: z.number().int().positive().default(1000),
  /** After firing, keep checking this long and resolve once healthy; 0 fires and returns. */
  watchMs: z.number().int().nonnegative().default(60_000),
  /** While watching, post the alert again this often (Alertmanager expires an alert that is not re-posted). */
  refireMs: z.number().int().positive().default(60_000),
  /** Send a resolve when the first check passes. */
  resolveWhenHealthy: z.boolean().default(true),
});

export type HealthAlertOptions = z.input<typeof healthAlertOptionsSchema>;

export type HealthResult = { ok: true; status: number } | { ok: false; reason: string };

/**
 * One GET of `url`. Errors are values: refused, timed out, or an unexpected status.
 * @throws the signal's reason when `signal` aborts (the step is being cancelled).
 */
export async function checkHealth(url: string, timeoutMs: number, signal: AbortSignal, expectStatus?: number): Promise<HealthResult> {
  try {
    const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]), redirect: 'manual' });
    await res.body?.cancel().catch(() => undefined);
    const ok = expectStatus !== undefined ? res.status === expectStatus : res.status >= 200 && res.status < 400;
    return ok ? { ok: true, status: res.status } : { ok: false, reason: `status ${res.status}` };
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    const err = e as Error & { cause?: NodeJS.ErrnoException };
    if (err.name === 'TimeoutError') return { ok: false, reason: `no answer within ${timeoutMs}ms` };
    return { ok: false, reason: err.cause?.code ?? err.cause?.message ?? err.message };
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const done = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', done);
      resolve();
    }, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 2, backoffMs: 1000 };

/**
 * The health-check-then-page step. Its default timeout covers the checks before firing,
 * the watch, and 30 s for the alert posts.
 * @throws Error naming the bad option when `options` do not validate.
 */
export function healthAlertStep(options: HealthAlertOptions, target: PagingTarget, step: StepSettings = {}): WorkflowStep {
  const o = parseOptions('healthAlert', healthAlertOptionsSchema, options);
  const check = (ctx: StepContext) => checkHealth(o.url, o.checkTimeoutMs, ctx.signal, o.expectStatus);
  const run = async (ctx: StepContext) => {
    if (ctx.dryRun) {
      ctx.intend(
        `check ${o.url}; when it fails ${o.failuresToFire} time(s), fire an alert through ${target.what} and resolve it once healthy (watch ${o.watchMs}ms)`,
        {
          url: o.url,
          target: target.what,
        },
      );
      return;
    }
    const log = ctx.log.child({ health: o.url });
    let r = await check(ctx);
    for (let failed = 1; !r.ok && failed < o.failuresToFire; failed++) {
      await pause(o.intervalMs, ctx.signal);
      r = await check(ctx);
    }
    if (r.ok) {
      log.info({ status: r.status }, 'healthy');
      if (o.resolveWhenHealthy) await target.resolve(ctx);
      return;
    }
    const note = `health check ${o.url} failed: ${r.reason}`;
    log.warn({ reason: r.reason }, 'unhealthy: firing the alert');
    await target.fire(ctx, note);
    let lastFire = Date.now();
    const end = Date.now() + o.watchMs;
    while (Date.now() < end) {
      await pause(Math.min(o.intervalMs, Math.max(1, end - Date.now())), ctx.signal);
      const now = await check(ctx);
      if (now.ok) {
        log.info({ status: now.status }, 'healthy again: resolving the alert');
        await target.resolve(ctx);
        return;
      }
      if (Date.now() - lastFire >= o.refireMs) {
        await target.fire(ctx, `health check ${o.url} failed: ${now.reason}`);
        lastFire = Date.now();
      }
    }
    if (o.watchMs > 0) log.warn({ watchMs: o.watchMs }, 'still unhealthy at the end of the watch: the alert stays');
  };
  return {
    name: step.name ?? 'health-alert',
    timeoutMs: step.timeoutMs ?? o.failuresToFire * (o.checkTimeoutMs + o.intervalMs) + o.watchMs + 30_000,
    retry: step.retry ?? DEFAULT_RETRY,
    run,
  };
}
