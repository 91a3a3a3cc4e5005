/**
 * The fleet view: every site, cluster and virtual router a hub knows of (pure: no I/O,
 * times passed in).
 *
 * A hub holds, per cluster, a mirror of the site's event stream and of its KV state
 * bucket (infra/events/fleet-hub.ts). The fold takes both: KV entries give each node's
 * current state and heartbeat (a silent node turns stale), transition events give the
 * same facts as they happen (the newer of the two wins, so neither has to arrive
 * first), split-brain events and workflow.started/finished give the flags and the runs
 * in progress. Nothing here depends on the order in which clusters are read.
 */
import type { InstanceState } from './nats-bus.js';
import type { VipflowEvent } from './schema.js';

/** Where a hub stream's events come from: the site (JetStream domain of its leaf node) and cluster. */
export interface FleetOrigin {
  site: string;
  cluster: string;
}

export interface FleetNode {
  node: string;
  state: string;
  effectivePriority: number;
  basePriority: number;
  /** Time of the transition into `state`. */
  lastChange: string;
  reason: string;
  /** Last proof of life (KV heartbeat or event); `stale` once older than 3 heartbeat periods. */
  heartbeatAt: string;
  stale: boolean;
}

export interface FleetRouter {
  instance: string;
  vrid: number;
  family: string;
  /** The Master (the most recent one when several claim it), or null. */
  master: string | null;
  /** The Master's effective priority. */
  priority: number | null;
  /** Live (non-stale) nodes in Master state: more than one is a split brain. */
  masters: string[];
  splitBrain: boolean;
  /** A daemon reported a split brain after the router's last transition. */
  splitBrainReportedAt: string | null;
  lastTransition: { node: string; to: string; reason: string; time: string; ageMs: number } | null;
  nodes: FleetNode[];
}

export interface FleetWorkflowRun {
  workflow: string;
  runId: string;
  instance: string | null;
  node: string;
  startedAt: string;
  ageMs: number;
}

export interface FleetCluster {
  cluster: string;
  routers: FleetRouter[];
  running: FleetWorkflowRun[];
}

export interface FleetSite {
  site: string;
  clusters: FleetCluster[];
}

export interface FleetModel {
  generatedAt: string;
  sites: FleetSite[];
  /** Counts over every site, for a summary line and alerts. */
  totals: { sites: number; clusters: number; routers: number; withoutMaster: number; splitBrains: number; running: number };
}

/** A node as the fold keeps it: what FleetNode shows, less `stale` (worked out when read), with its router's keys. */
interface NodeEntry extends Omit<FleetNode, 'stale'> {
  instance: string;
  vrid: number;
  family: string;
}

interface ClusterFold {
  origin: FleetOrigin;
  /** `<instance>\0<node>` → entry */
  nodes: Map<string, NodeEntry>;
  /** instance → time of the latest split-brain report */
  splitBrains: Map<string, string>;
  /** runId → run */
  runs: Map<string, Omit<FleetWorkflowRun, 'ageMs'>>;
}

/** Events carry ISO times with nanoseconds; Date.parse keeps milliseconds, enough for ages. */
const ms = (iso: string): number => Date.parse(iso);
/** Same-format ISO strings order as text, to the nanosecond. */
const later = (a: string, b: string): boolean => a > b;

export class FleetFold {
  private readonly clusters = new Map<string, ClusterFold>();

  /** `heartbeatMs`: the daemons' KV heartbeat period (default 5 s, as nats-bus.ts writes it). */
  constructor(private readonly heartbeatMs = 5000) {}

  private fold(o: FleetOrigin): ClusterFold {
    const key = `${o.site}\0${o.cluster}`;
    let f = this.clusters.get(key);
    if (!f) {
      f = { origin: { ...o }, nodes: new Map(), splitBrains: new Map(), runs: new Map() };
      this.clusters.set(key, f);
    }
    return f;
  }

  /** A cluster known to exist (its stream is on the hub) even before anything was read from it. */
  addCluster(o: FleetOrigin): void {
    this.fold(o);
  }

  /** A KV state entry (put). Returns true when the view changed. */
  applyState(o: FleetOrigin, s: InstanceState): boolean {
    const f = this.fold(o);
    const key = `${s.instance}\0${s.node}`;
    const old = f.nodes.get(key);
    // A heartbeat rewrite carries the state of its last transition: it may only move heartbeatAt forward.
    if (old && later(old.lastChange, s.lastChange)) {
      if (!later(s.heartbeatAt, old.heartbeatAt)) return false;
      old.heartbeatAt = s.heartbeatAt;
      return true;
    }
    f.nodes.set(key, {
      instance: s.instance,
      vrid: s.vrid,
      family: s.family,
      node: s.node,
      state: s.state,
      effectivePriority: s.effectivePriority,
      basePriority: s.basePriority,
      lastChange: s.lastChange,
      reason: s.reason,
      heartbeatAt: old && later(old.heartbeatAt, s.heartbeatAt) ? old.heartbeatAt : s.heartbeatAt,
    });
    return true;
  }

  /** A KV entry deleted or purged (a node removed its instance). */
  deleteState(o: FleetOrigin, instance: string, node: string): boolean {
    return this.fold(o).nodes.delete(`${instance}\0${node}`);
  }

