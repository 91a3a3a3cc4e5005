/**
 * Workflow workers: the same workflows the daemon can run in-process, run instead by
 * any number of stateless processes sharing durable JetStream pull consumers
 * (`vipflow worker`). The daemon then only publishes events.
 *
 * Moving parts, and why:
 * - One durable pull consumer per trigger event type, shared by every worker:
 *   `vipflow-workers-transition`, `vipflow-workers-split_brain` and, for the checkers,
 *   `vipflow-workers-realserver_up` / `_down` / `_weight` and `vipflow-workers-quorum`,
 *   on stream VIPFLOW_<cluster>. One each, because nats-server 2.9 takes one filter
 *   subject per consumer and a filter covering several would also deliver every
 *   workflow.* event the workers publish. Created with deliver policy `new`: a first worker does not replay a
 *   week of old failovers.
 * - Explicit ack only after every run the message started has ended (succeeded, failed
 *   or cancelled: a failed workflow is reported by its workflow.finished event and not
 *   redelivered forever). ack_wait is 5 s and a running message gets `working()` every
 *   second, so a long run is never redelivered while its worker lives, and a crashed
 *   worker's message comes back to another worker about 5 s after its last heartbeat.
 *   max_deliver 20 stops a message that crashes every worker from looping forever.
 * - Bounded concurrency: each consumer is read with `fetch` for exactly as many
 *   messages as there are free slots (`concurrency`, per consumer), so no message waits
 *   in a client buffer while its ack_wait runs out.
 * - Exactly-once runs through claims in the KV bucket vipflow-runs-<cluster> (claims.ts,
 *   as many copies as the cluster's stream, so an R3 hub keeps them through a server loss):
 *   create/CAS, a 5 s lease renewed with the heartbeat, completed steps recorded before
 *   the next starts. A redelivery of a finished run is acked without running; a
 *   takeover resumes after the last completed step (steps at-least-once, workflows
 *   exactly-once). A worker that finds its claim taken (it was cut off longer than the
 *   lease) abandons the run without compensating: the new owner continues it.
 * - Supersession across workers (supersession.ts): every worker follows all
 *   transitions of the cluster with an ordered consumer, starting at the work
 *   consumer's ack floor (nothing older can still be redelivered; before the first ack,
 *   at the consumer's creation), and only fetches work once it has caught up. A newer transition cancels older runs of the same node
 *   and instance wherever they run (their compensations run there), and a late
 *   redelivery of a superseded transition starts nothing. The follower is a StreamFeed
 *   (infra/events/stream-feed.ts) checked every 2 s: an ordered consumer has one copy,
 *   and when another server holding it dies nats.js waits for it forever, so a stuck
 *   follower is caught up from the stream and reopened (in a 3-server cluster on
 *   loopback, without this a worker never cancelled a superseded run after such a loss).
 * - workflow.* events go to the stream from the worker (node = worker name), and the
 *   message is acked only after they are stored.
 * - NATS down at start or mid-run: logged, retried forever, never fatal. Runs keep
 *   going; their acks, claim writes and events wait for the connection.
 */
import { randomBytes } from 'node:crypto';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { classifyConnectError, describeNatsAuth, natsConnectionOptions, redactServers, type NatsSecurity } from '../infra/events/nats-connect.js';
import { SIGNATURE_HEADER, SIGNER_HEADER, verifyEvent, type TrustedNodes } from '../infra/events/event-signature.js';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type Consumer,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { StreamFeed, type FeedMessage, type FeedStart } from '../infra/events/stream-feed.js';
import type { Logger } from '../core/logger.js';
import { parseEvent, type VipflowEvent } from '../infra/events/schema.js';
import { createEventSource, memorySeq, type EventSource } from '../infra/events/source.js';
import { streamName, subjectFor } from '../infra/events/subjects.js';
import { CHECK_EVENT_TYPES, matchesTrigger, type CheckEventType, type GroupMembers, type StepShell, type Workflow } from './define.js';
import { runWorkflow, type Emit, type RunResult } from './run.js';
import { claimFor, decideClaim, finishClaim, parseClaim, renewClaim, runKey, settle, type RunOutcome, type RunningClaim } from './claims.js';
import { supersedes, TransitionLog, type TriggerRef } from './supersession.js';
import { zxShell } from './shell.js';

