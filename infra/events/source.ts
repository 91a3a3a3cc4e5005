/**
 * Where events are made: stamps the envelope (id, seq, time) so producers only
 * supply the type and payload.
 */
import { randomBytesLight } from '../../core/random-bytes.js';
import { createEventClock, type EventClock } from './clock.js';
import type { EventData, EventOf, EventType } from './schema.js';
import { CLUSTER_NAME, EVENT_SCHEMA } from './schema-names.js';

/** Hands out event sequence numbers; the outbox's persists them across restarts. */
export interface SeqSource {
  next(): number;
}

/** Sequence numbers that start at `first` and are forgotten at exit. */
export function memorySeq(first = 1): SeqSource {
  let n = first;
  return { next: () => n++ };
}

export interface EventSourceOptions {
  cluster: string;
  node: string;
  seq: SeqSource;
  /** Distinguishes this process start from others; random by default. */
  bootId?: string;
  clock?: EventClock;
}

export interface EventSource {
  readonly cluster: string;
  readonly node: string;
  readonly bootId: string;
  /** A new event; its id is fixed here so that every resend carries the same id. */
  make<T extends EventType>(type: T, data: EventData<T>): EventOf<T>;
  /**
   * The time the next event would carry. A subscription that must see every event made
   * from now on starts here: Date.now() can read up to a millisecond ahead of the event
   * clock (it is anchored once, then follows the monotonic clock), which would skip one.
   */
  now(): string;
}

/** @throws Error for a cluster name that cannot be a subject token (a configuration bug). */
export function createEventSource(o: EventSourceOptions): EventSource {
  if (!CLUSTER_NAME.test(o.cluster)) throw new Error(`invalid cluster name '${o.cluster}': use [A-Za-z0-9_-]{1,64}`);
  const bootId = o.bootId ?? randomBytesLight(4).toString('hex');
  const clock = o.clock ?? createEventClock();
  return {
    cluster: o.cluster,
    node: o.node,
    bootId,
    make(type, data) {
      const seq = o.seq.next();
      const { time, monoNs } = clock.now();
      return { schema: EVENT_SCHEMA, id: `${o.node}:${bootId}:${seq}`, type, cluster: o.cluster, node: o.node, seq, time, monoNs, data } as EventOf<
        typeof type
      >;
    },
    now: () => clock.now().time,
  };
}
