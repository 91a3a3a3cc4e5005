/**
 * What each load-balancer backend can run, as configuration rules: the
 * semantic checks refuse a virtual server the chosen backend cannot balance
 * (so check-config says so, and the daemon refuses the file before any rule
 * is written), and the nftables backend refuses the same services with the
 * same words. IPVS runs every keepalived scheduler and forwarding method.
 */

/** Who balances: `none` runs the checkers without kernel rules. */
export type LbBackendName = 'nftables' | 'ipvs' | 'none';

/** Schedulers the nftables backend runs as IPVS does (infra/lb/nft-render.ts says how). */
export const NFT_SCHEDULERS: readonly string[] = ['rr', 'wrr', 'sh', 'mh', 'dh', 'fo'];

const NFT_FALLBACK: Readonly<Record<string, { to: string; why: string }>> = {
  wlc: { to: 'wrr', why: 'nftables keeps no per-destination connection count: wlc runs as wrr (new connections spread by weight, not to the least loaded)' },
  lc: { to: 'rr', why: 'nftables keeps no per-destination connection count: lc runs as rr (new connections spread evenly, not to the least loaded)' },
};

/** The scheduler a service runs as on nftables, and why it differs from IPVS's (for a one-time warning), or undefined. */
export function nftFallbackOf(scheduler: string): { to: string; why: string } | undefined {
  return Object.hasOwn(NFT_FALLBACK, scheduler) ? NFT_FALLBACK[scheduler] : undefined;
}

/** Why nftables cannot forward with this lb_kind, or null. */
export function nftUnsupportedKind(kind: string): string | null {
  if (kind === 'DR')
    return (
      'lb_kind DR is not supported by the nftables backend. The kernel here can forward frames from a netdev ingress chain ' +
      "(`ether daddr set ... fwd to`), but that needs the inbound interface and each real server's MAC address, and without conntrack " +
      'only a hash of the connection keeps it on one real server; use lb_kind NAT, or IPVS where the kernel has it'
    );
  if (kind === 'TUN') return 'lb_kind TUN is not supported by the nftables backend (no IP-in-IP encapsulation in nftables); use lb_kind NAT, or IPVS';
  return null;
}

/** Why nftables cannot run this scheduler, or null. */
export function nftUnsupportedScheduler(scheduler: string): string | null {
  if (NFT_SCHEDULERS.includes(scheduler) || nftFallbackOf(scheduler) !== undefined) return null;
  return `lb_algo ${scheduler} is not supported by the nftables backend (it needs live per-destination connection counts); supported: ${[...NFT_SCHEDULERS, 'wlc (as wrr)', 'lc (as rr)'].join(', ')}`;
}
