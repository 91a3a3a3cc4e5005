/**
 * One run of one workflow against one event: steps in order, each under its own
 * timeout and retry policy; on failure or cancellation the completed steps are
 * compensated in reverse order. Every start, step outcome and finish is reported
 * through `emit` as a workflow.* payload. Never throws.
 */
import type { Logger } from '../core/logger.js';
import { instanceOf, type EventData, type VipflowEvent } from '../infra/events/schema.js';
import { DEFAULT_STEP_TIMEOUT_MS, isPermanent, type Intent, type StepContext, type StepShell, type Workflow, type WorkflowStep } from './define.js';

export type WorkflowEventType = 'workflow.started' | 'workflow.step' | 'workflow.finished';
export type Emit = <T extends WorkflowEventType>(type: T, data: EventData<T>) => void;

/**
 * What happened to one step attempt. The v1 `workflow.step` status has no values for
 * retried / timed out / cancelled (adding enum values would break v1 consumers), so
 * those go out as status 'failed' with the outcome as the prefix of `error`.
 */
export type StepOutcome = 'succeeded' | 'failed' | 'retried' | 'timed_out' | 'cancelled' | 'skipped';

export interface StepRecord {
  step: string;
  /** `compensate` for a compensation call. */
  phase: 'run' | 'compensate';
  attempt: number;
  outcome: StepOutcome;
  error?: string;
  durationMs: number;
}

export interface RunResult {
  workflow: string;
  runId: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  steps: StepRecord[];
  durationMs: number;
}

export interface RunOptions {
  runId: string;
  log: Logger;
  emit: Emit;
  /** Builds the step's `$`, killing children when `signal` aborts. */
  shell: (signal: AbortSignal) => StepShell;
  /** Aborting it cancels the run (supersession, shutdown); its reason is reported. */
  cancel?: AbortSignal;
  /** Sets StepContext.dryRun: steps record intentions instead of acting. Default false. */
  dryRun?: boolean;
  /** Receives every StepContext.intend call. */
  onIntent?: (i: Intent) => void;
  /**
   * Steps an earlier owner of this run already completed (a worker taking over from a
   * crashed one, workflows/worker.ts): they are not run again and emit nothing, but are
   * compensated like any completed step if the run then fails or is cancelled.
   */
  completed?: ReadonlySet<string>;
  /**
   * Awaited after each step succeeds, before the next one starts, so a worker can record
   * progress durably; a rejection is logged and the run goes on.
   */
  onStepDone?: (step: string) => unknown;
  /**
   * Aborting it stops the run as `cancel` does but skips compensation and
   * workflow.finished: the run has been handed to another owner that continues it (and
   * reports its end), so undoing its steps here would be wrong.
   */
  abandon?: AbortSignal;
}

