/**
 * A virtual server's decisions as pure functions: quorum with hysteresis, the
 * sorry server, ha_suspend and what omega changes at shutdown. After keepalived
 * 2.2.7's ipwrapper.c (weigh_live_realservers, update_quorum_state,
 * perform_quorum_state, update_vs_notifies, clear_service_vs) and check_api.c
 * (update_checker_activity).
 */
import { poolEntry, realWeight, type PoolEntry, type RealServerRules, type RealServerState } from './real-server.js';

export interface VirtualServerRules {
  id: string;
  quorum: number;
  hysteresis: number;
  sorryServer: { inhibit: boolean } | undefined;
  omega: boolean;
  haSuspend: boolean;
}

export interface VirtualServerState {
  quorumUp: boolean;
  /** the sorry server is in the pool in place of the real servers */
  sorryActive: boolean;
  /** how many copies of the VIP are on the host (ha_suspend_addr_count) */
  addressCount: number;
}

export type VirtualServerCommand =
  | { type: 'quorum-up'; virtualServer: string; liveWeight: number; threshold: number; init: boolean }
  | { type: 'quorum-down'; virtualServer: string; liveWeight: number; threshold: number; init: boolean }
  | { type: 'sorry-server-in'; virtualServer: string }
  | { type: 'sorry-server-out'; virtualServer: string }
  | { type: 'suspend-checkers'; virtualServer: string }
  | { type: 'resume-checkers'; virtualServer: string }
  | { type: 'notify-rs-down'; virtualServer: string; realServer: string }
  | { type: 'remove-all'; virtualServer: string };

export interface Step {
  state: VirtualServerState;
  commands: VirtualServerCommand[];
}

export type RealServerView = { rules: RealServerRules; state: RealServerState };

/** weigh_live_realservers: the sum of the real weights of the live real servers. */
export function liveWeight(rss: readonly RealServerView[]): number {
  return rss.reduce((n, rs) => n + (rs.state.alive ? realWeight(rs.state.effectiveWeight) : 0), 0);
}

/**
 * The state at start. set_quorum_states runs before any real server is alive, so
 * quorum starts down; init_service_vs then calls update_quorum_state(init) with
 * the servers init_service_rs made alive: quorum reached fires quorum-up (the
 * quorum_up script runs at start), and quorum not reached fires quorum-down only
 * when there is a sorry server to put in.
 */
export function initialVirtualServer(r: VirtualServerRules, rss: readonly RealServerView[], addressCount = 0): Step {
  const start: VirtualServerState = { quorumUp: false, sorryActive: false, addressCount };
  return quorumStep(r, start, rss, true);
}

/** update_quorum_state after any real server's aliveness or weight changed. */
export function reweigh(r: VirtualServerRules, s: VirtualServerState, rss: readonly RealServerView[]): Step {
  return quorumStep(r, s, rss, false);
}

function quorumStep(r: VirtualServerRules, s: VirtualServerState, rss: readonly RealServerView[], init: boolean): Step {
  const weight = liveWeight(rss);
  // The band: from up, lost below quorum - hysteresis; from down, gained at quorum + hysteresis.
  const threshold = r.quorum + (s.quorumUp ? -1 : 1) * r.hysteresis;
  const vs = r.id;
  if (!s.quorumUp && weight >= threshold) {
    const commands: VirtualServerCommand[] = [];
    // Gaining quorum takes the sorry server out and puts the live servers back.
    if (s.sorryActive) commands.push({ type: 'sorry-server-out', virtualServer: vs });
    commands.push({ type: 'quorum-up', virtualServer: vs, liveWeight: weight, threshold, init });
    return { state: { ...s, quorumUp: true, sorryActive: false }, commands };
  }
  // Lost: below the threshold, or no live weight at all (which matters with quorum 0).
  const lost = s.quorumUp && (weight === 0 || weight < threshold);
  const startingDown = init && !s.quorumUp && r.sorryServer !== undefined && !s.sorryActive;
  if (lost || startingDown) {
    const commands: VirtualServerCommand[] = [];
    let sorryActive = s.sorryActive;
    if (r.sorryServer !== undefined && !sorryActive) {
      commands.push({ type: 'sorry-server-in', virtualServer: vs });
      sorryActive = true;
    }
    commands.push({ type: 'quorum-down', virtualServer: vs, liveWeight: weight, threshold, init });
    return { state: { ...s, quorumUp: false, sorryActive }, commands };
  }
  return { state: s, commands: [] };
}

/**
 * A real server's place in the pool: while the sorry server stands in,
 * perform_quorum_state has withdrawn the live servers (deleted, or weight 0 with
 * inhibit_on_failure); otherwise the real server's own entry.
 */
export function realServerEntry(s: VirtualServerState, rs: RealServerView): PoolEntry {
  if (s.sorryActive && !s.quorumUp) return rs.rules.inhibitOnFailure ? { present: true, weight: 0 } : { present: false };
  return poolEntry(rs.rules, rs.state);
}

/** init_service_vs / update_quorum_state: the sorry server's place in the pool (sorry_server_inhibit keeps it at weight 0). */
export function sorryServerEntry(r: VirtualServerRules, s: VirtualServerState): PoolEntry | undefined {
  if (r.sorryServer === undefined) return undefined;
  if (s.sorryActive) return { present: true, weight: 1 };
  return r.sorryServer.inhibit ? { present: true, weight: 0 } : { present: false };
}

/** Whether the virtual server's checkers run (register_checkers_thread: ha_suspend with no VIP means disabled). */
export function checkersEnabled(r: VirtualServerRules, s: VirtualServerState): boolean {
  return !r.haSuspend || s.addressCount > 0;
}

/**
 * update_checker_activity: the VIP appeared on or vanished from the host. The same
 * address on several interfaces counts several times; checkers are suspended
 * only when the last copy goes.
 */
export function addressChanged(r: VirtualServerRules, s: VirtualServerState, added: boolean): Step {
  if (!r.haSuspend) return { state: s, commands: [] };
  const before = checkersEnabled(r, s);
  const state = { ...s, addressCount: Math.max(0, s.addressCount + (added ? 1 : -1)) };
  const after = checkersEnabled(r, state);
  if (before === after) return { state, commands: [] };
  return { state, commands: [{ type: after ? 'resume-checkers' : 'suspend-checkers', virtualServer: r.id }] };
}

/**
 * clear_service_vs at shutdown: everything leaves the pool (inhibited servers
 * too). Only with omega do the live real servers' notify_down and the quorum
 * down notification run on the way out (clear_service_rs, do_vs_notifies);
 * update_vs_notifies sends quorum down when stopping whatever the quorum was.
 */
export function shutdown(r: VirtualServerRules, s: VirtualServerState, rss: readonly RealServerView[]): Step {
  const commands: VirtualServerCommand[] = [{ type: 'remove-all', virtualServer: r.id }];
  if (r.omega) {
    for (const rs of rss) if (rs.state.alive) commands.push({ type: 'notify-rs-down', virtualServer: r.id, realServer: rs.rules.id });
    commands.push({ type: 'quorum-down', virtualServer: r.id, liveWeight: 0, threshold: r.quorum - r.hysteresis, init: false });
  }
  return { state: { ...s, quorumUp: false, sorryActive: false }, commands };
}
