/**
 * What a reload does to each instance, decided from the running and the new
 * configuration alone (pure: no runner, no host, no clock). reload.ts applies it.
 *
 * - keep: the instance's settings are unchanged; it keeps running untouched
 *   (no flap, no missed advert).
 * - live: only its priority and/or its addresses and their gratuitous ARP / NA
 *   settings and/or its auth_hmac keys changed; the running instance takes them.
 * - restart: anything else changed (interface, VRID, timers, ...); it stops
 *   (priority 0 first if it was Master) and starts again.
 * - remove: it is gone from the new configuration.
 * Instances the new configuration has and nothing runs are added.
 */
import { isDeepStrictEqual } from 'node:util';
import type { VipflowConfig, VrrpInstance } from '../config/model.js';

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
  /** vrrp_sync_groups differ: the running groups are kept until the next restart. */
  syncGroupsChanged: boolean;
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
  current: Pick<VipflowConfig, 'vrrpSyncGroups'>,
  next: Pick<VipflowConfig, 'vrrpInstances' | 'vrrpSyncGroups'>,
): ReloadPlan {
  const wanted = new Map(next.vrrpInstances.map((i) => [i.name, i]));
  const runningNames = new Set<string>();
  const changes: InstanceChange[] = [];
  for (const [name, old] of running) {
    runningNames.add(name);
    const want = wanted.get(name);
    if (!want) changes.push({ kind: 'remove', name });
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
  };
}