export type WorkKind = 'instance.transition' | 'cluster.split_brain' | CheckEventType;
const KINDS: readonly WorkKind[] = ['instance.transition', 'cluster.split_brain', ...CHECK_EVENT_TYPES];

const DURABLE_SUFFIX: Readonly<Record<WorkKind, string>> = {
  'instance.transition': 'transition',
  'cluster.split_brain': 'split_brain',
  'realserver.up': 'realserver_up',
  'realserver.down': 'realserver_down',
  'realserver.weight': 'realserver_weight',
  'virtualserver.quorum': 'quorum',
};

export const WORKER_DEFAULTS = {
  concurrency: 4,
  ackWaitMs: 5000,
  leaseMs: 5000,
  heartbeatMs: 1000,
  maxDeliver: 20,
  /** Pull requests expire after this; it also bounds how long a stop waits for a fetch to end. 1 s is nats.js's minimum. */
  fetchExpiresMs: 2000,
  retryMs: 500,
  /** How often the transition follower is checked against its stream (stream-feed.ts). */
  followCheckMs: 2000,
  /** Runs record ages out with the stream's default retention (7 days): a redelivery older than that cannot exist. */
  runsTtlMs: 7 * 86_400_000,
} as const;

export const durableName = (kind: WorkKind): string => `vipflow-workers-${DURABLE_SUFFIX[kind]}`;
export const runsBucketName = (cluster: string): string => `vipflow-runs-${cluster}`;
const kindSubject = (cluster: string, kind: WorkKind) => `vipflow.${cluster}.*.${kind}`;

export interface WorkflowWorkerOptions {
  servers: string | string[];
  /** Credentials and TLS (infra/events/nats-connect.ts). */
  security?: NatsSecurity;
  /**
   * node id -> the public nkey its daemon signs events with. When given, a trigger
   * that is unsigned, badly signed or signed by another key is refused (terminated,
   * never run), and a forged transition cancels nothing.
   */
  trustedNodes?: TrustedNodes;
  cluster: string;
  /** This worker's name: the node of its workflow.* events and the first part of its claim owner id. */
  name: string;
  workflows: readonly Workflow[];
  log: Logger;
  groups?: GroupMembers;
  /** Runs in flight per consumer. Default 4. */
  concurrency?: number;
  shell?: (signal: AbortSignal) => StepShell;
  onFinished?: (r: RunResult) => void;
  ackWaitMs?: number;
  leaseMs?: number;
  heartbeatMs?: number;
}

export interface WorkerStats {
  received: number;
  invalid: number;
  runsStarted: number;
  runsFinished: number;
  /** Redeliveries of finished runs, acked without running. */
  alreadyFinished: number;
  /** Late transitions that a newer one had superseded: nothing started. */
  superseded: number;
  /** Messages handed back because another live worker held the claim. */
  waits: number;
  takeovers: number;
  /** Runs abandoned because another worker took the claim (or at a forced stop). */
  abandoned: number;
  /** Triggers refused because their signature does not prove their node (trustedNodes). */
  refused: number;
}

/** Where the transition follower starts: a stream sequence, or a time (ISO). */
type FollowFrom = { seq: number } | { time: string };

interface ActiveRun {
  ref: TriggerRef;
  cancel: AbortController;
  abandon: AbortController;
  done: Promise<RunOutcome>;
}

/** What a trigger is about: its instance, or (checker events) its real or virtual server. */
function triggerKey(event: VipflowEvent): string {
  const d = event.data as { instance?: string; realServer?: string; virtualServer?: string };
  if (d.instance !== undefined) return d.instance;
  return d.realServer !== undefined ? `realserver:${d.realServer}` : `virtualserver:${d.virtualServer ?? ''}`;
}

function casConflict(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10071 || /wrong last sequence|key exists/i.test(e?.message ?? '');
}

// Not unref'd: while NATS is away these retry timers are what keeps a worker process alive.
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const encode = (v: unknown) => JSON.stringify(v);

