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
 * late, by the rounding above), and the rest is slept on the host's `wake`
 * (the daemon's: a timerfd the loop polls, daemon/precise-wakeups.ts), or,
 * on a host without one, waited out on setImmediate. Either way each turn of
 * the loop polls I/O first, so an advert that arrives meanwhile is read and
 * can cancel the timer, which a blocking wait would miss. Sleeping rather
 * than spinning matters on a busy host: a spin of 1-2 ms used up the
 * thread's scheduler slice just before the due time, and the thread then
 * waited on the run queue behind other tasks (0.25-3.8 ms in the crash
 * benchmark), where a sleeper is woken ahead of them.
 *
 * {@link PreciseTimer} is made once per timer and re-armed in place: a
 * Backup re-arms its Master_Down_Timer on every advert, and a timeout built
 * per arm (its closures, a host timer object) was a tenth of a Backup's CPU
 * per advert under perf, with the young-generation garbage it left.
 */

/** The host's timer primitives (Node's globals in the daemon, a simulation in tests). */
export interface PreciseTimerHost {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /**
   * Re-arms a host timer that is pending or has fired (not one cleared) for
   * its same duration from now, as Node's `timeout.refresh()` does.
   */
  refresh(handle: unknown): void;
  setImmediate(fn: () => void): unknown;
  clearImmediate(handle: unknown): void;
  /**
   * Runs `fn` once `ms` from now on `now`'s clock, to the microsecond, while
   * the loop goes on polling (the daemon's PreciseWakeups); `cancelWake`
   * stops it. Without them the last stretch is waited out on setImmediate.
   */
  wake?(fn: () => void, ms: number): unknown;
  cancelWake?(handle: unknown): void;
  /**
   * Runs just before a due timer fires: the daemon reads every VRRP socket
   * (WireHub.drainAll: those receive moderation holds, and those a stalled
   * loop has not polled yet), so an advert waiting there re-arms the timer
   * instead of letting it fire.
   */
  beforeFire?(): void;
  /**
   * Runs once when a timer starts waiting out its last stretch with at
   * least {@link WARM_MIN_MS} to go: the daemon takes a throwaway copy of an
   * instance through the takeover's own step (TakeoverRehearsal.warm), so
   * that the real step, a moment later, runs on code and data already in
   * the CPU's caches; with time enough (`leftMs`, before the due time) it
   * first empties V8's young generation (daemon/young-generation.ts). It
   * must not touch the timer.
   */
  beforeWait?(leftMs: number): void;
}

/**
 * How much earlier than due (in whole ms, before libuv's own rounding) the
 * host timer is asked to fire: 2-3 ms, room for `beforeWait` (a scavenge and
 * a warm-up, up to about 1.25 ms) with the rest slept.
 */
export const EARLY_MS = 2;

/**
 * Left to wait, at least, for `beforeWait` to run: the daemon's took 0.3-0.45
 * ms (0.7 at most) at 0.01 s adverts, and it must end before the due time.
 */
export const WARM_MIN_MS = 0.75;

/**
 * Left to wait when the host timer fired, beyond which it is re-armed rather
 * than waited out (slept on `wake`, or spun on setImmediate): a bound on the
 * busy part whatever the host timer did.
 */
const MAX_WAIT_MS = EARLY_MS + 2;

/**
 * How long before the due time a `wake` ends, the rest spun on setImmediate:
 * a wake-up from sleep reached JavaScript 0.1-0.2 ms after the timerfd
 * expired (measured in the crash benchmark: the CPU's way out of idle and the
 * loop's turn), and a spin this short uses little of the thread's slice.
 */
export const WAKE_LEAD_MS = 0.15;

/** A sleep shorter than this is not worth its system calls: it is spun. */
const MIN_SLEEP_MS = 0.05;

export interface PreciseTimeout {
  /** Cancels the timer; a no-op once it fired. */
  cancel(): void;
}

export const nodeHost: PreciseTimerHost = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  refresh: (h) => void (h as NodeJS.Timeout).refresh(),
  setImmediate: (fn) => setImmediate(fn),
  clearImmediate: (h) => clearImmediate(h as NodeJS.Immediate),
};

/**
 * A precise timer for one callback, re-armed in place by `start`. Its host
 * timer is kept and refreshed while the whole-ms delay it asks for stays
 * within an eighth above the one it was made for (a Backup's
 * Master_Down_Interval less the advert's age): no allocation per arm.
 */
export class PreciseTimer implements PreciseTimeout {
  private due = 0;
  private running = false;
  /** The host timer, kept for refresh; null when none or cleared (a cleared one cannot be refreshed). */
  private hostTimer: unknown = null;
  private hostMs = -1;
  /** The host timer is set and has not fired. */
  private hostPending = false;
  /** When the host timer (or the wait) wakes the loop next, while running: no later than the due time. */
  private wakeAt = Infinity;
  /** The last stretch's wait (a setImmediate or a host wake), while in it. */
  private immediate: unknown = null;
  private immediateIsWake = false;

  /**
   * `soon` runs when the host timer fires, before the wait for the rest:
   * what it does may re-arm the timer (a Backup applying the repeats the
   * addon absorbed), which then costs no wait.
   */
  constructor(
    private readonly fn: () => void,
    private readonly host: PreciseTimerHost = nodeHost,
    private readonly soon?: () => void,
  ) {}

  /** Fires `fn` once `ms` ms from now, no earlier; replaces any earlier start. */
  start(ms: number): void {
    this.dropImmediate();
    this.running = true;
    this.due = this.host.now() + ms;
    this.arm(ms);
  }

