/**
 * Every node of the cluster, as the NATS KV state bucket has them (one entry
 * per instance and node, rewritten on each transition and every heartbeat,
 * infra/events/nats-bus.ts): what the status document and the live page show
 * under `events.members`. Fed by its own watch of the bucket, off the VRRP path.
 */
import type { InstanceState } from '../infra/events/nats-bus.js';
import { isNatsBus } from '../infra/events/open-bus.js';
import type { EventBus } from '../infra/events/bus.js';

/** One instance on one node; `stale` once its heartbeat is older than 3 heartbeat periods (the node may be gone). */
export type ClusterMember = InstanceState & { stale: boolean };

export class ClusterView {
  private readonly entries = new Map<string, InstanceState>();
  private stopWatch: (() => void) | null = null;

  constructor(
    private readonly bus: EventBus,
    private readonly heartbeatMs = 5000,
  ) {}

  /** Watches the bucket (NATS only: the in-process bus has no cluster). */
  start(): void {
    if (!isNatsBus(this.bus) || this.stopWatch) return;
    this.stopWatch = this.bus.watchStates(
      (s) => void this.entries.set(`${s.instance}\0${s.node}`, s),
      (instance, node) => void this.entries.delete(`${instance}\0${node}`),
    );
  }

  stop(): void {
    this.stopWatch?.();
    this.stopWatch = null;
  }

  /** undefined without NATS; else every entry, by instance then node. */
  members(nowMs = Date.now()): ClusterMember[] | undefined {
    if (!isNatsBus(this.bus)) return undefined;
    return clusterMembers(this.entries.values(), nowMs, this.heartbeatMs);
  }
}

/** The entries sorted by instance then node, each marked stale or not (pure). */
export function clusterMembers(entries: Iterable<InstanceState>, nowMs: number, heartbeatMs: number): ClusterMember[] {
  return [...entries]
    .sort((a, b) => (a.instance === b.instance ? a.node.localeCompare(b.node) : a.instance.localeCompare(b.instance)))
    .map((e) => ({ ...e, stale: nowMs - Date.parse(e.heartbeatAt) > 3 * heartbeatMs }));
}
