/**
 * What a reload does to each instance, decided from the running and the new
 * configuration alone (pure: no runner, no host, no clock). daemon/reload.ts
 * applies it, and the simulator's reload (sim/lan.ts) decides by the same rules.
 *
 * - keep: the instance's settings are unchanged; it keeps running untouched
 *   (no flap, no missed advert).
 * - live: only its priority and/or its addresses and their gratuitous ARP / NA
 *   settings and/or its auth_hmac keys changed; the running instance takes them.
 * - restart: anything else changed (interface, VRID, timers, ...); it stops
 *   (priority 0 first if it was Master) and starts again.
 * - remove: it is gone from the new configuration.
 * Instances the new configuration has and nothing runs are added.
 *
 * Sync groups and tracked definitions are applied too (keepalived re-reads
 * them on SIGHUP): a group that is new, gone or changed is built again, and
 * its members (old and new) restart, since an instance's machine is planned
 * with its group; a vrrp_script, track_file or vrrp_track_process whose
 * definition changed runs again with the new one, and the instances tracking
 * it restart only when its weight or reverse changed (their plans carry it).
 */
import { isDeepStrictEqual } from 'node:util';
import type { VipflowConfig, VrrpInstance } from '../../config/model.js';

export type InstanceChange =
  | { kind: 'keep'; name: string }
  | { kind: 'live'; name: string; want: VrrpInstance; priority: boolean; addresses: boolean; authHmac: boolean }
  | { kind: 'restart'; name: string; want: VrrpInstance }
  | { kind: 'remove'; name: string };

export interface ReloadPlan {
  /** One change per running instance, in the order they run. */
  running: InstanceChange[];
  /** Instances of the new configuration that nothing runs, in its order. */
  added: VrrpInstance[];
  /** vrrp_sync_groups differ. */
  syncGroupsChanged: boolean;
  /** Sync groups to stop (gone or changed) and to build (new or changed), by name. */
  groups: { stop: string[]; create: string[] };
  /** Tracked definitions (in both configurations) whose data changed, by name. */
  changedTracks: TrackedNames;
}

export interface TrackedNames {
  scripts: string[];
  files: string[];
  processes: string[];
}

type Tracked = Pick<VipflowConfig, 'vrrpScripts' | 'trackFiles' | 'trackProcesses'>;

function changedDefs<T extends { name: string }>(old: readonly T[], next: readonly T[], fields?: (d: T) => unknown): string[] {
  const before = new Map(old.map((d) => [d.name, d]));
  return next
    .filter((d) => {
      const o = before.get(d.name);
      return o !== undefined && !isDeepStrictEqual(fields ? fields(o) : o, fields ? fields(d) : d);
    })
    .map((d) => d.name);
}

/** Definitions whose data changed (their trackers run again) and those whose weight or reverse changed (the plans that carry it are stale). */
export function trackedChanges(old: Tracked, next: Tracked): { changed: TrackedNames; reweighted: TrackedNames } {
  const w = (d: { weight: number; reverse: boolean }) => [d.weight, d.reverse];
  return {
    changed: {
      scripts: changedDefs(old.vrrpScripts, next.vrrpScripts),
      files: changedDefs(old.trackFiles, next.trackFiles),
      processes: changedDefs(old.trackProcesses, next.trackProcesses),
    },
    reweighted: {
      scripts: changedDefs(old.vrrpScripts, next.vrrpScripts, w),
      files: changedDefs(old.trackFiles, next.trackFiles, w),
      processes: changedDefs(old.trackProcesses, next.trackProcesses, w),
    },
  };
}

/** Groups new, gone or changed between two configurations, and every instance that is or was a member of one. */
export function groupChanges(
  old: Pick<VipflowConfig, 'vrrpSyncGroups'>,
  next: Pick<VipflowConfig, 'vrrpSyncGroups'>,
): { stop: string[]; create: string[]; members: Set<string> } {
  const before = new Map(old.vrrpSyncGroups.map((g) => [g.name, g]));
  const after = new Map(next.vrrpSyncGroups.map((g) => [g.name, g]));
  const stop = [...before.keys()].filter((n) => !isDeepStrictEqual(before.get(n), after.get(n)));
  const create = [...after.keys()].filter((n) => !isDeepStrictEqual(before.get(n), after.get(n)));
  const members = new Set([...stop.flatMap((n) => before.get(n)!.group), ...create.flatMap((n) => after.get(n)!.group)]);
  return { stop, create, members };
}

