/** Shared pieces for workflow tests: a bus, a node's event source, and a collector. */
import { InProcessBus } from '../../infra/events/bus.js';
import type { EventData, EventOf, VipflowEvent } from '../../infra/events/schema.js';
import { silentLogger } from '../../core/logger.js';
import { samplePayloads, testSource } from '../infra/events/fixtures.js';
import type { EventSource } from '../../infra/events/source.js';
import type { Emit, WorkflowEventType } from '../../workflows/run.js';

export const log = silentLogger();

export function transitionTo(
  src: EventSource,
  instance: string,
  to: EventData<'instance.transition'>['to'],
  from: EventData<'instance.transition'>['from'] = 'backup',
): EventOf<'instance.transition'> {
  return src.make('instance.transition', { ...samplePayloads['instance.transition'], instance, from, to });
}

export function splitBrain(src: EventSource, instance: string): EventOf<'cluster.split_brain'> {
  return src.make('cluster.split_brain', { instance, vrid: 51, masters: ['node-a', 'node-b'] });
}

export function setup() {
  const bus = new InProcessBus({ log });
  const src = testSource('node-a');
  return { bus, src };
}

/** Polls `cond` every 2ms; rejects after `ms`. */
export async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('waitFor: condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** An Emit that keeps what it is given, in order. */
export function collector() {
  const events: { type: WorkflowEventType; data: Record<string, unknown> }[] = [];
  const emit: Emit = (type, data) => void events.push({ type, data: data as Record<string, unknown> });
  return { events, emit };
}

/** Subscribes to every workflow.* event on the bus. */
export async function busWorkflowEvents(bus: InProcessBus): Promise<VipflowEvent[]> {
  const got: VipflowEvent[] = [];
  await bus.subscribe({ types: ['workflow.started', 'workflow.step', 'workflow.finished'] }, (e) => void got.push(e));
  return got;
}
