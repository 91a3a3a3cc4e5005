/**
 * A timer that fires at its due time to a few tens of microseconds, for the
 * timers a takeover waits on (a Backup's Master_Down_Timer and its Skew_Time
 * after a priority-0 advert). Node runs timers on libuv's loop time, read in
 * whole milliseconds once per loop turn, so a plain setTimeout fires up to
 * about 1 ms either side of its due time: measured at 0.01 s adverts, the
 * Master_Down_Timer fired 0.1-1.4 ms late (0.6 ms typical), a third of the
 * takeover's lateness against Master_Down_Interval.
 *
 * The host timer is armed to fire up to {@link EARLY_MS} + 1 ms early (never
 * late, by the rounding above), and the rest is waited out on setImmediate:
 * each turn of the loop polls I/O first, so an advert that arrives meanwhile
 * is read and can cancel the timer, which a blocking spin would miss. The
 * wait costs up to about 2 ms of CPU per firing; these timers are re-armed on
 * every advert and fire only when a takeover is due, so that is once per
 * takeover, not once per advert.
 */

/** The host's timer primitives (Node's globals in the daemon, a simulation in tests). */
export interface PreciseTimerHost {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setImmediate(fn: () => void): unknown;
  clearImmediate(handle: unknown): void;
}

/** How much earlier than due (in whole ms, before libuv's own rounding) the host timer is asked to fire. */
export const EARLY_MS = 1;

/**
 * Left to wait when the host timer fired, beyond which it is re-armed rather
 * than waited out on setImmediate: a bound on the busy part whatever the host
 * timer did.
 */
const MAX_WAIT_MS = EARLY_MS + 2;

export interface PreciseTimeout {
  /** Cancels the timer; a no-op once it fired. */
  cancel(): void;
}

const nodeHost: PreciseTimerHost = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setImmediate: (fn) => setImmediate(fn),
  clearImmediate: (h) => clearImmediate(h as NodeJS.Immediate),
};

/** Runs `fn` once `ms` ms from now on `host`'s clock, no earlier and as little later as the loop allows. */
export function preciseTimeout(fn: () => void, ms: number, host: PreciseTimerHost = nodeHost): PreciseTimeout {
  const due = host.now() + ms;
  let timer: unknown = null;
  let immediate: unknown = null;
  let done = false;

  // A wait short enough to be bounded goes to the loop at once: a host timer
  // asked for under a millisecond could still fire a millisecond late.
  const arm = (left: number) => {
    if (left > MAX_WAIT_MS) timer = host.setTimeout(onTimer, Math.floor(left) - EARLY_MS);
    else immediate = host.setImmediate(finish);
  };
  const onTimer = () => {
    timer = null;
    const left = due - host.now();
    if (left > 0) arm(left);
    else finish();
  };
  const finish = (): void => {
    immediate = null;
    if (host.now() < due) {
      immediate = host.setImmediate(finish);
      return;
    }
    done = true;
    fn();
  };

  arm(ms);
  return {
    cancel: () => {
      if (done) return;
      done = true;
      if (timer !== null) host.clearTimeout(timer);
      if (immediate !== null) host.clearImmediate(immediate);
      timer = immediate = null;
    },
  };
}
