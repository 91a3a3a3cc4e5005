/**
 * What the live status page shows, cut from the daemon's status: small enough
 * to push to every open page on each change. Pure.
 */
import type { DaemonStatus } from './daemon.js';

export interface LiveView {
  node: string;
  pid: number;
  startedAt: string;
  uptimeMs: number;
  instances: {
    name: string;
    vrid: number;
    interface: string;
    state: string;
    basePriority: number;
    effectivePriority: number;
    /** 'self' when this node is Master, else the Master's address last heard (null: none heard). */
    master: string | null;
    /** When the instance entered its current state, if the recent transitions still hold it. */
    since: string | null;
    vips: string[];
  }[];
  /** Newest first. */
  transitions: { time: string; instance: string; from: string; to: string; reason: string }[];
  counters: { drops: number; lateTimers: number; loopDelayP99Ms: number; eventsPublished: number; reloads: number; splitBrains: number };
  virtualServers: { id: string; quorumUp: boolean; alive: number; total: number }[];
  /** With NATS: every node of the cluster per instance, from the KV bucket (this node's own entry included); null without. */
  cluster: ClusterRow[] | null;
}

export interface ClusterRow {
  instance: string;
  node: string;
  self: boolean;
  state: string;
  priority: number;
  since: string;
  stale: boolean;
}

const TIMELINE = 20;

export function liveView(s: DaemonStatus): LiveView {
  const local = new Map(s.instances.map((i) => [i.name, i]));
  const since = new Map<string, string>();
  for (const t of s.recentTransitions) since.set(`${t.instance}\0${t.to}`, t.time);
  return {
    node: s.events.node,
    pid: s.pid,
    startedAt: s.startedAt,
    uptimeMs: s.uptimeMs,
    instances: s.instances.map((i) => ({
      name: i.name,
      vrid: i.vrid,
      interface: i.interface,
      state: i.state,
      basePriority: i.basePriority,
      effectivePriority: i.effectivePriority,
      master: i.state === 'master' ? 'self' : i.state === 'backup' ? i.lastMaster : null,
      since: since.get(`${i.name}\0${i.state}`) ?? null,
      vips: i.vips,
    })),
    transitions: s.recentTransitions
      .slice(-TIMELINE)
      .reverse()
      .map((t) => ({ time: t.time, instance: t.instance, from: t.from, to: t.to, reason: t.reason })),
    counters: {
      // Older daemons (a status read from elsewhere) have no summary: the instances' drops then.
      drops: s.dropped
        ? Object.values(s.dropped).reduce((a, b) => a + b, 0)
        : s.instances.reduce((n, i) => n + Object.values(i.drops).reduce((a, b) => a + b, 0), 0),
      lateTimers: s.eventLoop.lateTimers,
      loopDelayP99Ms: s.eventLoop.delayP99Ms,
      eventsPublished: s.events.published,
      reloads: s.reloads.ok,
      splitBrains: s.events.splitBrain.detected,
    },
    virtualServers: s.checks.virtualServers.map((v) => ({
      id: v.id,
      quorumUp: v.quorumUp,
      alive: v.realServers.filter((r) => r.alive).length,
      total: v.realServers.length,
    })),
    cluster: s.events.members?.map((m) => clusterRow(m, s.events.node, local.get(m.instance), since)) ?? null,
  };
}

type Member = NonNullable<DaemonStatus['events']['members']>[number];

/** One KV entry; this node's own rows come from its live instances, not from the KV echo of them (a round trip later). */
function clusterRow(m: Member, node: string, own: DaemonStatus['instances'][number] | undefined, since: Map<string, string>): ClusterRow {
  const self = m.node === node;
  const live = self && own !== undefined;
  return {
    instance: m.instance,
    node: m.node,
    self,
    state: live ? own.state : m.state,
    priority: live ? own.effectivePriority : m.effectivePriority,
    since: (live && own.state !== m.state ? since.get(`${own.name}\0${own.state}`) : undefined) ?? m.lastChange,
    stale: live ? false : m.stale,
  };
}
