/**
 * The event bus: one interface, two implementations (in-process here, NATS
 * JetStream in nats-bus.ts), so consumers are written once.
 *
 * Contract shared by both:
 * - publish(event) returns at once: it enqueues and never throws into the caller
 *   (the caller is the VRRP core, which must never wait for or fail on events).
 * - Each subscription receives matching events in publish order, one at a time:
 *   the next event is handed over when the handler's promise (if any) settles.
 * - A handler that throws is logged and counted; delivery continues.
 */
import type { Logger } from '../../core/logger.js';
import { parseIsoNs } from './clock.js';
import type { EventType, VipflowEvent } from './schema.js';
import { instanceOf } from './schema-names.js';
import { memorySeq, type SeqSource } from './source.js';
import type { VrrpStateName } from '../../actors/vrrp/types.js';

export interface EventFilter {
  cluster?: string;
  instance?: string;
  node?: string;
  types?: readonly EventType[];
  /** Only `instance.transition` events entering one of these states. */
  toState?: VrrpStateName | readonly VrrpStateName[];
}

/** Where a subscription starts. Sequences are the bus's own (JetStream stream sequence, or in-process history position). */
export type StartAt = { from: 'new' } | { from: 'all' } | { from: 'time'; time: Date | string } | { from: 'seq'; seq: number };

export interface SubscribeOptions {
  /**
   * A durable name: the bus remembers what this subscriber has handled, and a later
   * subscribe with the same name resumes after it (start applies to the first one only).
   * Without it the subscription is ephemeral.
   */
  durable?: string;
  /** Default { from: 'new' }. */
  start?: StartAt;
}

export interface Delivery {
  /** Position of the event on the bus (JetStream stream sequence for NatsBus). */
  busSeq: number;
  subject: string;
}

export type EventHandler = (event: VipflowEvent, delivery: Delivery) => void | Promise<void>;

export interface SubscriptionStats {
  delivered: number;
  /** Messages on the subjects that were not valid events of a supported schema (NATS only). */
  invalid: number;
  handlerErrors: number;
  /** Events naming this node that its signing key did not sign (NATS, with a signing key only). */
  refused?: number;
}

export interface Subscription {
  readonly stats: SubscriptionStats;
  /** Resolves once every matching event that existed at subscribe time (the replay) has been handled. */
  readonly caughtUp: Promise<void>;
  close(): Promise<void>;
}

export interface EventBus {
  readonly kind: 'in-process' | 'nats';
  /** Sequence numbers for createEventSource; persisted across restarts where the bus has a state dir. */
  readonly seq: SeqSource;
  publish(event: VipflowEvent): void;
  subscribe(filter: EventFilter, handler: EventHandler, options?: SubscribeOptions): Promise<Subscription>;
  /**
   * No later subscriber will ask for the past: a bus that keeps events in memory for replay stops keeping them
   * (the in-process bus). A stream kept by a server (JetStream) is not this process's memory, and stays.
   */
  forgetHistory?(): void;
  close(): Promise<void>;
}

/** True when the event passes every criterion of the filter. */
export function matchesFilter(event: VipflowEvent, f: EventFilter): boolean {
  if (f.cluster !== undefined && event.cluster !== f.cluster) return false;
  if (f.node !== undefined && event.node !== f.node) return false;
  if (f.instance !== undefined && instanceOf(event) !== f.instance) return false;
  if (f.types !== undefined && f.types.length > 0 && !f.types.includes(event.type)) return false;
  if (f.toState !== undefined) {
    if (event.type !== 'instance.transition') return false;
    const states: readonly string[] = typeof f.toState === 'string' ? [f.toState] : f.toState;
    if (!states.includes(event.data.to)) return false;
  }
  return true;
}

/** Calls the handler and turns a throw or rejection into a counted, logged value. */
export async function deliverSafely(handler: EventHandler, event: VipflowEvent, delivery: Delivery, stats: SubscriptionStats, log: Logger): Promise<void> {
  try {
    await handler(event, delivery);
  } catch (err) {
    stats.handlerErrors++;
    log.error({ err, eventId: event.id, type: event.type }, 'event handler failed; continuing');
  }
  stats.delivered++;
}

interface Entry {
  busSeq: number;
  event: VipflowEvent;
}

interface LocalSubscriber {
  filter: EventFilter;
  handler: EventHandler;
  durable: string | undefined;
  queue: Entry[];
  pumping: boolean;
  closed: boolean;
  stats: SubscriptionStats;
  /** Deliveries after which the replay is complete, and what to call then. */
  replayed: { count: number; done: () => void } | null;
}

export interface InProcessBusOptions {
  log: Logger;
  /** Events kept for replay; the oldest are forgotten beyond it. Default 10,000. */
  historyLimit?: number;
  seq?: SeqSource;
}

