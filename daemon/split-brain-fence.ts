/**
 * The daemon's side of split-brain detection: feeds the cluster's KV view
 * (NATS only) and this node's own instances to the detector
 * (infra/events/split-brain.ts), publishes `cluster.split_brain`, and under
 * the `fence` policy holds the yielding Master's instance down through a
 * tracked object, as a failing health check would, until VRRP alone can be
 * trusted again.
 *
 * Off the VRRP path: the KV watch and the check tick run on their own timers.
 */
import type { Logger } from '../core/logger.js';
import type { EventBus } from '../infra/events/bus.js';
import type { NatsBus, InstanceState } from '../infra/events/nats-bus.js';
import { isNatsBus } from '../infra/events/open-bus.js';
import type { EventData } from '../infra/events/schema.js';
import { SplitBrainDetector, mayReleaseFence, type LocalInstance } from '../infra/events/split-brain.js';
import type { InstanceRunner } from '../infra/vrrp/instance-runner.js';
import type { InstancePlan } from '../infra/vrrp/plan.js';
import type { TransitionRecord } from '../actors/vrrp/types.js';

export type SplitBrainPolicy = 'page' | 'fence';

/** The tracked object a fence sets down: weight 0, so the instance goes to Fault. */
export const FENCE_TRACK = 'vipflow:split-brain-fence';

/** The plan with the fence's tracked object (up until a fence sets it down). */
export function withFenceTrack(plan: InstancePlan): InstancePlan {
  return { ...plan, machine: { ...plan.machine, tracks: [...(plan.machine.tracks ?? []), { id: FENCE_TRACK, weight: 0, up: true }] } };
}

export interface SplitBrainFenceDeps {
  bus: EventBus;
  node: string;
  /** The events' logger. */
  log: Logger;
  /** Default `page`. */
  policy?: SplitBrainPolicy | undefined;
  /** Advert intervals a double Master must last before it counts. Default 3. */
  graceIntervals?: number | undefined;
  /** The KV heartbeat period: a peer entry older than 3 heartbeats is ignored. Default 5 s. */
  heartbeatMs?: number | undefined;
  /** The daemon's current instances (read on every check: reloads change them). */
  runners: () => Iterable<{ name: string; runner: InstanceRunner }>;
  publish: (data: EventData<'cluster.split_brain'>) => void;
}

export interface SplitBrainStatus {
  policy: SplitBrainPolicy;
  fenced: string[];
  detected: number;
}

export class SplitBrainFence {
  readonly policy: SplitBrainPolicy;
  private detected = 0;
  private readonly fenced = new Set<string>();
  /** Instance → local monotonic time it became Master (absent when not Master). */
  private readonly masterSince = new Map<string, number>();
  /** Last event id seen per peer KV key: a new one is a transition, the same one a heartbeat. */
  private readonly peerEventIds = new Map<string, string>();
  private detector: SplitBrainDetector | null = null;
  private stopWatch: (() => void) | null = null;
  private tick: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly d: SplitBrainFenceDeps) {
    this.policy = d.policy ?? 'page';
  }

  /** Whether the fence track must be added to instances' tracked objects. */
  get fencing(): boolean {
    return this.d.bus.kind === 'nats' && this.policy === 'fence';
  }

  /** Watches the cluster's KV view (NATS only: the in-process bus has no cluster). */
  start(fastestAdvertMs: number): void {
    if (isNatsBus(this.d.bus)) this.watch(this.d.bus, fastestAdvertMs);
  }

  /** One VRRP transition of this node: when each instance became Master. */
  transition(t: TransitionRecord): void {
    if (t.to === 'master') this.masterSince.set(t.instance, performance.now());
    else this.masterSince.delete(t.instance);
  }

  stop(): void {
    this.stopped = true;
    if (this.tick) clearInterval(this.tick);
    this.stopWatch?.();
  }

  status(): SplitBrainStatus {
    return { policy: this.policy, fenced: [...this.fenced], detected: this.detected };
  }

  /**
   * @param fastestAdvertMs the shortest advert interval configured: sets the check period.
   */
  private watch(bus: NatsBus, fastestAdvertMs: number): void {
    const heartbeatMs = this.d.heartbeatMs ?? 5000;
    const detector = new SplitBrainDetector({ node: this.d.node, staleMs: 3 * heartbeatMs });
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
        if (isUpdate && newTransition && e.node !== this.d.node && e.state === 'master' && this.masterSince.has(e.instance)) bus.refreshHeartbeat();
        this.check();
      },
      (instance, node) => detector.remove(instance, node),
    );
    // Checks a few times per grace so detection lands close to it; bounded both ways.
    const tickMs = Math.min(1000, Math.max(20, Number.isFinite(fastestAdvertMs) ? fastestAdvertMs / 2 : 500));
    const tick = setInterval(() => this.check(), tickMs);
    tick.unref();
    this.tick = tick;
  }

  private check(): void {
    const detector = this.detector;
    if (!detector || this.stopped) return;
    const graceIntervals = this.d.graceIntervals ?? 3;
    const byName = new Map<string, InstanceRunner>();
    const local: LocalInstance[] = [];
    for (const { name, runner } of this.d.runners()) {
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
      const log = this.d.log.child({ instance: d.instance, vrid: d.vrid });
      if (d.kind === 'cleared') {
        log.info({ lastedMs: Math.round(d.lastedMs) }, 'split brain cleared: one Master again');
        continue;
      }
      this.detected++;
      this.d.publish({ instance: d.instance, vrid: d.vrid, masters: d.masters });
      const fence = this.policy === 'fence' && d.loser === this.d.node;
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
      this.d.log.warn({ instance, heardAdvertAgoMs: runner.peerAdvertAgoMs() }, 'split-brain fence released: back to normal VRRP');
    }
  }
}
