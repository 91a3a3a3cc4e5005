/**
 * One stream read in order into a callback, through nats.js ordered consumers, and
 * reopened when it is stuck (feed-stall.ts says when; this file does the I/O).
 *
 * The fleet view (fleet-hub.ts) reads every mirror at the hub this way, and a workflow
 * worker (workflows/worker.ts) the cluster's transitions, for supersession. An ordered
 * consumer has one copy; when the hub server holding it dies, nothing answers for
 * it any more and nats.js waits forever. `check()`, called every few seconds, asks
 * the stream (R3: its new leader answers) for its last sequence, every request
 * bounded; a feed behind it that has not moved for `stallMs` is stopped and a new
 * ordered consumer is opened from the message after the last one delivered, which
 * the remaining servers place on a live one; before that, the missing messages are
 * read one by one from the stream itself, so the view does not wait for the hub to
 * be able to create consumers again. Messages at or below the last sequence delivered
 * are not delivered twice, whichever way they come. A feed whose consumer loop ended
 * on its own (nats.js gave up on it) is reopened at the next check, lag or not.
 */
import {
  DeliverPolicy,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type OrderedConsumerOptions,
} from '@nats-io/jetstream';
import type { Logger } from '../../core/logger.js';
import { delivered, judgeFeed, openedProgress, type FeedProgress } from './feed-stall.js';
import { subjectMatches } from './subjects.js';

export type FeedStart = Partial<OrderedConsumerOptions> & { opt_start_time?: string };

/** What a feed hands on: a message from its consumer, or one read straight from the stream while catching up. */
export interface FeedMessage {
  /** Its stream sequence. */
  seq: number;
  subject: string;
  data: Uint8Array;
  headers?: JsMsg['headers'];
  json<T>(): T;
}

/** Messages read one by one from the stream per catch-up, at most (the consumer reopened after it reads the rest). */
const CATCH_UP_MAX = 256;

export interface StreamFeedOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  /** Where the first consumer starts and which subjects it reads; a reopened one starts after the last message delivered. */
  start: FeedStart;
  apply: (m: FeedMessage) => void;
  log: Logger;
  /** What the feed is, first in its log lines ('fleet', 'transition follower'). Default 'fleet'. */
  logPrefix?: string;
  /**
   * The feed's subject filter when it is narrower than the stream (the worker's transitions in a cluster's stream):
   * the stall check then asks for the last message on it rather than the stream's last, which the feed would never
   * reach, and a catch-up passes over the other subjects. Unset: the feed reads every subject of the stream.
   */
  only?: string;
  /** Bound on each request to the server (consumer creation, stream info). Default 3 s. */
  requestTimeoutMs?: number;
  /** How long a lag with no progress makes a feed stuck. Default 4 s. */
  stallMs?: number;
  now?: () => number;
}

