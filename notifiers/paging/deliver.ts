/**
 * The shared body of every paging step: dry run, intention, secrets, one HTTP call, and
 * the verdict turned into what the workflow runner understands (return = done, throw =
 * failed, retried per the step's policy).
 */
import { PermanentStepError, type RetryPolicy, type StepContext, type StepSettings, type WorkflowStep } from '../../workflows/define.js';
import { networkFailure, PermanentFailures, sendJson, type Delivery } from './http.js';

export interface PreparedRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body: unknown;
}

export interface DeliverySpec {
  /** The receiver, for messages: `PagerDuty`, `Alertmanager`, `webhook`. */
  what: string;
  /** `trigger`, `resolve`, `fire`, `post`...: one step may deliver several actions. */
  action: string;
  /** Shown by a dry run and logged at debug: the URL (without secrets), keys, labels. Never a secret. */
  intent: Readonly<Record<string, unknown>>;
  /** Resolves secrets and builds the request; only called in real runs. May throw (a missing secret). */
  prepare(): Promise<PreparedRequest>;
  /** Reads the receiver's answer. */
  read(status: number, body: string): Delivery;
}

/**
 * Delivers once. Returns the accepted delivery's detail; throws an Error saying what
 * failed. A refusal that cannot succeed later (a 400) is remembered under the step's
 * idempotency key and action, so the runner's retries fail at once instead of sending
 * the same bad request again.
 */
export async function deliver(ctx: StepContext, refused: PermanentFailures, spec: DeliverySpec): Promise<Readonly<Record<string, unknown>> | undefined> {
  const memo = `${ctx.idempotencyKey}#${spec.action}`;
  const before = refused.get(memo);
  // A worker taking a run over may try again: the refusal is still permanent.
  if (before !== undefined) throw new PermanentStepError(`${before} (refused on an earlier attempt; not sent again)`);
  ctx.intend(`${spec.what} ${spec.action}`, spec.intent);
  if (ctx.dryRun) return undefined;
  const req = await spec.prepare();
  const r = await sendJson({ ...req, signal: ctx.signal });
  const d = r.kind === 'network' ? networkFailure(spec.what, req.url, r) : spec.read(r.status, r.body);
  if (d.ok) {
    ctx.log.info({ notifier: spec.what, action: spec.action, ...d.detail }, `${spec.what} ${spec.action} accepted`);
    return d.detail;
  }
  if (d.retryable) throw new Error(d.message);
  refused.add(memo, d.message);
  throw new PermanentStepError(d.message);
}

/** Retries for a page: a 429 or a 5xx usually passes within seconds; a failover page should not wait minutes. */
export const DEFAULT_PAGING_RETRY: RetryPolicy = { attempts: 3, backoffMs: 1000, factor: 2 };
export const DEFAULT_PAGING_TIMEOUT_MS = 10_000;

/** A WorkflowStep with the paging defaults, `settings` winning. */
export function pagingStep(defaultName: string, run: (ctx: StepContext) => Promise<unknown>, settings: StepSettings = {}): WorkflowStep {
  return {
    name: settings.name ?? defaultName,
    timeoutMs: settings.timeoutMs ?? DEFAULT_PAGING_TIMEOUT_MS,
    retry: settings.retry ?? DEFAULT_PAGING_RETRY,
    run,
  };
}

/** Something that can raise and clear an alert about the event's instance (used by healthAlertStep). */
export interface PagingTarget {
  /** For intentions and logs, e.g. `Alertmanager`. */
  readonly what: string;
  /** Raises (or re-raises) the alert; `note` says why (e.g. the failed health check). */
  fire(ctx: StepContext, note?: string): Promise<void>;
  /** Clears the alert the same options would raise for this event's instance. */
  resolve(ctx: StepContext): Promise<void>;
}