export class WorkflowWorker {
  /** Claim owner id: a restarted worker of the same name is a different owner. */
  readonly id: string;
  readonly stats: WorkerStats = {
    received: 0,
    invalid: 0,
    runsStarted: 0,
    runsFinished: 0,
    alreadyFinished: 0,
    superseded: 0,
    waits: 0,
    takeovers: 0,
    abandoned: 0,
    refused: 0,
  };
  /** Resolves once the worker is caught up with the transitions and fetching work. */
  readonly ready: Promise<void>;
  private markReady!: () => void;
  private readonly log: Logger;
  private readonly source: EventSource;
  private readonly o: Required<Pick<WorkflowWorkerOptions, 'concurrency' | 'ackWaitMs' | 'leaseMs' | 'heartbeatMs'>> & WorkflowWorkerOptions;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private jsm: JetStreamManager | null = null;
  private kv: KV | null = null;
  private readonly consumers = new Map<WorkKind, Consumer>();
  private readonly transitions = new TransitionLog();
  private readonly active = new Map<string, ActiveRun>();
  private readonly handlers = new Set<Promise<void>>();
  private readonly iterators = new Set<ConsumerMessages>();
  private follower: StreamFeed | undefined;
  private followerCheck: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Set when the stop bound is over: runs are abandoned and retries give up. */
  private forced = false;
  private readonly main: Promise<void>;

  private constructor(o: WorkflowWorkerOptions) {
    this.o = {
      ...o,
      concurrency: o.concurrency ?? WORKER_DEFAULTS.concurrency,
      ackWaitMs: o.ackWaitMs ?? WORKER_DEFAULTS.ackWaitMs,
      leaseMs: o.leaseMs ?? WORKER_DEFAULTS.leaseMs,
      heartbeatMs: o.heartbeatMs ?? WORKER_DEFAULTS.heartbeatMs,
    };
    if (!(this.o.concurrency >= 1)) throw new Error('WorkflowWorker: concurrency must be >= 1');
    this.id = `${o.name}#${randomBytes(3).toString('hex')}`;
    this.log = o.log.child({ component: 'worker', worker: this.id, cluster: o.cluster });
    this.source = createEventSource({ cluster: o.cluster, node: o.name, seq: memorySeq() });
    this.ready = new Promise((r) => (this.markReady = r));
    for (const w of o.workflows) {
      if (w.on.group !== undefined && !(o.groups && w.on.group in o.groups)) {
        this.log.warn({ workflow: w.name, group: w.on.group }, 'workflow names a sync group this worker does not know; it will never start here');
      }
    }
    this.main = this.run();
  }

  /** Starts connecting and consuming in the background; see `ready`. Never throws for NATS trouble. */
  static start(o: WorkflowWorkerOptions): WorkflowWorker {
    return new WorkflowWorker(o);
  }

  /** Runs in progress on this worker. */
  get running(): number {
    return this.active.size;
  }

  private async run(): Promise<void> {
    const nc = await this.connectLoop();
    if (!nc) return;
    let logged = false;
    while (!this.stopping) {
      try {
        void this.follow(await this.setup(nc));
        break;
      } catch (err) {
        if (!logged)
          this.log.warn(
            { err: String(err), stream: streamName(this.o.cluster) },
            'cannot set up consumers yet (has a daemon published to this cluster?); retrying',
          );
        logged = true;
        await sleep(1000);
      }
    }
  }

  private async connectLoop(): Promise<NatsConnection | null> {
    let last = '';
    const auth = describeNatsAuth(this.o.security ?? {});
    while (!this.stopping) {
      const o = natsConnectionOptions({ servers: this.o.servers, name: `vipflow-worker-${this.o.name}`, ...this.o.security });
      try {
        if (!o.ok) throw Object.assign(new Error(o.message), { settings: true });
        const nc = await connect(o.options);
        this.nc = nc;
        this.js = jetstream(nc);
        this.jsm = await jetstreamManager(nc);
        this.log.info({ server: nc.getServer(), auth, signedEventsOnly: this.o.trustedNodes !== undefined }, 'NATS connected');
        void (async () => {
          for await (const s of nc.status()) {
            if (s.type === 'disconnect') this.log.warn({ server: s.server }, 'NATS connection lost; runs continue, acks and events wait for it');
            else if (s.type === 'reconnect') this.log.info({ server: s.server }, 'NATS connection back');
          }
        })().catch(() => undefined);
        return nc;
      } catch (err) {
        // One line per distinct failure; refused credentials and unreadable files at error: they need an operator.
        const f = (err as { settings?: boolean }).settings
          ? { kind: 'settings', message: (err as Error).message }
          : classifyConnectError(err, this.o.security ?? {});
        if (f.message !== last) {
          const ctx = { servers: redactServers(this.o.servers), auth, kind: f.kind };
          if (f.kind === 'unreachable') this.log.warn({ ...ctx, reason: f.message }, 'NATS unreachable; retrying until it answers');
          else this.log.error(ctx, `${f.message}; retrying`);
        }
        last = f.message;
        await sleep(WORKER_DEFAULTS.retryMs);
      }
    }
    return null;
  }