class StepTimeout extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms}ms`);
    this.name = 'StepTimeout';
  }
}

function message(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'string' ? e : (JSON.stringify(e) ?? String(e));
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

type Fn = (ctx: StepContext) => unknown;

/**
 * Calls `fn` once under a timeout and the run's cancel signal. The promise settles at
 * the timeout or cancellation even if `fn` ignores its signal: the call is abandoned
 * (its late result is swallowed) rather than awaited.
 */
async function attempt(
  fn: Fn,
  ctxBase: Omit<StepContext, 'signal' | '$' | 'attempt' | 'log' | 'intend'>,
  n: number,
  timeoutMs: number,
  o: RunOptions,
  log: Logger,
  cancel: AbortSignal | undefined,
) {
  const ac = new AbortController();
  let settle!: (e: unknown) => void;
  const stopped = new Promise<never>((_, reject) => (settle = reject));
  const onCancel = () => {
    // Settle first so the race reports the cancel, not the step's reaction to its abort.
    settle(cancel!.reason);
    ac.abort(cancel!.reason);
  };
  if (cancel?.aborted) onCancel();
  else cancel?.addEventListener('abort', onCancel, { once: true });
  const timer = setTimeout(() => {
    const e = new StepTimeout(timeoutMs);
    settle(e);
    ac.abort(e);
  }, timeoutMs);
  try {
    const slog = log.child({ attempt: n });
    const intend = (action: string, detail?: Readonly<Record<string, unknown>>) => {
      if (ctxBase.dryRun) slog.info({ action, detail }, 'dry run: would act');
      else slog.debug({ action, detail }, 'acting');
      try {
        o.onIntent?.({ workflow: ctxBase.workflow, step: ctxBase.step, action, ...(detail !== undefined ? { detail } : {}) });
      } catch (err) {
        slog.error({ err }, 'recording an intention failed');
      }
    };
    const ctx: StepContext = { ...ctxBase, attempt: n, signal: ac.signal, $: o.shell(ac.signal), log: slog, intend };
    const call = Promise.resolve().then(() => fn(ctx));
    call.catch(() => undefined);
    await Promise.race([call, stopped]);
  } finally {
    clearTimeout(timer);
    cancel?.removeEventListener('abort', onCancel);
  }
}

/** Runs `w` for `event`. Resolves with the outcome; never rejects. */
export async function runWorkflow(w: Workflow, event: VipflowEvent, o: RunOptions): Promise<RunResult> {
  const t0 = performance.now();
  const since = (t: number) => Math.max(0, Math.round(performance.now() - t));
  const instance = instanceOf(event);
  const log = o.log.child({ workflow: w.name, runId: o.runId, trigger: event.id });
  const records: StepRecord[] = [];
  const base = { workflow: w.name, runId: o.runId, ...(instance !== undefined ? { instance } : {}) };
  const safeEmit: Emit = (type, data) => {
    try {
      o.emit(type, data);
    } catch (err) {
      log.error({ err, type }, 'publishing a workflow event failed');
    }
  };
  const record = (r: StepRecord) => {
    records.push(r);
    const status = r.outcome === 'succeeded' || r.outcome === 'skipped' ? r.outcome : 'failed';
    const error = r.outcome === 'failed' || r.outcome === 'succeeded' || r.outcome === 'skipped' ? r.error : `${r.outcome}: ${r.error ?? ''}`;
    safeEmit('workflow.step', {
      ...base,
      step: r.phase === 'compensate' ? `compensate:${r.step}` : r.step,
      status,
      durationMs: r.durationMs,
      ...(error !== undefined ? { error } : {}),
    });
  };
  const ctxFor = (s: WorkflowStep) => ({
    event,
    workflow: w.name,
    step: s.name,
    runId: o.runId,
    idempotencyKey: `${event.id}/${w.name}/${s.name}`,
    dryRun: o.dryRun ?? false,
  });

  const stop = o.abandon && o.cancel ? AbortSignal.any([o.cancel, o.abandon]) : (o.abandon ?? o.cancel);

  safeEmit('workflow.started', { ...base, trigger: event.id });
  log.info('workflow started');
  const done: WorkflowStep[] = [];
  let status: RunResult['status'] = 'succeeded';
  let index = 0;
  for (; index < w.steps.length; index++) {
    const s = w.steps[index]!;
    const slog = log.child({ step: s.name });
    if (o.completed?.has(s.name)) {
      slog.info('step completed by an earlier owner of this run; not run again');
      done.push(s);
      continue;
    }
    const attempts = s.retry?.attempts ?? 1;
    const timeoutMs = s.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
    let ok = false;
    for (let n = 1; n <= attempts && status === 'succeeded'; n++) {
      const ts = performance.now();
      try {
        await attempt(s.run.bind(s) as Fn, ctxFor(s), n, timeoutMs, o, slog, stop);
        record({ step: s.name, phase: 'run', attempt: n, outcome: 'succeeded', durationMs: since(ts) });
        ok = true;
        break;
      } catch (e) {
        const durationMs = since(ts);
        if (stop?.aborted) {
          record({ step: s.name, phase: 'run', attempt: n, outcome: 'cancelled', error: message(stop.reason), durationMs });
          status = 'cancelled';
          break;
        }
        const timedOut = e instanceof StepTimeout;
        const permanent = isPermanent(e);
        const last = n === attempts || permanent;
        const wait = last ? 0 : Math.round(s.retry!.backoffMs * (s.retry!.factor ?? 2) ** (n - 1));
        const error = last
          ? permanent && n < attempts
            ? `${message(e)} (not retried: trying again cannot help)`
            : message(e)
          : `${message(e)} (attempt ${n}/${attempts}, retrying in ${wait}ms)`;
        record({ step: s.name, phase: 'run', attempt: n, outcome: timedOut ? 'timed_out' : last ? 'failed' : 'retried', error, durationMs });
        slog.warn({ attempt: n, attempts, error: message(e), timedOut }, last ? 'step failed' : 'step failed; retrying');
        if (last) break;
        try {
          await sleep(wait, stop);
        } catch (c) {
          record({ step: s.name, phase: 'run', attempt: n + 1, outcome: 'cancelled', error: message(c), durationMs: 0 });
          status = 'cancelled';
        }
      }
    }
    if (!ok) {
      if (status === 'succeeded') status = 'failed';
      break;
    }
    done.push(s);
    try {
      await o.onStepDone?.(s.name);
    } catch (err) {
      slog.error({ err }, 'recording the completed step failed');
    }
  }
  for (const s of w.steps.slice(index + 1)) record({ step: s.name, phase: 'run', attempt: 0, outcome: 'skipped', durationMs: 0 });

  if (o.abandon?.aborted) log.warn({ reason: message(o.abandon.reason) }, 'run abandoned to another owner; not compensating here');
  else if (status !== 'succeeded') {
    // Compensations run to completion even after a cancel: they are the clean-up, so they
    // get a fresh signal bounded only by each step's own timeout.
    for (const s of done.reverse()) {
      if (!s.compensate) continue;
      const ts = performance.now();
      const timeoutMs = s.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
      try {
        await attempt(s.compensate.bind(s) as Fn, ctxFor(s), 1, timeoutMs, o, log.child({ step: s.name, phase: 'compensate' }), undefined);
        record({ step: s.name, phase: 'compensate', attempt: 1, outcome: 'succeeded', durationMs: since(ts) });
      } catch (e) {
        record({
          step: s.name,
          phase: 'compensate',
          attempt: 1,
          outcome: e instanceof StepTimeout ? 'timed_out' : 'failed',
          error: message(e),
          durationMs: since(ts),
        });
        log.error({ step: s.name, error: message(e) }, 'compensation failed; continuing with the others');
      }
    }
  }
  const durationMs = since(t0);
  // An abandoned run has not finished: its new owner publishes workflow.finished.
  if (!o.abandon?.aborted) safeEmit('workflow.finished', { ...base, status, durationMs });
  (status === 'succeeded' ? log.info.bind(log) : log.warn.bind(log))({ status, durationMs }, 'workflow finished');
  return { workflow: w.name, runId: o.runId, status, steps: records, durationMs };
}
