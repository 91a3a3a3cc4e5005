/**
 * The environment a shell notifier's script sees: the triggering event, flattened
 * into VIPFLOW_* variables a script can use without parsing JSON, plus the whole
 * event as JSON for anything else. Pure.
 */
import type { VipflowEvent } from '../../infra/events/schema.js';

export interface ScriptContext {
  readonly event: VipflowEvent;
  readonly workflow: string;
  readonly step: string;
  readonly idempotencyKey: string;
  readonly attempt: number;
}

/**
 * VIPFLOW_EVENT (JSON), VIPFLOW_EVENT_ID, _TYPE, _CLUSTER, _NODE, VIPFLOW_WORKFLOW,
 * _STEP, _IDEMPOTENCY_KEY, _ATTEMPT; for instance events VIPFLOW_INSTANCE and VRID;
 * for transitions also VIPFLOW_FROM, VIPFLOW_STATE (keepalived's upper-case name,
 * as a notify script gets it), VIPFLOW_TO (vipflow's name), VIPFLOW_PRIORITY (effective)
 * and VIPFLOW_REASON.
 */
export function scriptEnvironment(c: ScriptContext): Record<string, string> {
  const e = c.event;
  const env: Record<string, string> = {
    VIPFLOW_EVENT: JSON.stringify(e),
    VIPFLOW_EVENT_ID: e.id,
    VIPFLOW_EVENT_TYPE: e.type,
    VIPFLOW_CLUSTER: e.cluster,
    VIPFLOW_NODE: e.node,
    VIPFLOW_WORKFLOW: c.workflow,
    VIPFLOW_STEP: c.step,
    VIPFLOW_IDEMPOTENCY_KEY: c.idempotencyKey,
    VIPFLOW_ATTEMPT: String(c.attempt),
  };
  const data = e.data as Record<string, unknown>;
  if (typeof data.instance === 'string') env.VIPFLOW_INSTANCE = data.instance;
  if (typeof data.vrid === 'number') env.VIPFLOW_VRID = String(data.vrid);
  if (e.type === 'instance.transition') {
    env.VIPFLOW_FROM = e.data.from;
    env.VIPFLOW_TO = e.data.to;
    env.VIPFLOW_STATE = keepalivedStateName(e.data.to);
    env.VIPFLOW_PRIORITY = String(e.data.effectivePriority);
    env.VIPFLOW_REASON = e.data.reason;
    env.VIPFLOW_INTERFACE = e.data.interface;
  }
  return env;
}

/** keepalived's notify state names, so a script shared with notify_* reads the same word. */
export function keepalivedStateName(state: string): string {
  return state === 'stopped' ? 'STOP' : state.toUpperCase();
}
