/**
 * Typed workflows: `defineWorkflow({ name, on, steps })` declares what to do when an
 * instance changes state (or a split brain is seen). Workflows hang off the event bus
 * and can never delay the VRRP core; the runner (runner.ts) executes them in-process.
 *
 * Trigger names follow keepalived's notify states (MASTER, BACKUP, FAULT, STOP) so a
 * notify script translates one to one; each maps onto the machine's lowercase state
 * name as carried by `instance.transition.to`. `split_brain` maps onto the
 * `cluster.split_brain` event instead.
 */
import type { Logger } from '../core/logger.js';
import type { EventOf, VipflowEvent } from '../infra/events/schema.js';
import type { VrrpStateName } from '../actors/vrrp/types.js';

export type StateTrigger = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';
/** Checker health (keepalived's notify_up / notify_down / quorum_up / quorum_down, and misc_dynamic weights). */
export type CheckTrigger = 'realserver_up' | 'realserver_down' | 'realserver_weight' | 'quorum_up' | 'quorum_down';
export type Trigger = StateTrigger | 'split_brain' | CheckTrigger;

/** The event type each checker trigger fires on (quorum_up / quorum_down: virtualserver.quorum with `up`). */
export const CHECK_TRIGGER_EVENT = {
  realserver_up: 'realserver.up',
  realserver_down: 'realserver.down',
  realserver_weight: 'realserver.weight',
  quorum_up: 'virtualserver.quorum',
  quorum_down: 'virtualserver.quorum',
} as const satisfies Record<CheckTrigger, string>;

export type CheckEventType = (typeof CHECK_TRIGGER_EVENT)[CheckTrigger];
export const CHECK_EVENT_TYPES: readonly CheckEventType[] = ['realserver.up', 'realserver.down', 'realserver.weight', 'virtualserver.quorum'];

/** The machine state (instance.transition `to`) each state trigger fires on. */
export const TRIGGER_STATE: Readonly<Record<StateTrigger, VrrpStateName>> = {
  MASTER: 'master',
  BACKUP: 'backup',
  FAULT: 'fault',
  STOP: 'stopped',
};

/** The event a workflow triggered by T receives. */
export type TriggerEvent<T extends Trigger> = T extends 'split_brain'
  ? EventOf<'cluster.split_brain'>
  : T extends CheckTrigger
    ? EventOf<(typeof CHECK_TRIGGER_EVENT)[T]>
    : EventOf<'instance.transition'>;

/** What a shell step gets back: zx's ProcessOutput fits it, and so does the dry-run recorder. */
export interface ShellOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | null;
}
/** A `$` tagged template: zx's `$` bound to the step's signal, or a dry-run stand-in. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- zx's own `$` takes any interpolated value
export type StepShell = (pieces: TemplateStringsArray, ...args: any[]) => PromiseLike<ShellOutput>;

export interface StepContext<E extends VipflowEvent = VipflowEvent> {
  /** The event that started the run. */
  readonly event: E;
  readonly workflow: string;
  readonly step: string;
  readonly runId: string;
  /** Child logger carrying workflow, runId, step and attempt. */
  readonly log: Logger;
  /** Runs a command; the child process is killed when `signal` aborts. */
  readonly $: StepShell;
  /** Aborted on the step's timeout, or when the run is superseded or the runner stops. */
  readonly signal: AbortSignal;
  /**
   * `${event.id}/${workflow}/${step}`: the same on every attempt and every redelivery of
   * the event, so an external API can refuse a repeated side effect.
   */
  readonly idempotencyKey: string;
  /** 1 on the first try, then 2, 3, ... on retries. */
  readonly attempt: number;
  /**
   * True under `vipflow workflows test`: a step must not change anything outside the
   * process. `$` already only records commands; other side effects (HTTP, DNS, signals)
   * check this flag and call `intend` instead of acting.
   */
  readonly dryRun: boolean;
  /**
   * Records what the step would do (`action` in words, `detail` for the values), so a
   * dry run prints the runbook. Logged in real runs too, at debug, which costs nothing.
   */
  intend(action: string, detail?: Readonly<Record<string, unknown>>): void;
}

