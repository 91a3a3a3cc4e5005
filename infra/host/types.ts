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