/**
 * The bus for a single host without NATS: delivery inside this process, with a
 * bounded in-memory history for replay. Handlers run from setImmediate, never
 * inside publish(), so a slow or failing consumer cannot reach the publisher.
 */
export class InProcessBus implements EventBus {
  readonly kind = 'in-process' as const;
  readonly seq: SeqSource;
  private readonly log: Logger;
  private historyLimit: number;
  private history: Entry[] = [];
  private nextBusSeq = 1;
  private readonly subscribers = new Set<LocalSubscriber>();
  /** Durable name → last bus sequence handed to its handler (and settled). */
  private readonly durables = new Map<string, number>();
  private pending: Entry[] = [];
  private scheduled = false;
  private closed = false;

  constructor(o: InProcessBusOptions) {
    this.log = o.log.child({ bus: 'in-process' });
    this.historyLimit = o.historyLimit ?? 10_000;
    this.seq = o.seq ?? memorySeq();
  }

  publish(event: VipflowEvent): void {
    if (this.closed) return;
    const entry = { busSeq: this.nextBusSeq++, event };
    if (this.historyLimit > 0) {
      this.history.push(entry);
      // Trim in chunks so publish stays O(1) amortised.
      if (this.history.length > this.historyLimit * 1.25) this.history = this.history.slice(-this.historyLimit);
    }
    this.pending.push(entry);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.dispatch());
    }
  }

  private dispatch(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    for (const s of this.subscribers) {
      for (const e of batch) if (matchesFilter(e.event, s.filter)) s.queue.push(e);
      this.pump(s);
    }
  }

  private pump(s: LocalSubscriber): void {
    if (s.pumping || s.closed || s.queue.length === 0) return;
    s.pumping = true;
    void (async () => {
      while (!s.closed && s.queue.length > 0) {
        const e = s.queue.shift()!;
        await deliverSafely(s.handler, e.event, { busSeq: e.busSeq, subject: '' }, s.stats, this.log);
        if (s.durable !== undefined) this.durables.set(s.durable, e.busSeq);
        if (s.replayed && s.stats.delivered >= s.replayed.count) {
          s.replayed.done();
          s.replayed = null;
        }
      }
      s.pumping = false;
    })();
  }

  async subscribe(filter: EventFilter, handler: EventHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    if (this.closed) throw new Error('InProcessBus: subscribe after close');
    const stats: SubscriptionStats = { delivered: 0, invalid: 0, handlerErrors: 0 };
    const s: LocalSubscriber = { filter, handler, durable: options.durable, queue: [], pumping: false, closed: false, stats, replayed: null };
    const resumeAfter = options.durable !== undefined ? this.durables.get(options.durable) : undefined;
    const first = resumeAfter !== undefined ? resumeAfter + 1 : this.firstBusSeq(options.start ?? { from: 'new' });
    // Replay from history and join live delivery in one synchronous step: nothing is missed or doubled.
    const sinceNs = options.start?.from === 'time' && resumeAfter === undefined ? startTimeNs(options.start.time) : undefined;
    const pendingSeqs = new Set(this.pending.map((e) => e.busSeq));
    for (const e of this.history) {
      if (e.busSeq < first || pendingSeqs.has(e.busSeq)) continue;
      if (sinceNs !== undefined && (parseIsoNs(e.event.time) ?? 0n) < sinceNs) continue;
      if (matchesFilter(e.event, filter)) s.queue.push(e);
    }
    let done!: () => void;
    const caughtUp = new Promise<void>((r) => (done = r));
    if (s.queue.length === 0) done();
    else s.replayed = { count: s.queue.length, done };
    this.subscribers.add(s);
    this.pump(s);
    return {
      stats,
      caughtUp,
      close: async () => {
        s.closed = true;
        this.subscribers.delete(s);
      },
    };
  }

  /**
   * Drops the history and keeps none from now on. The daemon's only replaying subscriber is its workflow runner,
   * which subscribes from the daemon's start once its workflows load; after that (or when none run here) the
   * history is memory for nothing: about 2 MiB for the startup events of 1,000 instances, and up to 12,500 events
   * after flapping. A later subscription asking for the past gets what is published after it.
   */
  forgetHistory(): void {
    this.historyLimit = 0;
    this.history = [];
  }

  private firstBusSeq(start: StartAt): number {
    switch (start.from) {
      case 'new':
        return this.nextBusSeq;
      case 'all':
      case 'time':
        return 0;
      case 'seq':
        return start.seq;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.subscribers) s.closed = true;
    this.subscribers.clear();
  }
}

/** Nanoseconds since the epoch of a subscription's start time. */
export function startTimeNs(t: Date | string): bigint {
  if (t instanceof Date) return BigInt(t.getTime()) * 1_000_000n;
  return parseIsoNs(t) ?? BigInt(Date.parse(t) || 0) * 1_000_000n;
}
