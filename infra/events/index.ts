/**
 * vipflow events: the public surface. See schema.ts for the event model and the
 * subject scheme, bus.ts for the bus contract, outbox.ts for delivery guarantees.
 */
import type { Logger } from '../../core/logger.js';
import { InProcessBus, type EventBus } from './bus.js';
import { NatsBus, type NatsBusOptions } from './nats-bus.js';

export * from './schema.js';
export * from './bus.js';
export { NatsBus, type NatsBusOptions, type InstanceState, type StreamSettings } from './nats-bus.js';
export { createEventSource, memorySeq, type EventSource, type SeqSource } from './source.js';
export { createEventClock, type EventClock, type EventTime } from './clock.js';
export { SplitBrainDetector, mayReleaseFence, yieldOrder, type PeerState, type LocalInstance, type SplitBrainDecision } from './split-brain.js';
export { subjectFor, subjectFilter, streamName, kvBucketName, kvKey } from './subjects.js';

export interface EventBusSettings {
  cluster: string;
  log: Logger;
  /** Outbox state (spilled events, sequence); required with NATS. */
  stateDir: string;
  node: string;
  /** NATS servers; without them events stay in this process (one host works out of the box). */
  nats?: Omit<NatsBusOptions, 'cluster' | 'log' | 'stateDir' | 'node'>;
}

/** The bus a daemon uses: NatsBus when NATS is configured, InProcessBus otherwise. */
export function createEventBus(s: EventBusSettings): EventBus {
  if (s.nats) return new NatsBus({ ...s.nats, cluster: s.cluster, log: s.log, stateDir: s.stateDir, node: s.node });
  return new InProcessBus({ log: s.log });
}
