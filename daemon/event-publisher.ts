/**
 * The daemon's event producer: turns what the daemon sees (start, VRRP and
 * sync group transitions, faults, reloads, tracked object changes, drop
 * counters, split brains, stop) into events on the bus, NATS or in-process.
 *
 * Off the VRRP path: publish() only enqueues (infra/events/bus.ts), and the
 * drop summaries run on their own timer. The workflows run off this bus
 * (workflow-host.ts); split-brain detection publishes through it
 * (split-brain-fence.ts).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../core/logger.js';
import { repoRoot } from '../core/paths.js';
import { InProcessBus, type EventBus } from '../infra/events/bus.js';
import type { NatsBus } from '../infra/events/nats-bus.js';
import { isNatsBus, openEventBus, type EventBusSettings } from '../infra/events/open-bus.js';
import { createEventSource, type EventSource } from '../infra/events/source.js';
import type { EventData, EventType, VipflowEvent } from '../infra/events/schema.js';
import type { InstanceRunner } from '../infra/vrrp/instance-runner.js';
import type { TransitionRecord } from '../actors/vrrp/types.js';
import { DROP_REASONS } from '../actors/vrrp/receive.js';
import type { GroupTransition } from '../actors/sync-group/index.js';
import type { SplitBrainPolicy } from './split-brain-fence.js';
import type { NatsSecurity } from '../infra/events/nats-connect.js';
import { redactServers } from '../infra/events/nats-redact.js';

/** How a daemon publishes; every field has a default, so one host works with none. */
export interface DaemonEventSettings {
  /** NATS servers; without them the daemon uses the in-process bus. */
  natsServers?: string | string[];
  /** Credentials and TLS for NATS (infra/events/nats-connect.ts), paths absolute. */
  natsSecurity?: NatsSecurity;
  /** An nkey seed file: every event is signed with it (infra/events/event-signature.ts). */
  signingKeyFile?: string;
  /** JetStream domain of the stream and state bucket (vipflow.nats.domain); default: the server's own. */
  natsDomain?: string;
  /** Copies and age bound of the stream and state bucket (vipflow.nats.replicas, maxAge). */
  natsStream?: { replicas?: number; maxAgeMs?: number };
  /** Cluster name (subject token, stream and bucket suffix). Default "default". */
  cluster?: string;
  /** This node's name in events and KV keys. Default the host name. */
  node?: string;
  /** `page`: event only (default). `fence`: the yielding Master also steps down until the conflict clears. */
  splitBrainPolicy?: SplitBrainPolicy;
  /** Advert intervals a double Master must last before it counts. Default 3. */
  splitBrainGraceIntervals?: number;
  /** Period of the `wire.drops` summary. Default 10 s. */
  dropsPeriodMs?: number;
  /** KV heartbeat period. Default 5 s (a peer entry older than 3 heartbeats is ignored). */
  heartbeatMs?: number;
  /** Bound on waiting for the outbox to drain at a graceful stop. Default 2 s. */
  stopFlushMs?: number;
  /**
   * A workflows module (workflows/load.ts) to run in-process off this bus, triggered by
   * this node's transitions. Loaded after start without delaying it; a file that does
   * not load is logged and the daemon runs without workflows.
   */
  workflowsFile?: string;
}

const RECENT_EVENTS = 50;

export interface EventPublisherStatus {
  bus: 'in-process' | 'nats';
  cluster: string;
  node: string;
  published: number;
  /** In-process bus: events its own subscriber received (proves delivery without NATS). */
  delivered: number;
  outbox?: ReturnType<NatsBus['outboxStats']>;
  /** The NATS connection: state, auth method, signer, last failure (never a secret). */
  nats?: ReturnType<NatsBus['connectionStatus']>;
  recent: { type: EventType; id: string; time: string; instance?: string }[];
}