  /** Stream check, runs bucket, consumers; returns where the transition follower starts. */
  private async setup(nc: NatsConnection): Promise<FollowFrom> {
    const stream = streamName(this.o.cluster);
    // The claims get as many copies as the stream they guard: with R1 claims on an R3 hub, losing the one server
    // holding them would stop every run while the stream and its consumers carry on.
    const replicas = Math.max(1, (await this.jsm!.streams.info(stream)).config.num_replicas);
    const bucket = runsBucketName(this.o.cluster);
    this.kv = await new Kvm(nc).create(bucket, { history: 1, ttl: WORKER_DEFAULTS.runsTtlMs, replicas });
    // An existing bucket is used as it is by nats.js: one made with fewer copies (before this rule) is scaled up.
    const runs = await this.jsm!.streams.info(`KV_${bucket}`);
    if (runs.config.num_replicas < replicas) {
      await this.jsm!.streams.update(`KV_${bucket}`, { num_replicas: replicas });
      this.log.info({ bucket, from: runs.config.num_replicas, to: replicas }, 'claims bucket scaled to the copies of its stream');
    }
    for (const kind of KINDS) {
      const cfg: Partial<ConsumerConfig> = {
        durable_name: durableName(kind),
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(this.o.ackWaitMs),
        max_deliver: WORKER_DEFAULTS.maxDeliver,
        filter_subject: kindSubject(this.o.cluster, kind),
        deliver_policy: DeliverPolicy.New,
        max_ack_pending: 10_000,
      };
      try {
        await this.jsm!.consumers.add(stream, cfg);
      } catch (err) {
        // Another version created it with other settings: use it as it is rather than fight over it.
        await this.jsm!.consumers.info(stream, durableName(kind));
        this.log.warn({ err: String(err), consumer: durableName(kind) }, 'existing worker consumer has other settings; using it unchanged');
      }
      this.consumers.set(kind, await this.js!.consumers.get(stream, durableName(kind)));
    }
    const info = await this.jsm!.consumers.info(stream, durableName('instance.transition'));
    // Nothing at or below the ack floor can be delivered again. Before the first ack the
    // floor reads 0 (measured on 2.9.10), and the consumer, created with deliver policy
    // `new`, only ever delivers what came after its creation: start there, not at the
    // stream's beginning.
    return info.ack_floor.stream_seq > 0 ? { seq: info.ack_floor.stream_seq + 1 } : { time: info.created };
  }

  /**
   * Follows every transition of the cluster (ordered consumer) for supersession; starts
   * the work loops once it has caught up, so a redelivered old transition is judged
   * against everything published before it was fetched.
   */
  private async follow(from: FollowFrom): Promise<void> {
    const only = kindSubject(this.o.cluster, 'instance.transition');
    const start: FeedStart =
      'seq' in from
        ? { filter_subjects: only, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from.seq }
        : { filter_subjects: only, deliver_policy: DeliverPolicy.StartTime, opt_start_time: from.time };
    let logged = false;
    while (!this.stopping) {
      const feed = new StreamFeed({
        js: this.js!,
        jsm: this.jsm!,
        stream: streamName(this.o.cluster),
        start,
        only,
        apply: (m) => this.followed(m),
        log: this.log,
        logPrefix: 'transition follower',
      });
      this.follower = feed;
      if (await feed.start()) break;
      await feed.stop();
      if (!logged) this.log.warn({ stream: streamName(this.o.cluster) }, 'transition follower cannot start yet; retrying');
      logged = true;
      await sleep(WORKER_DEFAULTS.retryMs);
    }
    if (this.stopping) return;
    this.followerCheck = setInterval(() => void this.follower?.check(), WORKER_DEFAULTS.followCheckMs);
    this.followerCheck.unref();
    for (const kind of KINDS) void this.pullLoop(kind);
    this.log.info({ concurrency: this.o.concurrency, workflows: this.o.workflows.map((w) => w.name), followFrom: from }, 'worker consuming');
    this.markReady();
  }

