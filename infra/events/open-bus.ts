/**
 * The bus a daemon uses, with the NATS client (about 12 MiB of RSS with
 * JetStream and KV) loaded only when NATS is configured: a daemon that keeps
 * its events in the process never imports it. index.ts's createEventBus is the
 * same choice made synchronously, for callers that load everything anyway.
 */
import type { Logger } from '../../core/logger.js';
import { InProcessBus, type EventBus } from './bus.js';
import type { NatsBus, NatsBusOptions } from './nats-bus.js';

export interface EventBusSettings {
  cluster: string;
  log: Logger;
  /** Outbox state (spilled events, sequence); required with NATS. */
  stateDir: string;
  node: string;
  /** NATS servers; without them events stay in this process (one host works out of the box). */
  nats?: Omit<NatsBusOptions, 'cluster' | 'log' | 'stateDir' | 'node'>;
}

/** A bus on NATS (its kind says so): lets callers use NatsBus's extras without importing the NATS client. */
export function isNatsBus(bus: EventBus): bus is NatsBus {
  return bus.kind === 'nats';
}

/** NatsBus when NATS is configured (its module imported now), InProcessBus otherwise. */
export async function openEventBus(s: EventBusSettings): Promise<EventBus> {
  if (!s.nats) return new InProcessBus({ log: s.log });
  const { NatsBus } = await import('./nats-bus.js');
  return new NatsBus({ ...s.nats, cluster: s.cluster, log: s.log, stateDir: s.stateDir, node: s.node });
}
