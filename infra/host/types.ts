/**
 * The host as the rest of vipflow sees it: its interfaces and addresses, and
 * a virtual address to put on (or take off) one of them. Plain data, so the
 * planning rules above the host are tested without a network.
 */
/** One address configured on a host interface. */
export interface HostAddress {
  address: string;
  family: 4 | 6;
  prefix: number;
}

export interface HostInterface {
  name: string;
  addresses: readonly HostAddress[];
  /** Link usable (admin up, carrier); unknown counts as up. */
  up?: boolean;
}

/** The host's interfaces by name, as the daemon sees them at start or reload. */
export type HostInterfaces = ReadonlyMap<string, HostInterface>;

export interface PlannedVip {
  address: string;
  bytes: Uint8Array;
  family: 4 | 6;
  prefix: number;
  /** The interface the address goes on (`dev`, else the instance's interface). */
  dev: string;
  label?: string;
  /** From virtual_ipaddress_excluded: managed like the others but never listed in adverts. */
  excluded?: boolean;
}

/** One sysctl to set for a VMAC (infra/vrrp/vmac.ts decides them, vmac-link.ts applies them). */
export interface SysctlSetting {
  /** Path under /proc/sys, e.g. `net/ipv4/conf/vrrp.7/arp_ignore`. */
  path: string;
  value: number;
}

export interface VmacPlan {
  name: string;
  /** The interface the macvlan sits on (the instance's `interface`). */
  base: string;
  /** aa:bb:cc:dd:ee:ff */
  mac: string;
  family: 4 | 6;
  /** Adverts leave from the base interface (vmac_xmit_base); the VMAC still receives. */
  xmitBase: boolean;
  /** IPv6 on the VMAC: for an IPv6 instance, or an IPv4 one with IPv6 VIPs on it. */
  ipv6: boolean;
  /** Set on the VMAC after it is created. */
  vmacSysctls: readonly SysctlSetting[];
  /** Set on the base while a VMAC uses it, and restored when the last one goes. */
  baseSysctls: readonly SysctlSetting[];
  /** IPv6 without vmac_xmit_base: the link-local source adverts leave from, added to the VMAC. */
  linkLocal?: string;
}
