/**
 * A real server's state from its checkers, as pure functions: alive only while
 * every checker is up, its effective weight (misc_dynamic), and what it should
 * look like in the IPVS pool (inhibit_on_failure). After keepalived 2.2.7's
 * set_checker_state / update_svr_checker_state (ipwrapper.c),
 * misc_check_child_thread (check_misc.c), process_update_checker_track_file_status
 * (track_file.c) and ipvs_cmd (ipvswrapper.c).
 */

/** keepalived's IPVS_WEIGHT_MAX (INT_MAX). */
export const WEIGHT_LIMIT = 2147483647;

export interface RealServerRules {
  id: string;
  /** iweight: the configured weight */
  weight: number;
  inhibitOnFailure: boolean;
  /** `file`: a FILE_CHECK, read through its weight (see fileCheckEffect) */
  checkers: readonly { id: string; alpha: boolean; miscDynamic: boolean; file?: { weight: number; reverse: boolean } }[];
}

export interface RealServerState {
  /** checkers currently down (keepalived counts them in num_failed_checkers) */
  failed: readonly string[];
  alive: boolean;
  /** effective_weight: iweight plus every misc_dynamic checker's offset */
  effectiveWeight: number;
  /** per MISC checker: cur_weight (its offset) and last_exit_code */
  misc: Readonly<Record<string, { offset: number; lastExit: number }>>;
  /** per FILE_CHECK: cur_weight, what its file value adds to the weight (0 while it is down) */
  files?: Readonly<Record<string, number>>;
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
  return { state: { ...s, failed, alive, effectiveWeight, misc }, alive: change };
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

/** keepalived's IPVS_WEIGHT_FAULT (INT_MIN): a FILE_CHECK product at or below it is a failure. */
export const WEIGHT_FAULT = -2147483648;

export interface FileCheckEffect {
  down: boolean;
  /** what the value adds to the real server's weight while up */
  offset: number;
}

/**
 * update_track_file_status for a checker: with weight 0, a non-zero value is
 * down (with reverse, a zero value is); otherwise value × weight, negated by
 * reverse and clamped to the int range (weight_range), is added to the weight,
 * and at INT_MIN the checker is down instead.
 *
 * keepalived's start-up path (init_service_rs) skips reverse for weight 0, so a
 * zero value with `weight 0 reverse` starts up there until the file changes;
 * vipflow applies the one rule from the start.
 */
export function fileCheckEffect(value: number, weight: number, reverse: boolean): FileCheckEffect {
  if (weight === 0) return { down: (value !== 0) !== reverse, offset: 0 };
  const product = Math.min(WEIGHT_LIMIT, Math.max(WEIGHT_FAULT, value * weight * (reverse ? -1 : 1))) || 0;
  return product === WEIGHT_FAULT ? { down: true, offset: 0 } : { down: false, offset: product };
}

/**
 * A FILE_CHECK's file now reads `value`: down takes its offset out of the
 * weight (process_update_checker_track_file_status: effective_weight -=
 * cur_weight, cur_weight = 0), up puts the new offset in, and the real server's
 * aliveness follows as for any checker.
 */
export function fileValue(r: RealServerRules, s: RealServerState, checker: string, value: number): RealServerChange {
  const c = r.checkers.find((x) => x.id === checker);
  if (c?.file === undefined) return { state: s, alive: undefined };
  const effect = fileCheckEffect(value, c.file.weight, c.file.reverse);
  const before = s.files?.[checker] ?? 0;
  const offset = effect.down ? 0 : effect.offset;
  const failed = effect.down ? (s.failed.includes(checker) ? s.failed : [...s.failed, checker]) : s.failed.filter((id) => id !== checker);
  const alive = failed.length === 0;
  const state: RealServerState = { ...s, failed, alive, effectiveWeight: s.effectiveWeight - before + offset, files: { ...s.files, [checker]: offset } };
  return { state, alive: alive === s.alive ? undefined : alive ? 'up' : 'down' };
}
