/**
 * Which load-balancer backend a `--lb` choice means on this host. Apart from
 * load-balancer.ts: the daemon needs the name before the config is loaded (the
 * loader refuses what the backend cannot run), and a config without
 * virtual servers never loads the backends (issue 16).
 */
import type { LbBackendName } from '../config/lb-support.js';
import { ipvsAvailable } from '../infra/lb/ipvs-presence.js';

/** auto: IPVS when /proc/net/ip_vs exists, else nftables; none: checkers only, no rules. */
export type LbChoice = 'auto' | 'nftables' | 'ipvs' | 'none';

/** The backend a choice means on this host (auto: IPVS when the kernel has it). */
export function lbBackendName(choice: LbChoice, hasIpvs: () => boolean = ipvsAvailable): LbBackendName {
  if (choice === 'none' || choice === 'nftables' || choice === 'ipvs') return choice;
  return hasIpvs() ? 'ipvs' : 'nftables';
}
