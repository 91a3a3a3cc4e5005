/**
 * What an alert is about, read from the vipflow event that started the workflow: the
 * cluster, the node that saw it, and the VRRP instance. These identify an alert across
 * runs (a later resolve must name the same alert as the earlier fire), so they come from
 * the event's identity, never from its state or its id.
 */
import { instanceOf, type VipflowEvent } from '../../infra/events/schema.js';

export interface AlertSubject {
  cluster: string;
  node: string;
  /** `_daemon` for events that are not about one instance. */
  instance: string;
}

export function subjectOf(event: VipflowEvent): AlertSubject {
  return { cluster: event.cluster, node: event.node, instance: instanceOf(event) ?? '_daemon' };
}

/** One line saying what happened, e.g. `VI_1 on node-b (cluster dc1): backup -> master (master-down-timer)`. */
export function describeEvent(event: VipflowEvent): string {
  const s = subjectOf(event);
  const where = `${s.instance} on ${s.node} (cluster ${s.cluster})`;
  if (event.type === 'instance.transition') return `${where}: ${event.data.from} -> ${event.data.to} (${event.data.reason})`;
  if (event.type === 'cluster.split_brain') return `${where}: split brain, Masters ${event.data.masters.join(', ')}`;
  return `${where}: ${event.type}`;
}

/** Event facts worth attaching to an alert (custom details, annotations). */
export function eventFacts(event: VipflowEvent): Record<string, string | number> {
  const s = subjectOf(event);
  const facts: Record<string, string | number> = {
    cluster: s.cluster,
    node: s.node,
    instance: s.instance,
    event: event.type,
    eventId: event.id,
    eventTime: event.time,
  };
  if (event.type === 'instance.transition') {
    Object.assign(facts, {
      vrid: event.data.vrid,
      from: event.data.from,
      to: event.data.to,
      reason: event.data.reason,
      priority: event.data.effectivePriority,
    });
  }
  return facts;
}

/** The event's time with millisecond precision (`time` carries nanoseconds; not every receiver parses nine fraction digits). */
export function eventTimeMs(event: VipflowEvent): string {
  return new Date(Date.parse(event.time.slice(0, 23) + 'Z')).toISOString();
}
