/**
 * The event bus over NATS JetStream.
 *
 * Publishing goes through the Outbox (outbox.ts): publish() never waits for NATS.
 * The outbox's sends go out from a worker thread with its own connection
 * (js-publisher.ts), so nats.js's per-message work stays off the VRRP thread.
 * Each event is published on `vipflow.<cluster>.<instance|_daemon>.<type>` with
 * `msgID` = event id, into the stream VIPFLOW_<cluster>, whose duplicate window
 * drops resends. The current state of every instance on every node is kept in the
 * KV bucket vipflow-state-<cluster> under `<instance>.<node>`, rewritten on each
 * transition and on a heartbeat timer, so a reader can tell a silent node (stale
 * heartbeatAt) from a stable one.
 *
 * Subscribing uses an ordered consumer (ephemeral) or a durable pull consumer with
 * explicit acks. Anything on the subjects that is not a valid event of a supported
 * schema is logged, counted and acknowledged: it never stops delivery.
 *
 * The bus is usable before NATS is: it connects (and reconnects) in the background.
 */
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { classifyConnectError, describeNatsAuth, natsConnectionOptions, readSeed, redactServers, type NatsSecurity } from './nats-connect.js';
import { SIGNATURE_HEADER, SIGNER_HEADER, eventSigner, verifyEvent } from './event-signature.js';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type OrderedConsumerOptions,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from '../../core/logger.js';
import {
  deliverSafely,
  matchesFilter,
  type EventBus,
  type EventFilter,
  type EventHandler,
  type StartAt,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionStats,
} from './bus.js';
import { Outbox, type OutboxTransport, type SendResult } from './outbox.js';
import { PipelinedPublisher, WorkerPublisher } from './js-publisher.js';
import { parseEvent, type EventOf, type VipflowEvent } from './schema.js';
import { memorySeq, type SeqSource } from './source.js';
import { decodeToken, kvBucketName, kvKey, streamName, streamSubjects, subjectFilter, subjectFor } from './subjects.js';
import type { FsyncPolicy } from './spill.js';

export interface StreamSettings {
  retention?: 'limits' | 'interest' | 'workqueue';
  /** Oldest event kept. Default 7 days. */
  maxAgeMs?: number;
  /** Stream size bound; the oldest events go first. Default 1 GiB. */
  maxBytes?: number;
  /** JetStream dedup window for msgID. Default 2 minutes (see the outbox's assumption). */
  duplicateWindowMs?: number;
  replicas?: number;
}

export interface NatsBusOptions {
  servers: string | string[];
  /** Credentials and TLS (nats-connect.ts); without them the bus connects with the URL alone. */
  security?: NatsSecurity;
  /** An nkey seed file: every published event is signed with it (event-signature.ts). */
  signingKeyFile?: string;
  /** JetStream domain of the stream and KV bucket (a site's leaf node); default: the server's own. */
  domain?: string;
  cluster: string;
  log: Logger;
  /** Where the outbox keeps spilled events and its sequence. Without it the bus is read-only: publish() logs and drops. */
  stateDir?: string;
  /** This node's name: used for the KV heartbeat log context only (events carry their own node). */
  node?: string;
  stream?: StreamSettings;
  /** Create or update the stream to these settings (default true). Readers pass false and require it to exist. */
  manageStream?: boolean;
  /** Rewrite every KV entry of this node this often. Default 5 s. */
  heartbeatMs?: number;
  memoryLimit?: number;
  /**
   * Events per pipelined send (see Outbox). Default 256: with publishing on the worker,
   * bench/events.ts measured 25,000 events/s at 256 against 12,000 at 64 (one window in
   * flight at a time), with the same 10 ms timer lateness on the main thread.
   */
  window?: number;
  /**
   * Publish from a worker thread with its own connection (default true), so that
   * nats.js's per-message work stays off the thread that runs the VRRP core.
   */
  publishInWorker?: boolean;
  fsync?: FsyncPolicy;
  /** Publish acknowledgement timeout. Default 2 s. */
  publishTimeoutMs?: number;
  /** Pause between connection attempts while NATS is unreachable at start. Default 500 ms. */
  connectRetryMs?: number;
}

