/**
 * vipflow events: the public surface. See schema.ts for the event model and the
 * subject scheme, bus.ts for the bus contract, outbox.ts for delivery guarantees.
 */
import { InProcessBus, type EventBus } from './bus.js';
import { NatsBus } from './nats-bus.js';
import type { EventBusSettings } from './open-bus.js';

export * from './schema.js';
export * from './bus.js';
export { NatsBus, type NatsBusOptions, type InstanceState, type StreamSettings } from './nats-bus.js';
export { openEventBus, isNatsBus, type EventBusSettings } from './open-bus.js';
export { createEventSource, memorySeq, type EventSource, type SeqSource } from './source.js';
export { createEventClock, type EventClock, type EventTime } from './clock.js';
export { SplitBrainDetector, mayReleaseFence, yieldOrder, type PeerState, type LocalInstance, type SplitBrainDecision } from './split-brain.js';
export { subjectFor, subjectFilter, streamName, kvBucketName, kvKey } from './subjects.js';

/** The bus a daemon uses: NatsBus when NATS is configured, InProcessBus otherwise. */
export function createEventBus(s: EventBusSettings): EventBus {
  if (s.nats) return new NatsBus({ ...s.nats, cluster: s.cluster, log: s.log, stateDir: s.stateDir, node: s.node });
  return new InProcessBus({ log: s.log });
}
