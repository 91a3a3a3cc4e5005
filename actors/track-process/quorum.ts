/**
 * keepalived's vrrp_track_process quorum rules, as a pure step function plus a
 * small clock-driven wrapper.
 *
 * A tracked process has quorum while quorum <= count <= quorum_max. keepalived
 * re-decides only when the count crosses a bound (reaches quorum, or reaches
 * quorum_max + 1 on the way up; drops below quorum, or back to quorum_max on the
 * way down), and it delays the decision in two cases only:
 * - a crossing caused by a tracked process forking waits `fork_delay`;
 * - a crossing caused by a process ending waits `terminate_delay`.
 * A crossing back while the other delay runs cancels that delay: the pending
 * change is dropped, and the quorum is decided from the current count at once.
 * A process that starts by exec (how most programs start) is never delayed.
 * When a delay ends, quorum is decided from the count at that moment.
 */

export interface QuorumSettings {
  quorum: number;
  quorumMax: number;
  /** 0: no delay. */
  forkDelayMs: number;
  terminateDelayMs: number;
}

export interface QuorumState {
  count: number;
  haveQuorum: boolean;
  forkTimer: boolean;
  terminateTimer: boolean;
}

export type QuorumEvent =
  /** A matching process appeared; `forked` when it is a fork of a process already counted. */
  { type: 'added'; forked: boolean } | { type: 'removed' } | { type: 'timer'; timer: 'fork' | 'terminate' };

export type QuorumCommand =
  { type: 'start-timer'; timer: 'fork' | 'terminate'; ms: number } | { type: 'cancel-timer'; timer: 'fork' | 'terminate' } | { type: 'quorum'; up: boolean };

export function hasQuorum(s: Pick<QuorumSettings, 'quorum' | 'quorumMax'>, count: number): boolean {
  return count >= s.quorum && count <= s.quorumMax;
}

/** The state after the first count (keepalived's startup scan: no delays). */
export function initialQuorum(s: QuorumSettings, count: number): QuorumState {
  return { count, haveQuorum: hasQuorum(s, count), forkTimer: false, terminateTimer: false };
}

/** One step: the next state and what the caller must do (timers, a quorum change to report). */
export function stepQuorum(s: QuorumSettings, st: QuorumState, ev: QuorumEvent): { state: QuorumState; commands: QuorumCommand[] } {
  const commands: QuorumCommand[] = [];
  let next = { ...st };
  const decide = (up: boolean) => {
    if (up === next.haveQuorum) return;
    next = { ...next, haveQuorum: up };
    commands.push({ type: 'quorum', up });
  };
  if (ev.type === 'timer') {
    next = ev.timer === 'fork' ? { ...next, forkTimer: false } : { ...next, terminateTimer: false };
    decide(hasQuorum(s, next.count));
    return { state: next, commands };
  }
  if (ev.type === 'added') {
    next.count = st.count + 1;
    if (next.count !== s.quorum && next.count !== s.quorumMax + 1) return { state: next, commands };
    if (next.terminateTimer) {
      next.terminateTimer = false;
      commands.push({ type: 'cancel-timer', timer: 'terminate' });
    } else if (ev.forked && s.forkDelayMs > 0) {
      next.forkTimer = true;
      commands.push({ type: 'start-timer', timer: 'fork', ms: s.forkDelayMs });
      return { state: next, commands };
    }
    decide(next.count === s.quorum);
    return { state: next, commands };
  }
  next.count = Math.max(0, st.count - 1);
  if (st.count !== s.quorum && next.count !== s.quorumMax) return { state: next, commands };
  if (next.forkTimer) {
    next.forkTimer = false;
    commands.push({ type: 'cancel-timer', timer: 'fork' });
  } else if (s.terminateDelayMs > 0) {
    next.terminateTimer = true;
    commands.push({ type: 'start-timer', timer: 'terminate', ms: s.terminateDelayMs });
    return { state: next, commands };
  }
  decide(next.count === s.quorumMax);
  return { state: next, commands };
}

/** The clock that runs the delays: real timers, or a simulated clock in tests. */
export interface QuorumClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/**
 * One tracked process's quorum over time: feed it processes appearing and
 * ending; `onChange` hears each quorum change, at once or after a delay.
 */
export class ProcessQuorum {
  private st: QuorumState;
  private readonly timers: { fork?: unknown; terminate?: unknown } = {};

  constructor(
    private readonly settings: QuorumSettings,
    initialCount: number,
    private readonly clock: QuorumClock,
    private readonly onChange: (up: boolean) => void,
  ) {
    if (
      !Number.isInteger(settings.quorum) ||
      settings.quorum < 0 ||
      settings.quorumMax < settings.quorum ||
      settings.forkDelayMs < 0 ||
      settings.terminateDelayMs < 0
    ) {
      throw new TypeError(`invalid quorum settings ${JSON.stringify(settings)}`);
    }
    this.st = initialQuorum(settings, initialCount);
  }

  get state(): QuorumState {
    return this.st;
  }

  added(forked: boolean): void {
    this.apply({ type: 'added', forked });
  }

  removed(): void {
    this.apply({ type: 'removed' });
  }

  stop(): void {
    for (const k of ['fork', 'terminate'] as const) if (this.timers[k] !== undefined) this.clock.clearTimeout(this.timers[k]);
  }

  private apply(ev: QuorumEvent): void {
    const { state, commands } = stepQuorum(this.settings, this.st, ev);
    this.st = state;
    for (const c of commands) {
      if (c.type === 'start-timer') {
        if (this.timers[c.timer] !== undefined) this.clock.clearTimeout(this.timers[c.timer]);
        const timer = c.timer;
        this.timers[timer] = this.clock.setTimeout(() => {
          this.timers[timer] = undefined;
          this.apply({ type: 'timer', timer });
        }, c.ms);
      } else if (c.type === 'cancel-timer') {
        if (this.timers[c.timer] !== undefined) this.clock.clearTimeout(this.timers[c.timer]);
        this.timers[c.timer] = undefined;
      } else this.onChange(c.up);
    }
  }
}