/** The KV value for one instance on one node. */
export interface InstanceState {
  instance: string;
  node: string;
  vrid: number;
  family: string;
  state: string;
  effectivePriority: number;
  basePriority: number;
  masterSeen: string | null;
  /** The node's primary address for this instance (absent from older daemons). */
  source?: string;
  reason: string;
  /** Time of the transition into `state`. */
  lastChange: string;
  eventId: string;
  /** When this entry was last written (transition or heartbeat). */
  heartbeatAt: string;
}

const DAY_MS = 86_400_000;

/** The bus's NATS connection as the status shows it: never a secret, only the method and the last failure. */
export interface NatsConnectionStatus {
  state: 'connecting' | 'connected' | 'disconnected' | 'refused';
  /** The authentication method and its file (describeNatsAuth). */
  auth: string;
  /** Events are signed with this public nkey. */
  signer?: string;
  /** The last failed attempt, of the bus's connection or the publishing thread's. */
  lastError?: { kind: 'auth' | 'tls' | 'unreachable' | 'jetstream' | 'settings'; message: string; at: string };
}

export class NatsBus implements EventBus {
  readonly kind = 'nats' as const;
  readonly seq: SeqSource;
  private readonly log: Logger;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private jsm: JetStreamManager | null = null;
  private kv: KV | null = null;
  private publisher: PipelinedPublisher | WorkerPublisher | null = null;
  private connectedNow = false;
  private streamOk = false;
  private closing = false;
  private readonly outbox: Outbox | null;
  private readonly connectedWaiters: (() => void)[] = [];
  private readonly subscriptions = new Set<{ close(): Promise<void> }>();
  private readonly board = new Map<string, InstanceState>();
  private readonly dirty = new Set<string>();
  private kvFlushing = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly started: Promise<void>;
  private readonly conn: NatsConnectionStatus;

  constructor(private readonly o: NatsBusOptions) {
    this.log = o.log.child({ bus: 'nats', cluster: o.cluster });
    this.conn = { state: 'connecting', auth: describeNatsAuth(o.security ?? {}) };
    const signing = o.signingKeyFile ? readSeed(o.signingKeyFile, 'event signing key') : undefined;
    if (signing && 'problem' in signing) this.log.error({ file: o.signingKeyFile }, `${signing.problem}; events are sent unsigned`);
    const signer = signing && 'kp' in signing ? eventSigner(signing.kp) : undefined;
    if (signer) this.conn.signer = signer.publicKey;
    this.signer = signer;
    const connectedNow = () => this.connectedNow;
    const transport: OutboxTransport = {
      get ready() {
        return connectedNow();
      },
      send: (events) => this.send(events),
    };
    this.outbox = o.stateDir
      ? new Outbox({ stateDir: o.stateDir, log: this.log, transport, memoryLimit: o.memoryLimit, window: o.window ?? 256, fsync: o.fsync })
      : null;
    this.seq = this.outbox?.seq ?? memorySeq();
    if (this.outbox && o.publishInWorker !== false) {
      const w = new WorkerPublisher({
        servers: o.servers,
        name: `vipflow-${o.node ?? 'client'}-publisher`,
        ...(o.security ? { security: o.security } : {}),
        ...(signer ? { signingKeyFile: o.signingKeyFile } : {}),
      });
      w.onNotice = (n) => {
        // Unreachable is the bus's own line already; the thread adds what only it can hit (its credentials, its files).
        if (n.notice === 'failed' && n.kind && n.kind !== 'unreachable' && n.message)
          this.connectFailed({ kind: n.kind, message: `publishing connection: ${n.message}` }, 'publisher');
      };
      this.publisher = w;
    }
    this.started = this.connectLoop();
    if (this.outbox) {
      this.heartbeat = setInterval(() => this.beat(), o.heartbeatMs ?? 5000);
      this.heartbeat.unref();
    }
  }

  /** Outbox figures: queued in memory, spilled, delivered. */
  outboxStats() {
    return this.outbox?.stats();
  }

