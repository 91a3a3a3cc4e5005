/**
 * A real server's state from its checkers, as pure functions: alive only while
 * every checker is up, its effective weight (misc_dynamic), and what it should
 * look like in the IPVS pool (inhibit_on_failure). After keepalived 2.2.7's
 * set_checker_state / update_svr_checker_state (ipwrapper.c),
 * misc_check_child_thread (check_misc.c) and ipvs_cmd (ipvswrapper.c).
 */

/** keepalived's IPVS_WEIGHT_MAX (INT_MAX). */
export const WEIGHT_LIMIT = 2147483647;

export interface RealServerRules {
  id: string;
  /** iweight: the configured weight */
  weight: number;
  inhibitOnFailure: boolean;
  checkers: readonly { id: string; alpha: boolean; miscDynamic: boolean }[];
}

export interface RealServerState {
  /** checkers currently down (keepalived counts them in num_failed_checkers) */
  failed: readonly string[];
  alive: boolean;
  /** effective_weight: iweight plus every misc_dynamic checker's offset */
  effectiveWeight: number;
  /** per MISC checker: cur_weight (its offset) and last_exit_code */
  misc: Readonly<Record<string, { offset: number; lastExit: number }>>;
}

/** real_weight(): the weight IPVS is given, clamped to 0 .. IPVS_WEIGHT_MAX. */
export function realWeight(effective: number): number {
  return Math.min(WEIGHT_LIMIT, Math.max(0, effective));
}

/**
 * validate_check_config marks alpha checkers failed; init_service_rs then makes a
 * real server alive only if none of its checkers failed.
 */
export function initialRealServer(r: RealServerRules): RealServerState {
  const failed = r.checkers.filter((c) => c.alpha).map((c) => c.id);
  const misc: Record<string, { offset: number; lastExit: number }> = {};
  for (const c of r.checkers) if (c.miscDynamic) misc[c.id] = { offset: 0, lastExit: 0 };
  return { failed, alive: failed.length === 0, effectiveWeight: r.weight, misc };
}

export interface RealServerChange {
  state: RealServerState;
  /** 'up' / 'down' when the real server's aliveness changed (perform_svr_state) */
  alive: 'up' | 'down' | undefined;
}

/** A checker turned up or down: alive again only when no checker is left down. */
export function checkerChanged(r: RealServerRules, s: RealServerState, checker: string, up: boolean): RealServerChange {
  const failed = up ? s.failed.filter((id) => id !== checker) : s.failed.includes(checker) ? s.failed : [...s.failed, checker];
  let { effectiveWeight, misc } = s;
  const m = misc[checker];
  if (!up && m !== undefined) {
    // misc_check_child_thread: a MISC checker going down takes its dynamic offset
    // back out (effective_weight -= cur_weight; cur_weight = 0) and forgets the exit code.
    effectiveWeight -= m.offset;
    misc = { ...misc, [checker]: { offset: 0, lastExit: -1 } };
  }
  const alive = failed.length === 0;
  const change = alive === s.alive ? undefined : alive ? 'up' : 'down';
  return { state: { failed, alive, effectiveWeight, misc }, alive: change };
}

/** misc_check_child_thread's reading of an exit status: 0 is success, and with misc_dynamic 2..255 too. */
export function miscExitOk(code: number, dynamic: boolean): boolean {
  return code === 0 || (dynamic && code >= 2 && code <= 255);
}

/**
 * A successful MISC_CHECK exit with misc_dynamic: a code other than the last one
 * sets the checker's offset so the weight becomes code - 2 (0 restores the
 * configured weight); several dynamic checkers add their offsets.
 */
export function miscExit(r: RealServerRules, s: RealServerState, checker: string, code: number): RealServerState {
  const m = s.misc[checker];
  if (m === undefined || !miscExitOk(code, true) || code === m.lastExit) return s;
  const offset = code === 0 ? 0 : code - 2 - r.weight;
  return { ...s, effectiveWeight: s.effectiveWeight - m.offset + offset, misc: { ...s.misc, [checker]: { offset, lastExit: code } } };
}

/** How the real server should sit in the IPVS pool, whatever the quorum says. */
export type PoolEntry = { present: false } | { present: true; weight: number };

/**
 * ipvs_cmd: a live server with its real weight; a dead one is deleted, except that
 * with inhibit_on_failure the delete becomes weight 0.
 */
export function poolEntry(r: RealServerRules, s: RealServerState): PoolEntry {
  if (s.alive) return { present: true, weight: realWeight(s.effectiveWeight) };
  return r.inhibitOnFailure ? { present: true, weight: 0 } : { present: false };
}
