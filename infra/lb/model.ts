export type LbProtocol = 'tcp' | 'udp' | 'sctp';
export type LbService =
  { kind: 'address'; family: 4 | 6; protocol: LbProtocol; address: string; port: number } | { kind: 'fwmark'; family: 4 | 6; fwmark: number };
/** weight 0: no new connections, established ones finish (inhibit_on_failure, sorry_server_inhibit) */
export interface LbDestination {
  address: string;
  port: number | undefined;
  weight: number;
}
export interface LbVirtualService {
  /** one per service address (a virtual_server_group expands to several), e.g. `198.18.0.100:80` + `/tcp` */
  id: string;
  /** the virtual server it comes from (CheckPlan's VirtualServerPlan.id) */
  virtualServer: string;
  service: LbService;
  /** keepalived lb_algo / lvs_sched: rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos */
  scheduler: string;
  lbKind: 'NAT' | 'DR' | 'TUN';
  persistenceTimeoutS?: number;
  /** netmask applied to the client address for persistence (persistence_granularity) */
  persistenceGranularity?: string;
  destinations: LbDestination[];
}
export interface LbState {
  services: LbVirtualService[];
}
export interface LbDiff {
  added: string[];
  removed: string[];
  changed: string[];
}
export type LbApplyResult = { ok: true; diff: LbDiff; ms: number } | { ok: false; error: string; diff: LbDiff };
export interface LbCounters {
  id: string;
  packets: number;
  bytes: number;
  connections?: number;
  destinations: { address: string; port: number | undefined; packets: number; bytes: number; connections?: number }[];
}
export interface LbBackend {
  readonly name: 'nftables' | 'ipvs';
  /** null when the backend can run this service; else why not (unsupported scheduler, lb_kind, ...), worded for an operator */
  unsupported(s: LbVirtualService): string | null;
  /** makes the kernel state equal `desired` in one transaction; never throws */
  apply(desired: LbState): Promise<LbApplyResult>;
  counters(): Promise<LbCounters[]>;
  /** removes everything this backend installed (shutdown) */
  clear(): Promise<void>;
}