  /**
   * Stops a firing until the next start. The host timer stays set, so that
   * a start right after (a Backup's cancel-then-rearm per advert) refreshes
   * it; if none comes it fires once for nothing.
   */
  cancel(): void {
    this.running = false;
    this.dropImmediate();
  }

  /**
   * When the timer next wakes the loop, on the host's clock (its host timer
   * can be set up to an eighth of its delay early, see arm); Infinity when
   * it is not running. A caller that can move the timer on (`soon`) does it
   * before then, and saves that wake-up.
   */
  nextWake(): number {
    return this.running ? this.wakeAt : Infinity;
  }

  /**
   * Moves the wake-up on to `until` (host clock ms), leaving the due time as
   * it is: what `soon` does at that wake-up is expected to re-arm the timer
   * by then (a Backup whose Master_Down_Timer the absorbed repeats would
   * restart, counted from the latest one). So the machine steps once, when
   * the wake-up comes or something else needs it, instead of once per
   * repeat. False, with nothing moved, when the timer is not running, is in
   * its last stretch, has no `soon`, or `until` is not after the due time.
   */
  postpone(until: number): boolean {
    if (!this.running || this.immediate !== null || this.soon === undefined || !(until > this.due)) return false;
    const now = this.host.now();
    const left = until - now;
    if (left <= MAX_WAIT_MS) return false;
    this.armHost(left, now);
    return true;
  }

  /** Cancels and clears the host timer too: nothing is left on the loop. */
  dispose(): void {
    this.cancel();
    this.dropHostTimer();
  }

  // A wait short enough to be bounded goes to the loop at once: a host timer
  // asked for under a millisecond could still fire a millisecond late.
  // `left` is due less now: now is not read again here.
  private arm(left: number): void {
    const now = this.due - left;
    if (left <= MAX_WAIT_MS) {
      // One that fired is kept for the next start to refresh; one still set would wake the loop for nothing.
      if (this.hostPending) this.dropHostTimer();
      this.waitOut(left);
      this.wakeAt = now;
      return;
    }
    this.armHost(left, now);
  }

  /** Sets the host timer to wake the loop `left` ms after `now`, up to EARLY_MS + 1 early. */
  private armHost(left: number, now: number): void {
    const ms = Math.floor(left) - EARLY_MS;
    // Kept while asked for up to an eighth longer than it waits: it then fires
    // that much early and re-arms for the rest (onHostTimer), once per firing.
    // A Backup's delay differs at every arm by the advert's age, and a new
    // host timer per advert outlived the young generation (old-space garbage).
    const kept = this.hostTimer !== null && this.hostMs <= ms && ms - this.hostMs <= ms / 8;
    this.wakeAt = now + (kept ? this.hostMs : ms);
    if (kept) this.host.refresh(this.hostTimer);
    else {
      this.dropHostTimer();
      this.hostTimer = this.host.setTimeout(this.onHostTimer, ms);
      this.hostMs = ms;
    }
    this.hostPending = true;
  }

  private readonly onHostTimer = (): void => {
    this.hostPending = false;
    if (!this.running) return;
    if (this.soon) {
      const due = this.due;
      this.soon();
      // It re-armed (or cancelled) the timer: that start stands.
      if (!this.running || this.due !== due) return;
    }
    // A postponed wake-up whose `soon` did not re-arm: due has passed, and it fires now.
    let left = this.due - this.host.now();
    if (left >= WARM_MIN_MS && left <= MAX_WAIT_MS && this.host.beforeWait) {
      this.host.beforeWait(left);
      if (!this.running) return;
      left = this.due - this.host.now();
    }
    if (left > 0) this.arm(left);
    else this.finish();
  };

  /** The last `left` ms: slept on the host's wake (when it has one) up to WAKE_LEAD_MS before the due time, then spun on setImmediate. */
  private waitOut(left: number): void {
    this.immediateIsWake = left >= WAKE_LEAD_MS + MIN_SLEEP_MS && this.host.wake !== undefined;
    this.immediate = this.immediateIsWake ? this.host.wake!(this.finish, left - WAKE_LEAD_MS) : this.host.setImmediate(this.finish);
  }

  private readonly finish = (): void => {
    this.immediate = null;
    if (!this.running) return;
    const left = this.due - this.host.now();
    if (left > 0) {
      this.waitOut(left);
      return;
    }
    if (this.host.beforeFire) {
      const due = this.due;
      this.host.beforeFire();
      // What it read re-armed or cancelled this timer: that start or cancel stands.
      if (!this.running || this.due !== due) return;
    }
    this.running = false;
    this.fn();
  };

  private dropHostTimer(): void {
    this.hostPending = false;
    if (this.hostTimer === null) return;
    this.host.clearTimeout(this.hostTimer);
    this.hostTimer = null;
  }

  private dropImmediate(): void {
    if (this.immediate === null) return;
    if (this.immediateIsWake) this.host.cancelWake!(this.immediate);
    else this.host.clearImmediate(this.immediate);
    this.immediate = null;
  }
}

/** Runs `fn` once `ms` ms from now on `host`'s clock, no earlier and as little later as the loop allows. */
export function preciseTimeout(fn: () => void, ms: number, host: PreciseTimerHost = nodeHost): PreciseTimeout {
  const timer = new PreciseTimer(fn, host);
  timer.start(ms);
  return {
    // A one-shot leaves nothing behind once cancelled.
    cancel: () => timer.dispose(),
  };
}