  /** One transition from the follower. A forged transition must not cancel a genuine run: only proven ones count. */
  private followed(m: FeedMessage): void {
    const r = parseEvent(m.data);
    if (r.ok && r.event.type === 'instance.transition' && this.provenance(r.event, m.data, m.headers) === undefined)
      this.observe({ type: r.event.type, node: r.event.node, instance: r.event.data.instance, streamSeq: m.seq }, r.event.id);
  }

  /** undefined when the event may be acted on; else why not (only with trustedNodes: without them every event is accepted). */
  private provenance(event: VipflowEvent, data: Uint8Array, h: JsMsg['headers']): string | undefined {
    const trusted = this.o.trustedNodes;
    if (trusted === undefined) return undefined;
    const v = verifyEvent(trusted, event.node, data, h?.get(SIGNER_HEADER) || undefined, h?.get(SIGNATURE_HEADER) || undefined);
    return v.ok ? undefined : v.reason;
  }

  /** Records a transition and cancels the runs it supersedes on this worker. */
  private observe(ref: TriggerRef, eventId: string): void {
    this.transitions.observe(ref);
    for (const a of this.active.values()) {
      if (!a.cancel.signal.aborted && supersedes(ref, a.ref)) {
        this.log.info({ instance: ref.instance, node: ref.node, by: eventId }, 'newer transition: cancelling a running workflow');
        a.cancel.abort(new Error(`superseded by ${eventId}`));
      }
    }
  }

  /** Fetches exactly as many messages as there are free slots, and hands each to handle(). */
  private async pullLoop(kind: WorkKind): Promise<void> {
    let free = this.o.concurrency;
    let wake: (() => void) | null = null;
    // One warning per outage, not one per retry.
    let failing = false;
    while (!this.stopping) {
      if (free === 0) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      const want = free;
      free -= want;
      let got = 0;
      let it: ConsumerMessages | null = null;
      try {
        it = await this.consumers.get(kind)!.fetch({ max_messages: want, expires: WORKER_DEFAULTS.fetchExpiresMs });
        this.iterators.add(it);
        for await (const m of it) {
          got++;
          if (failing) this.log.info({ consumer: durableName(kind) }, 'fetching work again');
          failing = false;
          if (this.stopping) {
            m.nak();
            free++;
            continue;
          }
          const h = this.handle(m, kind).finally(() => {
            this.handlers.delete(h);
            free++;
            const w = wake;
            wake = null;
            w?.();
          });
          this.handlers.add(h);
        }
      } catch (err) {
        if (!this.stopping) {
          if (!failing) this.log.warn({ err: String(err), consumer: durableName(kind) }, 'fetching work failed; retrying until NATS answers');
          failing = true;
          await sleep(WORKER_DEFAULTS.retryMs);
        }
      } finally {
        if (it) this.iterators.delete(it);
        free += want - got;
      }
    }
  }