/**
 * Whether `want` can be applied to an instance running `old` without a restart.
 * @returns null when it needs a restart; otherwise whether the priority and
 *   whether the addresses (or their announcement settings) change.
 */
export function liveChange(old: VrrpInstance, want: VrrpInstance): { priority: boolean; addresses: boolean; authHmac: boolean } | null {
  const liveFields = {
    priority: old.priority,
    virtualIpaddress: old.virtualIpaddress,
    virtualIpaddressExcluded: old.virtualIpaddressExcluded,
    garpMasterDelay: old.garpMasterDelay,
    garpMasterRepeat: old.garpMasterRepeat,
    garpMasterRefresh: old.garpMasterRefresh,
    garpMasterRefreshRepeat: old.garpMasterRefreshRepeat,
    garpLowerPrioDelay: old.garpLowerPrioDelay,
    garpLowerPrioRepeat: old.garpLowerPrioRepeat,
  };
  if (!isDeepStrictEqual(withAuthHmac({ ...want, ...liveFields }, old.authHmac), old)) return null;
  return {
    priority: want.priority !== old.priority,
    addresses: !isDeepStrictEqual(withAuthHmac({ ...want, priority: old.priority }, old.authHmac), old),
    authHmac: !isDeepStrictEqual(want.authHmac, old.authHmac),
  };
}

/** auth_hmac keys and settings change live (key rotation must not flap); an absent block stays absent for the comparison. */
function withAuthHmac(inst: VrrpInstance, authHmac: VrrpInstance['authHmac']): VrrpInstance {
  const { authHmac: _drop, ...rest } = inst;
  return authHmac ? { ...rest, authHmac } : rest;
}

/**
 * @param running the running instances' names and the settings they run with.
 * @param current the running configuration (its sync groups).
 * @param next the configuration being loaded.
 */
export function planReload(
  running: Iterable<readonly [string, VrrpInstance]>,
  current: Pick<VipflowConfig, 'vrrpSyncGroups'> & Tracked,
  next: Pick<VipflowConfig, 'vrrpInstances' | 'vrrpSyncGroups'> & Tracked,
): ReloadPlan {
  const wanted = new Map(next.vrrpInstances.map((i) => [i.name, i]));
  const groups = groupChanges(current, next);
  const tracked = trackedChanges(current, next);
  const restartFor = new Set(groups.members);
  for (const inst of next.vrrpInstances) {
    const group = next.vrrpSyncGroups.find((g) => g.group.includes(inst.name));
    const refs = (key: 'trackScripts' | 'trackFiles' | 'trackProcesses') => [...inst[key], ...(group?.[key] ?? [])].map((r) => r.name);
    const stale =
      refs('trackScripts').some((n) => tracked.reweighted.scripts.includes(n)) ||
      refs('trackFiles').some((n) => tracked.reweighted.files.includes(n)) ||
      refs('trackProcesses').some((n) => tracked.reweighted.processes.includes(n));
    if (stale) restartFor.add(inst.name);
  }
  const runningNames = new Set<string>();
  const changes: InstanceChange[] = [];
  for (const [name, old] of running) {
    runningNames.add(name);
    const want = wanted.get(name);
    if (!want) changes.push({ kind: 'remove', name });
    else if (restartFor.has(name)) changes.push({ kind: 'restart', name, want });
    else if (isDeepStrictEqual(want, old)) changes.push({ kind: 'keep', name });
    else {
      const live = liveChange(old, want);
      changes.push(live ? { kind: 'live', name, want, ...live } : { kind: 'restart', name, want });
    }
  }
  return {
    running: changes,
    added: [...wanted.values()].filter((i) => !runningNames.has(i.name)),
    syncGroupsChanged: !isDeepStrictEqual(next.vrrpSyncGroups, current.vrrpSyncGroups),
    groups: { stop: groups.stop, create: groups.create },
    changedTracks: tracked.changed,
  };
}