/** One recorded intention of a step (StepContext.intend). */
export interface Intent {
  readonly workflow: string;
  readonly step: string;
  readonly action: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface RetryPolicy {
  /** Total tries including the first (>= 1). */
  attempts: number;
  /** Wait before the 2nd try; later waits are multiplied by `factor`. */
  backoffMs: number;
  /** Default 2. */
  factor?: number;
}

export interface WorkflowStep<E extends VipflowEvent = VipflowEvent> {
  name: string;
  // Method syntax on purpose: it lets a step typed for one trigger's event sit in a
  // list of workflows over all triggers (parameter bivariance).
  run(ctx: StepContext<E>): unknown;
  /** Default DEFAULT_STEP_TIMEOUT_MS; a step that ignores its signal is abandoned at this point. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** Undoes the step; called in reverse order for completed steps when a later step fails or the run is cancelled. */
  compensate?(ctx: StepContext<E>): unknown;
}

/** What a user may adjust on a step that a notifier's factory makes. */
export interface StepSettings {
  name?: string;
  timeoutMs?: number;
  retry?: RetryPolicy;
}

export interface WorkflowTriggerSpec<T extends Trigger = Trigger> {
  /** Only these instances (default: any). */
  instance?: string | readonly string[];
  /** Only instances of this sync group; the runner resolves members from its `groups` option. */
  group?: string;
  /** Checker triggers: only these virtual servers, by the id `vipflow status` shows (`192.0.2.10:80`, `fwmark:7`, `group:web`). */
  virtualServer?: string | readonly string[];
  /** Checker triggers: only these real servers, as `address:port` or the full id `vs/address:port`. */
  realServer?: string | readonly string[];
  to: T | readonly T[];
}

export interface Workflow<T extends Trigger = Trigger> {
  readonly name: string;
  readonly on: WorkflowTriggerSpec<T>;
  readonly steps: readonly WorkflowStep<TriggerEvent<T>>[];
}

export const DEFAULT_STEP_TIMEOUT_MS = 30_000;

/**
 * Thrown by a step when trying again cannot help (an API refusing the payload, a
 * config nginx rejects): the step fails at once instead of spending its retries and
 * their backoff. Recognised by its `permanent` property, so a copy of this module
 * loaded by a user's file (tsx) works too.
 */
export class PermanentStepError extends Error {
  readonly permanent = true;
  constructor(message: string) {
    super(message);
    this.name = 'PermanentStepError';
  }
}

export function isPermanent(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { permanent?: unknown }).permanent === true;
}

/**
 * Declares a workflow. `on.to` fixes the type of `ctx.event` in every step.
 *
 * @throws Error for a definition that can never run correctly (no steps, duplicate
 *   step names, a non-positive timeout or retry count): a programmer mistake, caught at load.
 */