/** `p`, or a rejection naming `what` once `ms` have passed. */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export class StreamFeed {
  private progress: FeedProgress;
  private messages: ConsumerMessages | undefined;
  private consumer: Consumer | undefined;
  private loop: Promise<void> = Promise.resolve();
  /** Bumped on every open: a replaced consumer's late messages are told apart. */
  private generation = 0;
  private checking = false;
  private stopped = false;
  /** The current consumer's loop ended without a stop or a reopen: nats.js gave up on it. */
  private loopEnded = false;
  private deniedLogged = false;
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  /** Times the feed was reopened because it was stuck. */
  reopens = 0;

  constructor(private readonly o: StreamFeedOptions) {
    this.now = o.now ?? Date.now;
    this.timeoutMs = o.requestTimeoutMs ?? 3000;
    this.prefix = o.logPrefix ?? 'fleet';
    this.progress = openedProgress(0, this.now());
  }

  /**
   * Opens the first consumer. Resolves true once what the stream held is applied (or the feed ended),
   * false when the stream cannot be read (logged).
   */
  async start(): Promise<boolean> {
    const opened = await this.open(this.o.start).catch((err: unknown) => {
      this.o.log.warn({ err: String(err), stream: this.o.stream }, `${this.prefix}: cannot read a stream (not mirrored yet?)`);
      return undefined;
    });
    if (!opened) return false;
    await Promise.race([opened.caughtUp, this.loop]);
    return true;
  }

  /** One watchdog round: the stream's last sequence, bounded; a stuck feed is reopened. Overlapping calls do nothing. */
  async check(): Promise<void> {
    if (this.checking || this.stopped || this.generation === 0) return;
    this.checking = true;
    try {
      let lastSeq: number;
      try {
        lastSeq = await this.lastSeq();
      } catch (err) {
        if (/permission/i.test(String(err))) {
          // Not an election that passes: a stuck feed would go unseen for good, so the operator hears of it once.
          if (!this.deniedLogged)
            this.o.log.warn(
              { err: String(err), stream: this.o.stream },
              `${this.prefix}: may not read the stream's last message (NATS permissions), so a stuck feed cannot be seen; allow $JS.API.STREAM.MSG.GET and STREAM.INFO on it`,
            );
          this.deniedLogged = true;
        } else {
          // The stream's leader may be in election: ask again next round.
          this.o.log.debug({ err: String(err), stream: this.o.stream }, `${this.prefix}: stream info unanswered`);
        }
        return;
      }
      const v = judgeFeed(this.progress, lastSeq, this.now(), this.o.stallMs ?? 4000);
      this.progress = v.progress;
      if (this.stopped) return;
      if (this.loopEnded) {
        this.o.log.warn({ stream: this.o.stream, lag: v.lag, position: this.progress.position }, `${this.prefix}: a stream feed ended; reopening it`);
      } else if (v.stuck) {
        this.o.log.warn(
          { stream: this.o.stream, lag: v.lag, position: this.progress.position, streamLastSeq: lastSeq, quietMs: this.now() - this.progress.progressAt },
          `${this.prefix}: a stream feed is stuck behind its stream (its consumer lost with a server?); reopening it`,
        );
      } else return;
      await this.catchUp(lastSeq);
      await this.reopen(lastSeq);
    } finally {
      this.checking = false;
    }
  }

  /** The sequence of the stream's last message, or of its last one on `only`: what the feed should have reached. */
  private async lastSeq(): Promise<number> {
    if (this.o.only === undefined) return (await bounded(this.o.jsm.streams.info(this.o.stream), this.timeoutMs, 'stream info')).state.last_seq;
    const last = await bounded(this.o.jsm.streams.getMessage(this.o.stream, { last_by_subj: this.o.only }), this.timeoutMs, 'last message get');
    return last?.seq ?? 0;
  }

  /**
   * Reads the lag straight from the stream, message by message (the stream's leader answers; no consumer needed), so
   * the view shows it even when no new consumer can be created yet (the hub still electing its leaders). Stops at the
   * first unanswered request; a sequence the stream no longer holds (a KV key's older value) is passed over.
   */
  private async catchUp(streamLastSeq: number): Promise<void> {
    const from = this.progress.position + 1;
    const to = Math.min(streamLastSeq, this.progress.position + CATCH_UP_MAX);
    for (let seq = from; seq <= to && !this.stopped; seq++) {
      let sm;
      try {
        sm = await bounded(this.o.jsm.streams.getMessage(this.o.stream, { seq }), this.timeoutMs, 'message get');
      } catch (err) {
        this.o.log.debug({ err: String(err), stream: this.o.stream, seq }, `${this.prefix}: reading a stream message failed; the consumer will`);
        return;
      }
      if (seq <= this.progress.position) continue;
      this.progress = delivered(this.progress, seq, this.now());
      if (sm && (this.o.only === undefined || subjectMatches(this.o.only, sm.subject)))
        this.o.apply({ seq, subject: sm.subject, data: sm.data, headers: sm.header, json: <T>() => sm.json<T>() });
    }
  }

  /** A new consumer from the message after the last one delivered; `streamLastSeq`, just read, spares asking again. */
  private async reopen(streamLastSeq: number): Promise<void> {
    this.reopens++;
    // The old loop is ours to end: a new generation first, so its end is not taken for nats.js giving up on it.
    this.generation++;
    this.messages?.stop();
    // The old loop ends once stopped; a loop stuck in nats.js is not waited for beyond the bound.
    await bounded(this.loop, this.timeoutMs, 'old feed end').catch(() => undefined);
    // Nobody waits for the stuck consumer's deletion: the server drops it after its inactivity threshold anyway.
    this.consumer?.delete().catch(() => undefined);
    try {
      await this.open(
        {
          filter_subjects: this.o.start.filter_subjects,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: this.progress.position + 1,
        },
        streamLastSeq,
      );
    } catch (err) {
      // Tried again at the next round that finds the feed stuck (the catch-up keeps the view current meanwhile).
      this.o.log.warn({ err: String(err), stream: this.o.stream }, `${this.prefix}: cannot reopen a stream feed yet; retrying`);
    }
  }

  /** A new ordered consumer from `from`, its messages applied by a loop of its own generation. */
  private async open(from: FeedStart, streamLastSeq?: number): Promise<{ caughtUp: Promise<void> }> {
    const gen = ++this.generation;
    // The stream's end before the consumer exists: if the consumer has nothing pending, the feed covers up to here.
    const endBefore = streamLastSeq ?? (await bounded(this.o.jsm.streams.info(this.o.stream), this.timeoutMs, 'stream info')).state.last_seq;
    const consumer = await bounded(this.o.js.consumers.get(this.o.stream, from as Partial<OrderedConsumerOptions>), this.timeoutMs, 'creating a consumer');
    // The creation's answer (cached by nats.js): no round trip to a consumer that may already be unreachable.
    const info = await consumer.info(true);
    let pending = info.num_pending;
    const start = pending === 0 ? Math.max(endBefore, info.delivered.stream_seq) : info.delivered.stream_seq;
    this.progress = openedProgress(Math.max(this.progress.position, start), this.now());
    this.o.log.debug({ stream: this.o.stream, consumer: info.name, position: this.progress.position }, `${this.prefix}: reading a stream`);
    let markCaughtUp!: () => void;
    const caughtUp = new Promise<void>((r) => (markCaughtUp = r));
    if (pending === 0) markCaughtUp();
    // Pull requests of 5 s (heartbeats every 2.5 s): a consumer whose server restarted is recreated by nats.js within seconds.
    const messages = await bounded(consumer.consume({ max_messages: 1024, expires: 5000 }), this.timeoutMs, 'consume');
    if (this.stopped || gen !== this.generation) {
      messages.stop();
      return { caughtUp };
    }
    this.messages = messages;
    this.consumer = consumer;
    this.loopEnded = false;
    this.loop = (async () => {
      for await (const m of messages) {
        if (gen !== this.generation) break;
        const seq = m.info.streamSequence;
        if (seq > this.progress.position) {
          this.progress = delivered(this.progress, seq, this.now());
          this.o.apply({ seq, subject: m.subject, data: m.data, headers: m.headers, json: <T>() => m.json<T>() });
        }
        if (pending > 0 && (--pending === 0 || m.info.pending === 0)) {
          pending = 0;
          markCaughtUp();
        }
      }
    })()
      .catch((err: unknown) => this.o.log.warn({ err, stream: this.o.stream }, `${this.prefix}: reading a stream ended`))
      .finally(() => {
        if (!this.stopped && gen === this.generation) this.loopEnded = true;
      });
    return { caughtUp };
  }

  /** Stops reading and deletes the consumer (bounded), rather than leave it to the server's inactivity threshold. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.messages?.stop();
    await bounded(this.loop, this.timeoutMs, 'feed end').catch(() => undefined);
    if (this.consumer) await bounded(this.consumer.delete(), this.timeoutMs, 'consumer delete').catch(() => undefined);
  }
}