  /** One event of the cluster's stream. Returns true when the view changed. */
  applyEvent(o: FleetOrigin, e: VipflowEvent): boolean {
    const f = this.fold(o);
    switch (e.type) {
      case 'instance.transition': {
        const d = e.data;
        const key = `${d.instance}\0${e.node}`;
        const old = f.nodes.get(key);
        if (old && !later(e.time, old.lastChange)) return false;
        f.nodes.set(key, {
          instance: d.instance,
          vrid: d.vrid,
          family: d.family,
          node: e.node,
          state: d.to,
          effectivePriority: d.effectivePriority,
          basePriority: d.basePriority,
          lastChange: e.time,
          reason: d.reason,
          heartbeatAt: old && later(old.heartbeatAt, e.time) ? old.heartbeatAt : e.time,
        });
        return true;
      }
      case 'cluster.split_brain': {
        const prev = f.splitBrains.get(e.data.instance);
        if (prev !== undefined && !later(e.time, prev)) return false;
        f.splitBrains.set(e.data.instance, e.time);
        return true;
      }
      case 'workflow.started':
        f.runs.set(e.data.runId, { workflow: e.data.workflow, runId: e.data.runId, instance: e.data.instance ?? null, node: e.node, startedAt: e.time });
        return true;
      case 'workflow.finished':
        return f.runs.delete(e.data.runId);
      default:
        return false;
    }
  }

  /** The model at `nowMs`, sorted by site, cluster, instance and node. */
  view(nowMs: number): FleetModel {
    const sites = new Map<string, FleetCluster[]>();
    for (const f of this.clusters.values()) {
      const list = sites.get(f.origin.site) ?? [];
      list.push(this.clusterView(f, nowMs));
      sites.set(f.origin.site, list);
    }
    const out: FleetSite[] = [...sites.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([site, clusters]) => ({ site, clusters: clusters.sort((a, b) => a.cluster.localeCompare(b.cluster)) }));
    const all = out.flatMap((s) => s.clusters);
    const routers = all.flatMap((c) => c.routers);
    return {
      generatedAt: new Date(nowMs).toISOString(),
      sites: out,
      totals: {
        sites: out.length,
        clusters: all.length,
        routers: routers.length,
        withoutMaster: routers.filter((r) => r.master === null).length,
        splitBrains: routers.filter((r) => r.splitBrain || r.splitBrainReportedAt !== null).length,
        running: all.reduce((n, c) => n + c.running.length, 0),
      },
    };
  }

  private clusterView(f: ClusterFold, nowMs: number): FleetCluster {
    const byInstance = new Map<string, NodeEntry[]>();
    for (const n of f.nodes.values()) byInstance.set(n.instance, [...(byInstance.get(n.instance) ?? []), n]);
    const routers = [...byInstance.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([instance, entries]) => routerView(instance, entries, f.splitBrains.get(instance), nowMs, this.heartbeatMs));
    const running = [...f.runs.values()]
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId))
      .map((r) => ({ ...r, ageMs: Math.max(0, nowMs - ms(r.startedAt)) }));
    return { cluster: f.origin.cluster, routers, running };
  }
}

function routerView(instance: string, entries: NodeEntry[], splitBrainAt: string | undefined, nowMs: number, heartbeatMs: number): FleetRouter {
  const nodes: FleetNode[] = entries
    .sort((a, b) => a.node.localeCompare(b.node))
    .map((e) => ({
      node: e.node,
      state: e.state,
      effectivePriority: e.effectivePriority,
      basePriority: e.basePriority,
      lastChange: e.lastChange,
      reason: e.reason,
      heartbeatAt: e.heartbeatAt,
      stale: nowMs - ms(e.heartbeatAt) > 3 * heartbeatMs,
    }));
  const live = nodes.filter((n) => !n.stale && n.state === 'master');
  // The newest Master first: a stale one is shown only when no live node claims Master.
  const byRecent = (a: FleetNode, b: FleetNode) => b.lastChange.localeCompare(a.lastChange);
  const master = [...live].sort(byRecent)[0] ?? nodes.filter((n) => n.state === 'master').sort(byRecent)[0] ?? null;
  const last = [...nodes].sort(byRecent)[0];
  const first = entries[0]!;
  return {
    instance,
    vrid: first.vrid,
    family: first.family,
    master: master?.node ?? null,
    priority: master?.effectivePriority ?? null,
    masters: live.map((n) => n.node),
    splitBrain: live.length > 1,
    splitBrainReportedAt: splitBrainAt !== undefined && last !== undefined && later(splitBrainAt, last.lastChange) ? splitBrainAt : null,
    lastTransition: last
      ? { node: last.node, to: last.state, reason: last.reason, time: last.lastChange, ageMs: Math.max(0, nowMs - ms(last.lastChange)) }
      : null,
    nodes,
  };
}

/** A KV value with the fields the fleet reads (another writer's or an older daemon's value may lack them). */
export function isInstanceState(v: unknown): v is InstanceState {
  const s = v as Record<string, unknown> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    ['instance', 'node', 'family', 'state', 'reason', 'lastChange', 'heartbeatAt'].every((k) => typeof s[k] === 'string') &&
    ['vrid', 'effectivePriority', 'basePriority'].every((k) => typeof s[k] === 'number')
  );
}

/** The site a hub stream mirrors from, read from its external API prefix `$JS.<domain>.API`; undefined for a stream of the hub's own. */
export function siteOfApiPrefix(api: string | undefined): string | undefined {
  if (api === undefined) return undefined;
  const m = /^\$JS\.([^.]+)\.API$/.exec(api);
  return m?.[1];
}
