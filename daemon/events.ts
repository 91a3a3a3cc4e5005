/**
 * The daemon's side of the event bus: turns what the daemon sees (start, VRRP
 * transitions, faults, reloads, link changes, drop counters, stop) into events,
 * and runs split-brain detection (and optional fencing) over the cluster's KV view.
 *
 * Everything here is off the VRRP path: publish() only enqueues (bus.ts), the
 * KV watch and the split-brain tick run on their own timers, and a fence acts on
 * the machine through a tracked object, as a failing health check would.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../core/logger.js';
import { repoRoot } from '../core/paths.js';
import type { EventBus } from '../infra/events/bus.js';
import { createEventBus } from '../infra/events/index.js';
import { NatsBus, type InstanceState } from '../infra/events/nats-bus.js';
import { createEventSource, type EventSource } from '../infra/events/source.js';
import type { EventData, EventType, VipflowEvent } from '../infra/events/schema.js';
import { SplitBrainDetector, mayReleaseFence, type LocalInstance } from '../infra/events/split-brain.js';
import type { InstanceRunner } from '../infra/vrrp/instance-runner.js';
import type { TransitionRecord } from '../actors/vrrp/types.js';
import type { DropCounters } from '../actors/vrrp/receive.js';
import type { WorkflowRunner } from '../workflows/runner.js';
import type { GroupMembers } from '../workflows/define.js';
import type { WorkflowConfig } from '../workflows/from-config.js';
import type { GroupTransition } from '../actors/sync-group/index.js';

export type SplitBrainPolicy = 'page' | 'fence';

/** How a daemon publishes; every field has a default, so one host works with none. */
export interface DaemonEventSettings {
  /** NATS servers; without them the daemon uses the in-process bus. */
  natsServers?: string | string[];
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

/** The config's `vipflow` settings the daemon's workflows come from. */
export interface ConfiguredWorkflows {
  workflows: readonly WorkflowConfig[];
  workflowsFile?: string | undefined;
  workflowRunner?: 'daemon' | 'workers' | undefined;
}

/** The tracked object a fence sets down: weight 0, so the instance goes to Fault. */
export const FENCE_TRACK = 'vipflow:split-brain-fence';

const RECENT_EVENTS = 50;

export interface DaemonEventsStatus {
  bus: 'in-process' | 'nats';
  cluster: string;
  node: string;
  published: number;
  /** In-process bus: events its own subscriber received (proves delivery without NATS). */
  delivered: number;
  outbox?: ReturnType<NatsBus['outboxStats']>;
  splitBrain: { policy: SplitBrainPolicy; fenced: string[]; detected: number };
  recent: { type: EventType; id: string; time: string; instance?: string }[];
}

interface RunnerEntry {
  name: string;
  runner: InstanceRunner;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export class DaemonEvents {
  readonly bus: EventBus;
  readonly cluster: string;
  readonly node: string;
  readonly policy: SplitBrainPolicy;
  private readonly source: EventSource;
  private readonly log: Logger;
  private readonly recent: DaemonEventsStatus['recent'] = [];
  private published = 0;
  private delivered = 0;
  private detected = 0;
  private readonly lastDrops = new Map<string, DropCounters>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly fenced = new Set<string>();
  /** Instance → local monotonic time it became Master (absent when not Master). */
  private readonly masterSince = new Map<string, number>();
  /** Last event id seen per peer KV key: a new one is a transition, the same one a heartbeat. */
  private readonly peerEventIds = new Map<string, string>();
  private detector: SplitBrainDetector | null = null;
  private stopWatch: (() => void) | null = null;
  private stopped = false;
  private workflows: Promise<WorkflowRunner | null> | null = null;

  /**
   * @param runners the daemon's current instances (read on every tick: reloads change them).
   */
  constructor(
    private readonly s: DaemonEventSettings,
    stateDir: string,
    log: Logger,
    private readonly runners: () => Iterable<RunnerEntry>,
  ) {
    this.cluster = s.cluster ?? 'default';
    this.node = s.node ?? hostname();
    this.policy = s.splitBrainPolicy ?? 'page';
    this.log = log.child({ component: 'events', cluster: this.cluster, node: this.node });
    this.bus = createEventBus({
      cluster: this.cluster,
      node: this.node,
      log: this.log,
      stateDir: join(stateDir, 'events'),
      ...(s.natsServers ? { nats: { servers: s.natsServers, heartbeatMs: s.heartbeatMs ?? 5000 } } : {}),
    });
    this.source = createEventSource({ cluster: this.cluster, node: this.node, seq: this.bus.seq });
    if (this.bus.kind === 'in-process') {
      // One host without NATS: a subscriber in this process shows the events flow.
      // Workflow events are published by the workflow runner, not counted in `published`:
      // counting them here would let stop() close the bus before daemon.stop is delivered.
      void this.bus.subscribe({}, (e) => void (e.type.startsWith('workflow.') || this.delivered++)).catch(() => undefined);
    }
    this.log.info(
      this.bus.kind === 'nats' ? { bus: 'nats', servers: s.natsServers, splitBrain: this.policy } : { bus: 'in-process' },
      this.bus.kind === 'nats' ? 'events go to NATS (queued while it is unreachable)' : 'events stay in this process (no NATS configured)',
    );
  }

  /** Whether the fence track must be added to instances' tracked objects. */
  get fencing(): boolean {
    return this.bus.kind === 'nats' && this.policy === 'fence';
  }

  /** Starts the timers (drop summaries, split-brain watch) and publishes daemon.start. */
  /**
   * @param fastestAdvertMs the shortest advert interval configured: sets the split-brain check period.
   * @param groups the configured vrrp_sync_groups' members, for workflows triggered `on: { group }`.
   */
  /**
   * @param configured the config's `vipflow` settings: workflows declared there
   *   (built-in notifiers) and its `workflowsFile`, which `workflowsFile` in the
   *   settings (the command line) replaces.
   */
  start(configFile: string, instances: string[], fastestAdvertMs: number, groups: GroupMembers = {}, configured?: ConfiguredWorkflows): void {
    this.publish('daemon.start', { version: packageVersion(), pid: process.pid, configFile, instances });
    const drops = setInterval(() => this.reportDrops(), this.s.dropsPeriodMs ?? 10_000);
    drops.unref();
    this.timers.push(drops);
    if (this.bus instanceof NatsBus) this.watchSplitBrain(this.bus, fastestAdvertMs);
    const onWorkers = configured?.workflowRunner === 'workers';
    const declared = configured !== undefined && (configured.workflows.length > 0 || configured.workflowsFile !== undefined);
    if (onWorkers && declared) this.log.info("the config's workflows run on vipflow workers (vipflow.workflowRunner: 'workers'), not in this daemon");
    if (onWorkers && this.s.workflowsFile)
      this.log.warn(
        { workflowsFile: this.s.workflowsFile },
        '--workflows given while the config says workflows run on workers: this file runs here, and would run twice if the workers load it too',
      );
    const own = onWorkers ? { workflows: [] } : (configured ?? { workflows: [] });
    if (this.s.workflowsFile || (declared && !onWorkers)) this.workflows = this.startWorkflows(configFile, own, this.source.now(), groups);
  }

  /**
   * Loads and starts the workflows. The subscription starts at the daemon's start time,
   * so transitions made while the file was loading still trigger them. Imported lazily:
   * a daemon without workflows never loads zx or tsx.
   */
  private async startWorkflows(configFile: string, configured: ConfiguredWorkflows, since: string, groups: GroupMembers): Promise<WorkflowRunner | null> {
    const log = this.log.child({ component: 'workflows', ...(this.s.workflowsFile ? { workflowsFile: this.s.workflowsFile } : {}) });
    try {
      const [{ loadConfiguredWorkflows }, { WorkflowRunner }, { BUILTIN_NOTIFIERS }] = await Promise.all([
        import('../workflows/from-config.js'),
        import('../workflows/runner.js'),
        import('../notifiers/builtin.js'),
      ]);
      const loaded = await loadConfiguredWorkflows(configured, configFile, BUILTIN_NOTIFIERS, this.s.workflowsFile);
      // A broken workflow must not take the others (or VRRP) down with it: the ones
      // that built run, and each problem is logged as `check-config` would print it.
      for (const d of loaded.diagnostics) log.error({ file: d.file }, `workflow not loaded: ${d.message}`);
      if (loaded.workflows.length === 0) {
        log.error('no workflow loaded; running without workflows');
        return null;
      }
      if (this.stopped) return null;
      const runner = await WorkflowRunner.start({
        bus: this.bus,
        source: this.source,
        log,
        workflows: loaded.workflows,
        groups,
        subscribe: { start: { from: 'time', time: since } },
      });
      log.info({ workflows: loaded.workflows.map((w) => w.name), failed: loaded.diagnostics.length }, 'workflows running');
      return runner;
    } catch (err) {
      log.error({ err }, 'workflows failed to start; running without them');
      return null;
    }
  }

  /** One sync group transition (enqueue only). */
  groupTransition(t: GroupTransition): void {
    this.publish('group.transition', { group: t.group, from: t.from, to: t.to, by: t.by, reason: t.reason, members: t.members });
  }

  /** One VRRP transition (called from the daemon's transition fan-out: enqueue only). */
  transition(t: TransitionRecord, source: string, tracksDown: () => string[]): void {
    if (t.to === 'master') this.masterSince.set(t.instance, performance.now());
    else this.masterSince.delete(t.instance);
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

  configReload(data: EventData<'config.reload'>): void {
    this.publish('config.reload', data);
  }

  /**
   * Publishes daemon.stop, waits (bounded) for the outbox to drain while NATS is
   * connected, then closes the bus; what is left is saved for the next start.
   */
  async stop(reason: string, uptimeMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.stopWatch?.();
    await this.stopWorkflows(this.s.stopFlushMs ?? 2000);
    this.publish('daemon.stop', { reason, uptimeMs: Math.max(0, Math.round(uptimeMs)) });
    const bound = this.s.stopFlushMs ?? 2000;
    if (this.bus.kind === 'in-process') {
      // Delivery runs from setImmediate: let local subscribers see daemon.stop before the bus closes.
      const end = Date.now() + bound;
      while (this.delivered < this.published && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    }
    if (this.bus instanceof NatsBus) {
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

  /**
   * Lets running workflows finish within half the bound (the instances' last transitions,
   * to stopped, have just been published: STOP workflows run like keepalived's
   * notify_stop), then cancels what is left so its compensations run in the rest.
   */
  private async stopWorkflows(boundMs: number): Promise<void> {
    if (!this.workflows) return;
    const end = Date.now() + boundMs;
    const within = async <T>(p: Promise<T>, ms: number): Promise<T | undefined> => {
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([p, new Promise<undefined>((res) => (timer = setTimeout(() => res(undefined), Math.max(0, ms))))]);
      clearTimeout(timer);
      return r;
    };
    const runner = await within(this.workflows, end - Date.now());
    if (!runner) return;
    // In-process delivery runs from setImmediate: let the last transitions reach the runner first.
    await new Promise((r) => setImmediate(r));
    await within(runner.whenIdle(), (end - Date.now()) / 2);
    const closed = await within(
      runner.close().then(() => true),
      end - Date.now(),
    );
    if (!closed) this.log.warn({ boundMs }, 'workflows still running or compensating at the stop bound; exiting anyway');
  }

  status(): DaemonEventsStatus {
    return {
      bus: this.bus.kind,
      cluster: this.cluster,
      node: this.node,
      published: this.published,
      delivered: this.delivered,
      ...(this.bus instanceof NatsBus ? { outbox: this.bus.outboxStats() } : {}),
      splitBrain: { policy: this.policy, fenced: [...this.fenced], detected: this.detected },
      recent: [...this.recent],
    };
  }

  private publish<T extends EventType>(type: T, data: EventData<T>): void {
    if (this.stopped && type !== 'daemon.stop') return;
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
      const now = { ...runner.drops };
      const before = this.lastDrops.get(name);
      this.lastDrops.set(name, now);
      const counters: Record<string, number> = {};
      let total = 0;
      for (const [k, v] of Object.entries(now)) {
        const d = v - (before?.[k as keyof DropCounters] ?? 0);
        if (d > 0) {
          counters[k] = d;
          total += d;
        }
      }
      if (total > 0) this.publish('wire.drops', { periodMs, instance: name, interface: runner.plan.interface, counters, total });
    }
  }

  private watchSplitBrain(bus: NatsBus, fastestAdvertMs: number): void {
    const heartbeatMs = this.s.heartbeatMs ?? 5000;
    const detector = new SplitBrainDetector({ node: this.node, staleMs: 3 * heartbeatMs });
    this.detector = detector;
    this.stopWatch = bus.watchStates(
      (e: InstanceState, isUpdate: boolean) => {
        detector.update({ ...e, ...(isUpdate ? { receivedAtMs: performance.now() } : {}) });
        const key = `${e.instance}\u0000${e.node}`;
        const newTransition = this.peerEventIds.get(key) !== e.eventId;
        this.peerEventIds.set(key, e.eventId);
        // Another node just became Master of an instance this node is Master of: rewrite
        // our entries now, so that node sees a live second Master without waiting for a
        // heartbeat (and a crashed Master, which cannot do this, is never taken for one).
        if (isUpdate && newTransition && e.node !== this.node && e.state === 'master' && this.masterSince.has(e.instance)) bus.refreshHeartbeat();
        this.checkSplitBrain();
      },
      (instance, node) => detector.remove(instance, node),
    );
    // Checks a few times per grace so detection lands close to it; bounded both ways.
    const tickMs = Math.min(1000, Math.max(20, Number.isFinite(fastestAdvertMs) ? fastestAdvertMs / 2 : 500));
    const tick = setInterval(() => this.checkSplitBrain(), tickMs);
    tick.unref();
    this.timers.push(tick);
  }

  private checkSplitBrain(): void {
    const detector = this.detector;
    if (!detector || this.stopped) return;
    const graceIntervals = this.s.splitBrainGraceIntervals ?? 3;
    const byName = new Map<string, InstanceRunner>();
    const local: LocalInstance[] = [];
    for (const { name, runner } of this.runners()) {
      byName.set(name, runner);
      const state = runner.state;
      const intervalMs = runner.plan.machine.advertIntervalCs * 10;
      local.push({
        instance: name,
        vrid: runner.plan.vrid,
        state,
        // Only a Master's priority takes part in the decision: read the machine only then.
        effectivePriority: state === 'master' ? runner.status().effectivePriority : 0,
        source: runner.plan.source,
        masterSinceMs: state === 'master' ? (this.masterSince.get(name) ?? null) : null,
        graceMs: graceIntervals * intervalMs,
      });
    }
    const nowWall = Date.now();
    for (const d of detector.evaluate(local, nowWall, performance.now())) {
      const log = this.log.child({ instance: d.instance, vrid: d.vrid });
      if (d.kind === 'cleared') {
        log.info({ lastedMs: Math.round(d.lastedMs) }, 'split brain cleared: one Master again');
        continue;
      }
      this.detected++;
      this.publish('cluster.split_brain', { instance: d.instance, vrid: d.vrid, masters: d.masters });
      const fence = this.policy === 'fence' && d.loser === this.node;
      log.error(
        { masters: d.masters, yields: d.loser, overlapMs: Math.round(d.sinceMs), policy: this.policy },
        fence ? 'split brain: several Masters; this node yields and holds its instance down (fence)' : 'split brain: several Masters for one virtual router',
      );
      if (fence && !this.fenced.has(d.instance)) {
        this.fenced.add(d.instance);
        byName.get(d.instance)?.track(FENCE_TRACK, false);
      }
    }
    for (const instance of [...this.fenced]) {
      const runner = byName.get(instance);
      if (!runner) {
        this.fenced.delete(instance);
        continue;
      }
      const ok = mayReleaseFence({
        heardAdvertAgoMs: runner.peerAdvertAgoMs(),
        advertIntervalMs: runner.plan.machine.advertIntervalCs * 10,
        otherFreshMasters: detector.otherMasters(instance, nowWall).length,
      });
      if (!ok) continue;
      this.fenced.delete(instance);
      runner.track(FENCE_TRACK, true);
      this.log.warn({ instance, heardAdvertAgoMs: runner.peerAdvertAgoMs() }, 'split-brain fence released: back to normal VRRP');
    }
  }
}