/** The bus's settings and the events' identity: cluster, node and logger. */
function busSettings(s: DaemonEventSettings, stateDir: string, log: Logger): EventBusSettings {
  const cluster = s.cluster ?? 'default';
  const node = s.node ?? hostname();
  return {
    cluster,
    node,
    log: log.child({ component: 'events', cluster, node }),
    stateDir: join(stateDir, 'events'),
    ...(s.natsServers
      ? {
          nats: {
            servers: s.natsServers,
            heartbeatMs: s.heartbeatMs ?? 5000,
            ...(s.natsSecurity ? { security: s.natsSecurity } : {}),
            ...(s.signingKeyFile ? { signingKeyFile: s.signingKeyFile } : {}),
            ...(s.natsDomain !== undefined ? { domain: s.natsDomain } : {}),
            ...(s.natsStream ? { stream: s.natsStream } : {}),
          },
        }
      : {}),
  };
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export class EventPublisher {
  readonly bus: EventBus;
  readonly source: EventSource;
  readonly cluster: string;
  readonly node: string;
  /** The events' logger (component, cluster and node): the workflow host and the fence log through it. */
  readonly log: Logger;
  private readonly recent: EventPublisherStatus['recent'] = [];
  private published = 0;
  private delivered = 0;
  /**
   * Each instance's drop counters at the last report, in DROP_REASONS order,
   * updated in place: a copy per instance every period outlived the young
   * generation and became old-space garbage (a steady major-GC cost at 1,000 instances).
   */
  private readonly lastDrops = new Map<string, number[]>();
  private readonly lastDropTotals = new Map<string, number>();
  private dropsTimer: NodeJS.Timeout | null = null;
  /** Only daemon.stop is published from here on. */
  private sealed = false;
  private stopping = false;

  /** The bus these settings ask for, for the constructor: the NATS client is imported only when NATS servers are given (infra/events/open-bus.ts). */
  static openBus(s: DaemonEventSettings, stateDir: string, log: Logger): Promise<EventBus> {
    return openEventBus(busSettings(s, stateDir, log));
  }

  /**
   * @param runners the daemon's current instances (read on every drops period: reloads change them).
   * @param bus from EventPublisher.openBus; without it the in-process bus (settings with NATS need openBus).
   */
  constructor(
    private readonly s: DaemonEventSettings,
    stateDir: string,
    log: Logger,
    private readonly runners: () => Iterable<{ name: string; runner: InstanceRunner }>,
    bus?: EventBus,
  ) {
    const settings = busSettings(s, stateDir, log);
    this.cluster = settings.cluster;
    this.node = settings.node;
    this.log = settings.log;
    if (bus === undefined && settings.nats) throw new Error('an event publisher on NATS needs the bus from EventPublisher.openBus');
    this.bus = bus ?? new InProcessBus({ log: this.log });
    this.source = createEventSource({ cluster: this.cluster, node: this.node, seq: this.bus.seq });
    if (this.bus.kind === 'in-process') {
      // One host without NATS: a subscriber in this process shows the events flow.
      // Workflow events are published by the workflow runner, not counted in `published`:
      // counting them here would let stop() close the bus before daemon.stop is delivered.
      void this.bus.subscribe({}, (e) => void (e.type.startsWith('workflow.') || this.delivered++)).catch(() => undefined);
    }
    this.log.info(
      this.bus.kind === 'nats' ? { bus: 'nats', servers: redactServers(s.natsServers ?? []), splitBrain: s.splitBrainPolicy ?? 'page' } : { bus: 'in-process' },
      this.bus.kind === 'nats' ? 'events go to NATS (queued while it is unreachable)' : 'events stay in this process (no NATS configured)',
    );
  }

  /** Publishes daemon.start and starts the drop summaries. */
  start(configFile: string, instances: string[]): void {
    this.publish('daemon.start', { version: packageVersion(), pid: process.pid, configFile, instances });
    const drops = setInterval(() => this.reportDrops(), this.s.dropsPeriodMs ?? 10_000);
    drops.unref();
    this.dropsTimer = drops;
  }

  /** One sync group transition (enqueue only). */
  groupTransition(t: GroupTransition): void {
    this.publish('group.transition', { group: t.group, from: t.from, to: t.to, by: t.by, reason: t.reason, members: t.members });
  }

  /** One VRRP transition (called from the daemon's transition fan-out: enqueue only). */
  transition(t: TransitionRecord, source: string, tracksDown: () => string[]): void {
    this.publish('instance.transition', {
      instance: t.instance,
      vrid: t.vrid,
      family: t.family,
      interface: t.interface,
      from: t.from,
      to: t.to,
      reason: t.reason,
      effectivePriority: t.effectivePriority,
      basePriority: t.basePriority,
      masterSeen: t.masterSeen,
      advertIntervalCs: t.advertIntervalCs,
      source,
    });
    if (t.to === 'fault') this.publish('instance.fault', { instance: t.instance, vrid: t.vrid, reason: t.reason, tracksDown: tracksDown() });
    else if (t.from === 'fault') this.publish('instance.recover', { instance: t.instance, vrid: t.vrid, reason: t.reason });
  }

  trackChange(data: EventData<'track.change'>): void {
    this.publish('track.change', data);
  }

  /** A checker health change (realserver.*, virtualserver.quorum): enqueue only. */
  check<T extends 'realserver.up' | 'realserver.down' | 'realserver.weight' | 'virtualserver.quorum'>(type: T, data: EventData<T>): void {
    this.publish(type, data);
  }

  lbApplied(data: EventData<'lb.applied'>): void {
    this.publish('lb.applied', data);
  }

  configReload(data: EventData<'config.reload'>): void {
    this.publish('config.reload', data);
  }

  /** A stranger named on the LAN (already rate-limited by the reporter): enqueue only. */
  intruder(data: EventData<'vrrp.intruder'>): void {
    this.publish('vrrp.intruder', data);
  }

  splitBrain(data: EventData<'cluster.split_brain'>): void {
    this.publish('cluster.split_brain', data);
  }

  /** The daemon is stopping: no event but daemon.stop from here on, and no more drop summaries. */
  seal(): void {
    this.sealed = true;
    if (this.dropsTimer) clearInterval(this.dropsTimer);
  }

  /**
   * Publishes daemon.stop, waits (bounded) for the outbox to drain while NATS is
   * connected, then closes the bus; what is left is saved for the next start.
   */
  async stop(reason: string, uptimeMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.seal();
    this.publish('daemon.stop', { reason, uptimeMs: Math.max(0, Math.round(uptimeMs)) });
    const bound = this.s.stopFlushMs ?? 2000;
    if (this.bus.kind === 'in-process') {
      // Delivery runs from setImmediate: let local subscribers see daemon.stop before the bus closes.
      const end = Date.now() + bound;
      while (this.delivered < this.published && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    }
    if (isNatsBus(this.bus)) {
      const flushed = (await this.bus.connected(0)) ? await this.bus.flush(bound) : false;
      const left = this.bus.outboxStats();
      if (!flushed) this.log.warn({ boundMs: bound, ...left }, 'NATS not reachable at stop: undelivered events are kept for the next start');
    }
    // close() saves the outbox first, then may wait out a connection attempt in
    // progress (up to its 2 s timeout): the process need not wait for that part.
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([this.bus.close().then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), bound + 1000)))]);
    clearTimeout(timer);
    if (!closed) this.log.warn({ boundMs: bound + 1000 }, 'event bus still closing at the bound; exiting anyway (undelivered events are saved)');
  }

  status(): EventPublisherStatus {
    return {
      bus: this.bus.kind,
      cluster: this.cluster,
      node: this.node,
      published: this.published,
      delivered: this.delivered,
      ...(isNatsBus(this.bus) ? { outbox: this.bus.outboxStats(), nats: this.bus.connectionStatus() } : {}),
      recent: [...this.recent],
    };
  }

  private publish<T extends EventType>(type: T, data: EventData<T>): void {
    if (this.sealed && type !== 'daemon.stop') return;
    let event: VipflowEvent;
    try {
      event = this.source.make(type, data) as VipflowEvent;
    } catch (err) {
      this.log.error({ err, type }, 'cannot make event');
      return;
    }
    this.bus.publish(event);
    this.published++;
    const instance = (data as { instance?: unknown }).instance;
    this.recent.push({ type, id: event.id, time: event.time, ...(typeof instance === 'string' ? { instance } : {}) });
    if (this.recent.length > RECENT_EVENTS) this.recent.shift();
  }

  /** One `wire.drops` per instance whose drop counters moved since the last period. */
  private reportDrops(): void {
    const periodMs = this.s.dropsPeriodMs ?? 10_000;
    for (const { name, runner } of this.runners()) {
      // Most instances drop nothing: their counters are not walked (1,000 of them took 2-3 ms a period).
      if (this.lastDropTotals.get(name) === runner.dropTotal) continue;
      this.lastDropTotals.set(name, runner.dropTotal);
      let before = this.lastDrops.get(name);
      if (!before) this.lastDrops.set(name, (before = DROP_REASONS.map(() => 0)));
      let counters: Record<string, number> | null = null;
      let total = 0;
      for (let i = 0; i < DROP_REASONS.length; i++) {
        const reason = DROP_REASONS[i]!;
        const d = runner.drops[reason] - before[i]!;
        before[i] = runner.drops[reason];
        if (d > 0) {
          (counters ??= {})[reason] = d;
          total += d;
        }
      }
      if (counters) this.publish('wire.drops', { periodMs, instance: name, interface: runner.plan.interface, counters, total });
    }
  }
}
