/**
 * keepalived's rise/fall counter for a vrrp_script, as a pure value.
 *
 * keepalived keeps one integer `result` in 0 .. rise+fall-1: the script counts as good
 * at `result >= rise`. From bad it takes `rise` successes in a row to turn good (a
 * failure meanwhile starts over); from good it takes `fall` failures in a row to turn
 * bad (a success meanwhile restores full credit). Before its first result a script is
 * unknown, and that first result decides at once whatever rise and fall say
 * ("one success is enough"); `init_fail` starts it bad instead of unknown.
 */
export type ScriptHealth = 'unknown' | 'up' | 'down';

export interface RiseFall {
  rise: number;
  fall: number;
}

export interface Counter {
  readonly result: number;
  readonly health: ScriptHealth;
}

export function initialCounter(rf: RiseFall, initFail: boolean): Counter {
  return initFail ? { result: 0, health: 'down' } : { result: rf.rise - 1, health: 'unknown' };
}

/**
 * The counter of a script whose definition a reload replaced: keepalived keeps
 * its success or failure (clear_diff_script), here at the far end of the new
 * rise/fall range, so the next result counts as it would for a settled script.
 */
export function carriedCounter(rf: RiseFall, health: 'up' | 'down'): Counter {
  return health === 'up' ? { result: rf.rise + rf.fall - 1, health: 'up' } : { result: 0, health: 'down' };
}

/** The counter after one script result; `health` changes only on a real transition. */
export function countResult(rf: RiseFall, c: Counter, ok: boolean): Counter {
  const top = rf.rise + rf.fall - 1;
  if (ok) {
    if (c.health === 'unknown') return { result: top, health: 'up' };
    if (c.result < rf.rise - 1) return { result: c.result + 1, health: c.health };
    return { result: top, health: 'up' };
  }
  if (c.health === 'unknown') return { result: 0, health: 'down' };
  if (c.result > rf.rise) return { result: c.result - 1, health: c.health };
  return { result: 0, health: 'down' };
}
