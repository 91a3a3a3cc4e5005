/**
 * dynamic_interfaces: instances whose interface does not exist yet. keepalived
 * 2.2.7 starts such an instance in FAULT instead of refusing the config, runs
 * it normally once the interface is created, and puts it back in FAULT when
 * the interface is deleted. vipflow cannot plan an instance without its
 * interface (no source address, no socket to bind), so the instance is
 * parked here, reported in FAULT with the reason, and planned and started by
 * the daemon when the interface appears. Pure: the daemon does the starting
 * and stopping (instances.ts) on the link changes the LinkMonitor reports.
 */
import type { VrrpInstance } from '../config/model.js';
import { emptyDropCounters } from '../actors/vrrp/receive.js';
import type { InstanceStatus } from '../infra/vrrp/instance-runner.js';
import type { HostInterfaces } from '../infra/vrrp/plan.js';

/** The instance's own interface when the host does not have it (track_interface and VIP devs are followed as tracked links). */
export function missingInterface(inst: Pick<VrrpInstance, 'interface'>, host: Pick<HostInterfaces, 'has'>): string | undefined {
  return inst.interface !== undefined && !host.has(inst.interface) ? inst.interface : undefined;
}

export function waitingReason(iface: string): string {
  return `interface ${iface} does not exist (dynamic_interfaces: waiting for it)`;
}

/** A parked instance as status reports it: FAULT, priority as configured, nothing sent, and why. */
export function waitingStatus(inst: VrrpInstance, iface: string, why = waitingReason(iface)): InstanceStatus {
  const family = inst.family === 6 ? 6 : 4;
  const version = inst.version === 2 ? 2 : 3;
  const advertIntervalCs = version === 2 ? Math.max(1, Math.round(inst.advertInt)) * 100 : Math.round(inst.advertInt * 100);
  return {
    name: inst.name,
    vrid: inst.virtualRouterId,
    family,
    version,
    interface: iface,
    mode: inst.unicastPeers.length > 0 ? 'unicast' : 'multicast',
    source: inst.unicastSrcIp ?? inst.mcastSrcIp ?? (family === 4 ? '0.0.0.0' : '::'),
    state: 'fault',
    fault: why,
    basePriority: inst.priority,
    effectivePriority: inst.priority,
    advertIntervalCs,
    masterAdvertIntervalCs: advertIntervalCs,
    lastMaster: null,
    lastMasterPriority: null,
    masterDownInMs: null,
    peerChecksumVariant: null,
    counters: {},
    drops: emptyDropCounters(),
    authHmac: null,
    announcements: { framesSent: 0, sendErrors: 0, sinceMaster: 0 },
    vips: [...inst.virtualIpaddress, ...inst.virtualIpaddressExcluded].map(
      (v) => `${v.address}/${v.prefix ?? (v.address.includes(':') ? 128 : 32)} dev ${v.dev ?? iface}`,
    ),
  };
}

export interface InterfaceMoves {
  /** Parked instances whose interface now exists: plan and start them. */
  start: string[];
  /** Running instances whose interface is gone: stop and park them (their sockets and ifindex died with it). */
  park: { name: string; iface: string }[];
}

/**
 * What a link change means for dynamic_interfaces: which parked instances can
 * start, which running ones lost their interface. Without dynamic_interfaces
 * nothing moves (a deleted interface is then a tracked link down, as before).
 */
export function interfaceMoves(
  dynamic: boolean,
  waiting: Iterable<{ name: string; iface: string }>,
  running: Iterable<{ name: string; iface: string }>,
  host: Pick<HostInterfaces, 'has'>,
): InterfaceMoves {
  if (!dynamic) return { start: [], park: [] };
  const start = [...waiting].filter((w) => host.has(w.iface)).map((w) => w.name);
  const park = [...running].filter((r) => !host.has(r.iface));
  return { start, park };
}