  /** One message: run every matching workflow (each claimed separately), then settle it. Never throws. */
  private async handle(m: JsMsg, kind: WorkKind): Promise<void> {
    this.stats.received++;
    const r = parseEvent(m.data);
    if (!r.ok || r.event.type !== kind) {
      this.stats.invalid++;
      this.log.warn({ subject: m.subject, streamSeq: m.seq, reason: r.ok ? `type ${r.event.type}` : r.error.message }, 'not a valid trigger event; terminated');
      m.term();
      return;
    }
    const event = r.event;
    const refused = this.provenance(event, m.data, m.headers);
    if (refused !== undefined) {
      this.stats.refused++;
      this.log.warn(
        {
          eventId: event.id,
          node: event.node,
          type: event.type,
          subject: m.subject,
          streamSeq: m.seq,
          reason: refused,
          signer: m.headers?.get(SIGNER_HEADER) || undefined,
        },
        'event refused: its signature does not prove the node it names; no workflow started',
      );
      m.term();
      return;
    }
    const ref: TriggerRef = { type: kind, node: event.node, instance: triggerKey(event), streamSeq: m.seq };
    if (kind === 'instance.transition') this.observe(ref, event.id);
    const superseded = this.transitions.supersededBy(ref);
    const workflows = this.o.workflows.filter((w) => matchesTrigger(w, event, this.o.groups));
    const heartbeat = setInterval(() => m.working(), this.o.heartbeatMs);
    try {
      // allSettled: one workflow failing to claim must not settle the message while another still runs.
      const results = await Promise.allSettled(workflows.map((w) => this.runOne(w, event, ref, superseded)));
      const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
      if (failed) {
        // KV unreachable and the like: hand the message back for a later try (finished runs are then acked without running).
        this.log.warn({ err: String(failed.reason), eventId: event.id }, 'could not process the message now; handing it back');
        if (!this.forced) m.nak(1000);
        return;
      }
      const s = settle(results.map((x) => (x as PromiseFulfilledResult<RunOutcome>).value));
      if (s.kind === 'ack') m.ack();
      else if (s.kind === 'nak') m.nak(s.delayMs);
      else if (this.stopping) m.nak();
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Claims and runs one workflow for one event; see claims.ts for the states. */
  private async runOne(w: Workflow, event: VipflowEvent, ref: TriggerRef, superseded: number | undefined): Promise<RunOutcome> {
    const kv = this.kv!;
    const key = runKey(event.id, w.name);
    const log = this.log.child({ workflow: w.name, eventId: event.id });
    if (superseded === undefined) {
      // Hot path: nearly every delivery is the first and finds no record, so claim with
      // create straight away (one KV round trip before the first step, not two); a
      // conflict means a record exists, and the full decision below reads it.
      const claim = claimFor(this.id, Date.now(), this.o.leaseMs);
      const rev = await kv.create(key, encode(claim)).catch((err: unknown) => {
        if (casConflict(err)) return null;
        throw err;
      });
      if (rev !== null) return this.execute(w, event, ref, key, claim, rev, superseded, log);
    }
    for (let tries = 0; tries < 5; tries++) {
      const entry = await kv.get(key);
      const current = entry && entry.operation === 'PUT' ? parseClaim(entry.value) : null;
      const d = decideClaim(current, this.id, Date.now(), this.active.has(key));
      switch (d.kind) {
        case 'finished':
          this.stats.alreadyFinished++;
          log.info({ status: d.status }, 'run already finished; acknowledged without running');
          return { kind: 'done' };
        case 'running-here': {
          // A redelivery reached the worker running it: settle this delivery when the run ends.
          const a = this.active.get(key);
          if (a) return a.done;
          continue;
        }
        case 'wait':
          this.stats.waits++;
          log.info({ owner: d.owner, delayMs: d.delayMs }, 'another worker holds the run; handing the message back');
          return { kind: 'wait', delayMs: d.delayMs };
        case 'create': {
          if (superseded !== undefined) {
            this.stats.superseded++;
            log.info({ supersededAt: superseded }, 'transition superseded by a newer one; no workflow started');
            await kv.create(key, encode(finishClaim(this.id, 'superseded', Date.now()))).catch(() => undefined);
            return { kind: 'done' };
          }
          const claim = claimFor(this.id, Date.now(), this.o.leaseMs);
          let rev: number;
          try {
            rev = await kv.create(key, encode(claim));
          } catch (err) {
            if (casConflict(err)) continue;
            throw err;
          }
          return this.execute(w, event, ref, key, claim, rev, superseded, log);
        }
        case 'takeover': {
          const prev = current !== null && current !== 'unreadable' && current.state === 'running' ? current : undefined;
          const claim = claimFor(this.id, Date.now(), this.o.leaseMs, { completed: d.completed, takeovers: prev?.takeovers ?? 0 });
          let rev: number;
          try {
            rev = await kv.update(key, encode(claim), entry!.revision);
          } catch (err) {
            if (casConflict(err)) continue;
            throw err;
          }
          this.stats.takeovers++;
          log.warn({ from: d.from, completed: d.completed }, 'claim expired: taking the run over after its last completed step');
          return this.execute(w, event, ref, key, claim, rev, superseded, log);
        }
      }
    }
    return { kind: 'wait', delayMs: 1000 };
  }

  private async execute(
    w: Workflow,
    event: VipflowEvent,
    ref: TriggerRef,
    key: string,
    first: RunningClaim,
    firstRev: number,
    superseded: number | undefined,
    log: Logger,
  ): Promise<RunOutcome> {
    const kv = this.kv!;
    const cancel = new AbortController();
    if (superseded !== undefined) cancel.abort(new Error(`superseded by a newer transition (stream seq ${superseded})`));
    const abandon = new AbortController();
    let claim = first;
    let rev = firstRev;
    let writes: Promise<void> = Promise.resolve();
    let queued = 0;
    // Claim writes are serialised: each CAS needs the revision the previous one produced.
    const write = (next: (c: RunningClaim) => RunningClaim): Promise<void> => {
      queued++;
      return (writes = writes.then(async () => {
        try {
          if (abandon.signal.aborted) return;
          const n = next(claim);
          rev = await kv.update(key, encode(n), rev);
          claim = n;
        } catch (err) {
          if (casConflict(err)) abandon.abort(new Error('claim taken over by another worker'));
          else log.debug({ err: String(err) }, 'claim renewal failed (NATS unreachable?); retrying with the next heartbeat');
        } finally {
          queued--;
        }
      }));
    };
    const published: Promise<void>[] = [];
    const emit: Emit = (type, data) => void published.push(this.publish(this.source.make(type, data) as VipflowEvent));
    // A renewal is skipped while another write waits: during an outage each one can take
    // a request timeout, and a queue of them would hold up the run's end long after.
    const renew = setInterval(() => queued === 0 && void write((c) => renewClaim(c, Date.now(), this.o.leaseMs)), this.o.heartbeatMs);
    let resolveDone!: (o: RunOutcome) => void;
    const active: ActiveRun = { ref, cancel, abandon, done: new Promise((r) => (resolveDone = r)) };
    this.active.set(key, active);
    this.stats.runsStarted++;
    let outcome: RunOutcome = { kind: 'lost' };
    try {
      const result = await runWorkflow(w, event, {
        runId: `${event.id}/${w.name}`,
        log: this.log,
        emit,
        shell: this.o.shell ?? zxShell,
        cancel: cancel.signal,
        abandon: abandon.signal,
        completed: new Set(claim.completed),
        onStepDone: (step) => write((c) => renewClaim(c, Date.now(), this.o.leaseMs, step)),
      });
      clearInterval(renew);
      await writes;
      if (abandon.signal.aborted) {
        this.stats.abandoned++;
        if (this.forced) await kv.update(key, encode({ ...claim, leaseUntil: 0 }), rev).catch(() => undefined);
        return outcome;
      }
      for (;;) {
        try {
          await kv.update(key, encode(finishClaim(this.id, result.status, Date.now())), rev);
          break;
        } catch (err) {
          if (casConflict(err)) return outcome;
          if (this.forced) return outcome;
          await sleep(WORKER_DEFAULTS.retryMs);
        }
      }
      await Promise.all(published);
      this.stats.runsFinished++;
      this.o.onFinished?.(result);
      outcome = { kind: 'done' };
      return outcome;
    } finally {
      clearInterval(renew);
      this.active.delete(key);
      resolveDone(outcome);
    }
  }

  /** Stores one event in the stream (deduplicated by id), retrying while NATS is away; gives up only at a forced stop. */
  private async publish(e: VipflowEvent): Promise<void> {
    for (;;) {
      try {
        await this.js!.publish(subjectFor(e), JSON.stringify(e), { msgID: e.id, timeout: 2000 });
        return;
      } catch (err) {
        if (this.forced) {
          this.log.error({ err: String(err), eventId: e.id, type: e.type }, 'workflow event not published before exit');
          return;
        }
        await sleep(WORKER_DEFAULTS.retryMs);
      }
    }
  }

  /**
   * Stops fetching, lets running workflows finish within `graceMs`, then abandons the
   * rest (no compensation: their claims are released and their messages handed back, so
   * another worker resumes them at once) and closes the connection.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.followerCheck);
    for (const it of this.iterators) it.stop();
    const followerEnd = this.follower?.stop();
    const idle = (async () => {
      while (this.handlers.size > 0) await Promise.all([...this.handlers]);
    })();
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([idle.then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), graceMs)))]);
    clearTimeout(timer);
    if (!inTime) {
      this.forced = true;
      this.log.warn({ running: this.active.size, graceMs }, 'workflows still running at the stop bound; handing them to other workers');
      for (const a of this.active.values()) a.abandon.abort(new Error('worker stopping'));
      await Promise.race([idle, sleep(2000)]);
    }
    this.forced = true;
    await Promise.race([Promise.all([this.main, followerEnd]), sleep(1000)]);
    if (this.nc) await Promise.race([this.nc.drain().catch(() => this.nc?.close()), sleep(2000)]);
    this.log.info(this.stats, 'worker stopped');
  }
}