export function defineWorkflow<const T extends Trigger>(w: {
  name: string;
  on: WorkflowTriggerSpec<T>;
  steps: readonly WorkflowStep<TriggerEvent<T>>[];
}): Workflow<T> {
  const where = `workflow '${w.name}'`;
  if (typeof w.name !== 'string' || w.name === '') throw new Error('workflow: name must be a non-empty string');
  const tos: readonly string[] = typeof w.on.to === 'string' ? [w.on.to] : w.on.to;
  if (tos.length === 0) throw new Error(`${where}: on.to names no trigger`);
  for (const t of tos) if (t !== 'split_brain' && !(t in TRIGGER_STATE) && !(t in CHECK_TRIGGER_EVENT)) throw new Error(`${where}: unknown trigger '${t}'`);
  const checks = tos.filter((t) => t in CHECK_TRIGGER_EVENT).length;
  if (checks > 0 && checks < tos.length) throw new Error(`${where}: checker triggers and instance triggers cannot be mixed in one workflow`);
  if (checks > 0 && (w.on.instance !== undefined || w.on.group !== undefined))
    throw new Error(`${where}: on.instance / on.group select VRRP instances; checker triggers take on.virtualServer / on.realServer`);
  if (checks === 0 && (w.on.virtualServer !== undefined || w.on.realServer !== undefined))
    throw new Error(`${where}: on.virtualServer / on.realServer only apply to checker triggers (${Object.keys(CHECK_TRIGGER_EVENT).join(', ')})`);
  if (w.steps.length === 0) throw new Error(`${where}: no steps`);
  const seen = new Set<string>();
  for (const s of w.steps) {
    if (typeof s.name !== 'string' || s.name === '') throw new Error(`${where}: a step has no name`);
    if (seen.has(s.name)) throw new Error(`${where}: duplicate step '${s.name}'`);
    seen.add(s.name);
    if (s.timeoutMs !== undefined && !(s.timeoutMs > 0)) throw new Error(`${where}: step '${s.name}': timeoutMs must be > 0`);
    if (s.retry && !(Number.isInteger(s.retry.attempts) && s.retry.attempts >= 1 && s.retry.backoffMs >= 0)) {
      throw new Error(`${where}: step '${s.name}': retry needs attempts >= 1 and backoffMs >= 0`);
    }
  }
  return { name: w.name, on: w.on, steps: w.steps };
}

const oneOf = (want: string | readonly string[] | undefined, test: (v: string) => boolean): boolean =>
  want === undefined || (typeof want === 'string' ? test(want) : want.some(test));

/** A checker event against a workflow's checker triggers and its virtual / real server filters. */
function matchesCheckTrigger(w: Workflow, tos: readonly Trigger[], event: VipflowEvent): boolean {
  let fires: boolean;
  let realServer: string | undefined;
  switch (event.type) {
    case 'realserver.up':
    case 'realserver.down':
    case 'realserver.weight':
      fires = tos.some((t) => t in CHECK_TRIGGER_EVENT && CHECK_TRIGGER_EVENT[t as CheckTrigger] === event.type);
      realServer = event.data.realServer;
      break;
    case 'virtualserver.quorum':
      fires = tos.includes(event.data.up ? 'quorum_up' : 'quorum_down');
      break;
    default:
      return false;
  }
  if (!fires || !oneOf(w.on.virtualServer, (v) => v === event.data.virtualServer)) return false;
  if (w.on.realServer === undefined) return true;
  const rs = realServer;
  return rs !== undefined && oneOf(w.on.realServer, (r) => rs === r || rs.endsWith(`/${r}`));
}

/** Sync group name → member instance names. */
export type GroupMembers = Readonly<Record<string, readonly string[]>>;

/** True when `event` starts workflow `w` (instance, group and state all fit). */
export function matchesTrigger(w: Workflow, event: VipflowEvent, groups: GroupMembers = {}): boolean {
  let instance: string;
  const tos: readonly Trigger[] = typeof w.on.to === 'string' ? [w.on.to] : w.on.to;
  if (event.type === 'instance.transition') {
    if (!tos.some((t) => t in TRIGGER_STATE && TRIGGER_STATE[t as StateTrigger] === event.data.to)) return false;
    instance = event.data.instance;
  } else if (event.type === 'cluster.split_brain') {
    if (!tos.includes('split_brain')) return false;
    instance = event.data.instance;
  } else {
    return matchesCheckTrigger(w, tos, event);
  }
  const only = w.on.instance;
  if (only !== undefined && !(typeof only === 'string' ? only === instance : only.includes(instance))) return false;
  if (w.on.group !== undefined && !(groups[w.on.group] ?? []).includes(instance)) return false;
  return true;
}