  /** Resolves true once connected (and the stream checked), false after timeoutMs. */
  connected(timeoutMs: number): Promise<boolean> {
    if (this.connectedNow) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.connectedWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** The connection's state, auth method and last failure (no secret). */
  connectionStatus(): NatsConnectionStatus {
    return { ...this.conn, ...(this.conn.lastError ? { lastError: { ...this.conn.lastError } } : {}) };
  }

  /**
   * A server has accepted a connection, whatever happened next: a client that gives up on dead servers
   * quickly may wait longer for one whose JetStream is still electing its leaders.
   */
  get serverAnswered(): boolean {
    return this.answered;
  }
  private answered = false;

  /** The last failed connection attempt (kind and message), e.g. for `vipflow events` to say why it gives up. */
  get lastConnectError(): NatsConnectionStatus['lastError'] {
    return this.conn.lastError;
  }

  private readonly signer: ReturnType<typeof eventSigner> | undefined;
  /** The last failure logged per connection (the bus's and the publishing thread's): one line per distinct failure. */
  private readonly lastLogged = new Map<'bus' | 'publisher', string>();
  /** The last asynchronous server error logged (a permission violation on a KV write, ...). */
  private lastServerError: string | undefined;

  /**
   * One failed attempt: logged once per distinct failure (refused credentials at error:
   * they will not fix themselves), shown in the status, and retried by the caller.
   */
  private connectFailed(f: { kind: 'auth' | 'tls' | 'unreachable' | 'jetstream' | 'settings'; message: string }, source: 'bus' | 'publisher' = 'bus'): void {
    const same = this.lastLogged.get(source) === f.message;
    this.lastLogged.set(source, f.message);
    this.conn.lastError = { ...f, at: new Date().toISOString() };
    if (f.kind === 'auth' || f.kind === 'settings') this.conn.state = 'refused';
    if (same) return;
    const ctx = { servers: redactServers(this.o.servers), auth: this.conn.auth, kind: f.kind };
    if (f.kind === 'unreachable') this.log.warn({ ...ctx, reason: f.message }, 'NATS unreachable; retrying in the background');
    else if (f.kind === 'jetstream') this.log.warn({ ...ctx, reason: f.message }, 'NATS answers but JetStream does not yet; retrying in the background');
    // Only a publishing bus (a daemon's, with an outbox) queues events; a reader (vipflow events) has none to keep.
    else this.log.error(ctx, `${f.message}; ${this.outbox ? 'events are queued, VRRP is not affected; ' : ''}retrying in the background`);
  }

  private async connectLoop(): Promise<void> {
    while (!this.closing) {
      // Read on every attempt: a fixed or rotated secret file is picked up without a restart.
      const o = natsConnectionOptions({ servers: this.o.servers, name: `vipflow-${this.o.node ?? 'client'}`, ...this.o.security });
      if (!o.ok) {
        this.connectFailed({ kind: 'settings', message: o.message });
        await new Promise((r) => setTimeout(r, this.o.connectRetryMs ?? 500));
        continue;
      }
      try {
        const nc = await connect(o.options);
        if (this.closing) {
          await nc.close();
          return;
        }
        this.answered = true;
        const inDomain = this.o.domain !== undefined ? { domain: this.o.domain } : {};
        let jsm;
        try {
          jsm = await jetstreamManager(nc, inDomain);
        } catch (err) {
          // The server answered but its JetStream did not: after a cluster server is lost this lasts until the
          // remaining servers elect a new meta leader (seconds), so callers may wait longer than for a dead server.
          await nc.close().catch(() => undefined);
          this.connectFailed(
            isJetStreamSettling(err)
              ? { kind: 'jetstream', message: `NATS answered but its JetStream did not (${errorText(err)})` }
              : classifyConnectError(err),
          );
          await new Promise((r) => setTimeout(r, this.o.connectRetryMs ?? 500));
          continue;
        }
        this.nc = nc;
        this.js = jetstream(nc, inDomain);
        this.jsm = jsm;
        if (this.outbox && !this.publisher) this.publisher = new PipelinedPublisher(nc, this.signer);
        void this.watchStatus(nc);
        await this.onUp('connected');
        return;
      } catch (err) {
        this.connectFailed(classifyConnectError(err, this.o.security ?? {}));
        await new Promise((r) => setTimeout(r, this.o.connectRetryMs ?? 500));
      }
    }
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.connectedNow = false;
        this.conn.state = 'disconnected';
        this.log.warn({ server: s.server, queued: this.outbox?.queued }, 'NATS connection lost; events are queued');
      } else if (s.type === 'reconnect') {
        await this.onUp('reconnected');
      } else if (s.type === 'error' && s.error) {
        // Permission violations arrive here: a role missing a permission must be visible, not silent.
        const f = classifyConnectError(s.error);
        this.conn.lastError = { kind: f.kind, message: f.kind === 'auth' ? f.message : String(s.error.message), at: new Date().toISOString() };
        // A refused KV write comes back at every heartbeat: one line per distinct error, not one per retry.
        if (this.lastServerError === String(s.error)) continue;
        this.lastServerError = String(s.error);
        this.log.error({ err: String(s.error), kind: f.kind }, f.kind === 'auth' ? f.message : 'NATS server error');
      }
    }
  }

  private async onUp(how: string): Promise<void> {
    try {
      if (this.o.manageStream !== false) await this.ensureStream();
      this.streamOk = true;
      if (this.outbox && !this.kv) {
        const replicas = this.o.stream?.replicas ?? 1;
        this.kv = await new Kvm(this.js!).create(kvBucketName(this.o.cluster), { history: 1, replicas });
        // An existing bucket keeps its copies through create(): bring it to the configured number, as the stream is.
        if ((await this.kv.status()).replicas !== replicas) {
          await this.jsm!.streams.update(`KV_${kvBucketName(this.o.cluster)}`, { num_replicas: replicas });
          this.log.info({ bucket: kvBucketName(this.o.cluster), replicas }, 'KV bucket copies updated');
        }
      }
    } catch (err) {
      // The next send retries the stream; the connection itself is up.
      this.log.error({ err }, 'NATS: cannot set up stream or KV bucket');
    }
    this.connectedNow = true;
    this.conn.state = 'connected';
    this.lastLogged.delete('bus');
    this.log.info({ how, auth: this.conn.auth, server: this.nc?.getServer(), queued: this.outbox?.queued }, 'NATS connection up');
    for (const w of this.connectedWaiters.splice(0)) w();
    this.outbox?.transportChanged();
    void this.flushKv();
  }

  private streamConfig(): Partial<StreamConfig> & { name: string } {
    const s = this.o.stream ?? {};
    const retention = { limits: RetentionPolicy.Limits, interest: RetentionPolicy.Interest, workqueue: RetentionPolicy.Workqueue }[s.retention ?? 'limits'];
    return {
      name: streamName(this.o.cluster),
      subjects: [streamSubjects(this.o.cluster)],
      retention,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(s.maxAgeMs ?? 7 * DAY_MS),
      max_bytes: s.maxBytes ?? 1 << 30,
      duplicate_window: nanos(s.duplicateWindowMs ?? 120_000),
      num_replicas: s.replicas ?? 1,
    };
  }

  /** Creates the stream, or brings an existing one to the configured limits. */
  private async ensureStream(): Promise<void> {
    const jsm = this.jsm!;
    const want = this.streamConfig();
    try {
      const info = await jsm.streams.info(want.name);
      const c = info.config;
      if (
        c.max_age !== want.max_age ||
        c.max_bytes !== want.max_bytes ||
        c.duplicate_window !== want.duplicate_window ||
        c.num_replicas !== want.num_replicas
      ) {
        await jsm.streams.update(want.name, {
          max_age: want.max_age,
          max_bytes: want.max_bytes,
          duplicate_window: want.duplicate_window,
          num_replicas: want.num_replicas,
        });
        this.log.info({ stream: want.name, replicas: want.num_replicas }, 'JetStream stream limits updated');
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.streams.add(want);
      this.log.info({ stream: want.name, subjects: want.subjects }, 'JetStream stream created');
    }
  }

  /** Outbox transport: pipelined publishes over one connection, counted from the head. */
  private async send(events: readonly VipflowEvent[]): Promise<SendResult> {
    const publisher = this.publisher;
    if (!publisher || !this.connectedNow) return { acked: 0, error: new Error('not connected') };
    try {
      if (!this.streamOk && this.o.manageStream !== false) {
        await this.ensureStream();
        this.streamOk = true;
      }
    } catch (error) {
      return { acked: 0, error };
    }
    const messages = events.map((e) => ({ subject: subjectFor(e), data: JSON.stringify(e), msgId: e.id }));
    const r = await publisher.publishAll(messages, this.o.publishTimeoutMs ?? 2000);
    // A missing stream (server restarted without its store) shows up as no responders: check it before the retry.
    if (r.error) this.streamOk = false;
    // The outbox keeps the event and retries; a refusal by the server's permissions must still be said, once, at error.
    if (r.error && classifyConnectError(r.error).kind === 'auth') this.connectFailed(classifyConnectError(r.error), 'publisher');
    else if (!r.error && this.lastLogged.delete('publisher') && this.conn.state === 'refused') this.conn.state = 'connected';
    return r;
  }

  publish(event: VipflowEvent): void {
    if (!this.outbox) {
      this.log.error({ eventId: event.id }, 'NatsBus opened without stateDir is read-only; event dropped');
      return;
    }
    this.outbox.enqueue(event);
    if (event.type === 'instance.transition') this.track(event);
  }

  private track(e: EventOf<'instance.transition'>): void {
    const key = kvKey(e.data.instance, e.node);
    const d = e.data;
    this.board.set(key, {
      instance: d.instance,
      node: e.node,
      vrid: d.vrid,
      family: d.family,
      state: d.to,
      effectivePriority: d.effectivePriority,
      basePriority: d.basePriority,
      masterSeen: d.masterSeen,
      ...(d.source !== undefined ? { source: d.source } : {}),
      reason: d.reason,
      lastChange: e.time,
      eventId: e.id,
      heartbeatAt: e.time,
    });
    this.dirty.add(key);
    if (!this.kvFlushing) queueMicrotask(() => void this.flushKv());
  }

  /** Rewrites this node's KV entries now (heartbeatAt = now): proof of life on demand. */
  refreshHeartbeat(): void {
    this.beat();
  }

  private beat(): void {
    const now = new Date().toISOString();
    for (const [key, s] of this.board) {
      s.heartbeatAt = now;
      this.dirty.add(key);
    }
    void this.flushKv();
  }

  /** Writes dirty entries; the latest value per key wins, failures stay dirty for the next try. */
  private async flushKv(): Promise<void> {
    if (this.kvFlushing || !this.kv || !this.connectedNow) return;
    this.kvFlushing = true;
    try {
      while (this.dirty.size > 0 && this.connectedNow) {
        const keys = [...this.dirty];
        this.dirty.clear();
        const results = await Promise.allSettled(keys.map((k) => this.kv!.put(k, JSON.stringify(this.board.get(k)))));
        results.forEach((r, i) => {
          if (r.status === 'rejected') this.dirty.add(keys[i]!);
        });
        if (results.some((r) => r.status === 'rejected')) break;
      }
    } finally {
      this.kvFlushing = false;
    }
  }

  /**
   * Resolves true once every queued event was acknowledged, false after timeoutMs
   * (the events stay queued; close() saves them for the next start).
   */
  async flush(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while ((this.outbox?.queued ?? 0) > 0) {
      if (Date.now() >= end) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  /**
   * Watches the cluster's KV bucket: `onPut` for every current entry and every
   * later write, `onDelete` for removals. Survives NATS outages: the watch is
   * opened again after the connection returns. Returns a function that stops it.
   */
  watchStates(onPut: (s: InstanceState, isUpdate: boolean) => void, onDelete: (instance: string, node: string) => void): () => void {
    let stopped = false;
    let current: { stop(): void } | null = null;
    const loop = async () => {
      while (!stopped && !this.closing) {
        try {
          if (!(await this.connected(1000))) continue;
          const kv = this.kv ?? (await new Kvm(this.js!).create(kvBucketName(this.o.cluster), { history: 1 }));
          const it = await kv.watch();
          current = it;
          if (stopped) it.stop();
          for await (const e of it) {
            if (e.operation === 'PUT') {
              try {
                onPut(e.json<InstanceState>(), e.isUpdate);
              } catch (err) {
                this.log.warn({ err, key: e.key }, 'ignoring an unreadable KV state entry');
              }
            } else {
              const [inst = '', node = ''] = e.key.split('.');
              onDelete(decodeToken(inst), decodeToken(node));
            }
          }
        } catch (err) {
          if (!stopped) this.log.warn({ err }, 'KV watch failed; retrying');
        }
        current = null;
        if (!stopped) await new Promise((r) => setTimeout(r, 500));
      }
    };
    void loop();
    return () => {
      stopped = true;
      current?.stop();
    };
  }

  /** Every instance/node entry in the cluster's KV bucket. */
  async currentStates(): Promise<InstanceState[]> {
    if (!(await this.connected(5000))) throw new Error('NATS not connected');
    const kv = this.kv ?? (await new Kvm(this.js!).open(kvBucketName(this.o.cluster)));
    const out: InstanceState[] = [];
    try {
      for await (const k of await kv.keys()) {
        const e = await kv.get(k);
        if (e && e.operation === 'PUT') out.push(e.json<InstanceState>());
      }
    } catch (err) {
      // The bucket is created with the first state write (by the publishing
      // worker); before that there is simply no state to report.
      if (isNotFound(err)) return [];
      throw err;
    }
    return out;
  }

  async subscribe(filter: EventFilter, handler: EventHandler, options: SubscribeOptions = {}): Promise<NatsSubscription> {
    if (!(await this.connected(10_000))) throw new Error('NATS not connected');
    const cluster = filter.cluster ?? this.o.cluster;
    const stream = streamName(cluster);
    const subject = subjectFilter(cluster, filter.instance, filter.types);
    const start = startConfig(options.start ?? { from: 'new' });
    const js = this.js!;
    let consumer;
    if (options.durable !== undefined) {
      try {
        await this.jsm!.consumers.info(stream, options.durable);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const cfg: Partial<ConsumerConfig> = { durable_name: options.durable, ack_policy: AckPolicy.Explicit, filter_subject: subject, ...start };
        await this.jsm!.consumers.add(stream, cfg);
      }
      consumer = await js.consumers.get(stream, options.durable);
    } else {
      consumer = await js.consumers.get(stream, { filter_subjects: subject, ...start } as Partial<OrderedConsumerOptions>);
    }
    const pendingAtStart = (await consumer.info()).num_pending;
    const messages = await consumer.consume({ max_messages: 512 });
    const sub = new NatsSubscription(
      messages,
      pendingAtStart,
      filter,
      handler,
      options.durable !== undefined,
      this.log.child({ subject, durable: options.durable }),
      this.ownEventCheck(),
    );
    this.subscriptions.add(sub);
    return sub;
  }

  /**
   * A daemon that signs its events reads its own node's events back (its
   * workflows run from them): one naming this node that its key did not sign
   * was forged by another publisher and is refused. Events of other nodes are
   * not judged here (workers hold the other nodes' keys).
   */
  private ownEventCheck(): OwnEventCheck | undefined {
    const node = this.o.node;
    const signer = this.signer;
    if (node === undefined || signer === undefined) return undefined;
    const trusted = { [node]: signer.publicKey };
    return (event, m) => {
      if (event.node !== node) return undefined;
      const v = verifyEvent(trusted, node, m.data, m.headers?.get(SIGNER_HEADER) || undefined, m.headers?.get(SIGNATURE_HEADER) || undefined);
      return v.ok ? undefined : v.reason;
    };
  }

  private closed: Promise<void> | null = null;

  /** Stops subscriptions, saves undelivered events (outbox), then closes the connection. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    for (const s of this.subscriptions) await s.close();
    await this.outbox?.close();
    await this.publisher?.close();
    await this.started;
    if (this.nc) {
      await this.flushKv().catch(() => undefined);
      await this.nc.close().catch(() => undefined);
    }
  }
}

function startConfig(s: StartAt): Partial<ConsumerConfig> {
  switch (s.from) {
    case 'new':
      return { deliver_policy: DeliverPolicy.New };
    case 'all':
      return { deliver_policy: DeliverPolicy.All };
    case 'time':
      return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: (s.time instanceof Date ? s.time : new Date(s.time)).toISOString() };
    case 'seq':
      return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: s.seq };
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10059 || e?.api_error?.err_code === 10014 || /not found/i.test(e?.message ?? '');
}

/** Why an event naming this node is not its own (see NatsBus.ownEventCheck), or undefined. */
type OwnEventCheck = (event: VipflowEvent, m: JsMsg) => string | undefined;

/**
 * One subscription's delivery loop. `caughtUp` resolves once every event that
 * existed when it started has been handed over (or skipped by the filter).
 */
export class NatsSubscription implements Subscription {
  readonly stats: SubscriptionStats = { delivered: 0, invalid: 0, handlerErrors: 0 };
  readonly caughtUp: Promise<void>;
  private markCaughtUp!: () => void;
  private readonly done: Promise<void>;

  constructor(
    private readonly messages: ConsumerMessages,
    pendingAtStart: number,
    private readonly filter: EventFilter,
    private readonly handler: EventHandler,
    private readonly acks: boolean,
    private readonly log: Logger,
    private readonly ownEvent?: OwnEventCheck,
  ) {
    this.caughtUp = new Promise((r) => (this.markCaughtUp = r));
    if (pendingAtStart === 0) this.markCaughtUp();
    this.done = this.run();
  }

  private async run(): Promise<void> {
    try {
      for await (const m of this.messages) {
        const r = parseEvent(m.data);
        let refusal: string | undefined;
        if (!r.ok) {
          this.stats.invalid++;
          this.log.warn(
            { subject: m.subject, streamSeq: m.seq, kind: r.error.kind, reason: r.error.message },
            'ignoring a message that is not a valid vipflow event',
          );
          if (this.acks) m.term();
        } else if ((refusal = this.ownEvent?.(r.event, m)) !== undefined) {
          this.stats.refused = (this.stats.refused ?? 0) + 1;
          this.log.warn(
            { subject: m.subject, streamSeq: m.seq, id: r.event.id, node: r.event.node, reason: refusal },
            "event refused: it names this node but this node's signing key did not sign it; not acted on",
          );
          if (this.acks) m.term();
        } else {
          if (matchesFilter(r.event, this.filter)) await deliverSafely(this.handler, r.event, { busSeq: m.seq, subject: m.subject }, this.stats, this.log);
          if (this.acks) m.ack();
        }
        if (m.info.pending === 0) this.markCaughtUp();
      }
    } catch (err) {
      this.log.error({ err }, 'subscription ended with an error');
    }
  }

  async close(): Promise<void> {
    this.messages.stop();
    await this.done;
  }
}

function errorText(err: unknown): string {
  return (err as { message?: string })?.message ?? String(err);
}

/**
 * A JetStream API call that failed because the cluster is settling (a request timeout or "temporarily unavailable"
 * while the remaining servers elect leaders after one is lost), not because of what was asked: worth retrying.
 */
export function isJetStreamSettling(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: number; status?: number; cause?: unknown };
  if (e?.name === 'TimeoutError' || /^timeout$/i.test(e?.message ?? '')) return true;
  if (e?.name === 'NoRespondersError' || e?.status === 503) return true;
  if (e?.name === 'JetStreamApiError' && (e.code === 10008 || /temporarily unavailable/i.test(e.message ?? ''))) return true;
  return e?.cause !== undefined && e.cause !== err && isJetStreamSettling(e.cause);
}
