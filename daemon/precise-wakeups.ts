/**
 * The takeover timers' last stretch, slept to the microsecond
 * (PreciseTimerHost.wake): every waiting timer shares one wake timer (a
 * timerfd, wire/socket/wake-timer.ts) armed for the earliest of them, so
 * 1,000 instances taking over at once cost one file descriptor, not 1,000.
 * A Master's Adver_Timer below 0.1 s adverts waits here too, for its whole
 * interval (daemon/watched-clock.ts), with a slack: it may run up to that
 * much early, on the wake-up of an earlier wait, so that many instances'
 * adverts share wake-ups as they did on Node's millisecond timers. A
 * re-armed advert goes to the back of the queue, so a sorted array is still
 * all the queue needs.
 */
import type { Logger } from '../core/logger.js';
import { openWakeTimer, type WakeTimer } from '../wire/socket/index.js';

export interface PreciseWakeup {
  readonly due: number;
  /** Runs on any wake-up from this time on (due less its slack). */
  readonly from: number;
  readonly fn: () => void;
}

export class PreciseWakeups {
  /** Sorted by due time, earliest first; equal due times keep their order. */
  private readonly waiting: PreciseWakeup[] = [];
  /** The due time the wake timer is armed for; Infinity when disarmed. */
  private armedFor = Infinity;
  private readonly timer: WakeTimer;

  constructor(
    open: (onWake: () => void) => WakeTimer,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.timer = open(this.onWake);
  }

  /**
   * Runs `fn` once, `ms` from now, or up to `slackMs` earlier when a wake-up
   * for an earlier wait comes by then (the timer is armed for the due time
   * itself); cancel with the returned handle.
   */
  after(fn: () => void, ms: number, slackMs = 0): PreciseWakeup {
    const due = this.now() + ms;
    const w: PreciseWakeup = { due, from: due - slackMs, fn };
    let i = this.waiting.length;
    while (i > 0 && this.waiting[i - 1]!.due > w.due) i--;
    this.waiting.splice(i, 0, w);
    if (w.due < this.armedFor) this.arm();
    return w;
  }

  /**
   * `after` and `cancel` as a timer host's `wake` / `cancelWake`
   * (PreciseTimerHost, watchedClock's pacer), each wait with `slackMs`.
   */
  waker(slackMs = 0): { wake(fn: () => void, ms: number): PreciseWakeup; cancelWake(handle: unknown): void } {
    return { wake: (fn, ms) => this.after(fn, ms, slackMs), cancelWake: (w) => this.cancel(w as PreciseWakeup) };
  }

  /** A no-op once it ran or was cancelled. The wake timer stays armed: a wake-up with nothing due re-arms for the next. */
  cancel(w: PreciseWakeup): void {
    const i = this.waiting.indexOf(w);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** Nothing waiting runs after this. */
  close(): void {
    this.waiting.length = 0;
    this.armedFor = Infinity;
    this.timer.close();
  }

  /** Arms for the earliest wait; called only with one waiting. */
  private arm(): void {
    const head = this.waiting[0]!;
    this.armedFor = head.due;
    // At least a microsecond: 0 would disarm the timer.
    this.timer.arm(Math.max(1, (head.due - this.now()) * 1000));
  }

  private readonly onWake = (): void => {
    // While the waits run, what they add is not armed for (a paced advert
    // re-arms from its own wait, and with many sharing a wake-up each add
    // armed the timer again): the timer is armed once, after them.
    this.armedFor = -Infinity;
    try {
      const now = this.now();
      // What runs may add or cancel waits: take one at a time from the front
      // (a wait whose slack would let it run, behind one that may not, waits).
      while (this.waiting.length > 0 && this.waiting[0]!.from <= now) this.waiting.shift()!.fn();
    } finally {
      // Also when a wait threw (an uncaught exception, as from setImmediate): the others stay armed for.
      this.armedFor = Infinity;
      if (this.waiting.length > 0) this.arm();
    }
  };
}

/** The daemon's wake-ups, or null (with a warning: takeovers then spin their last stretch) when no timerfd could be made. */
export function openPreciseWakeups(log: Logger): PreciseWakeups | null {
  try {
    return new PreciseWakeups(openWakeTimer);
  } catch (err) {
    log.warn({ err }, 'no precise wake-up timer (timerfd): a takeover waits out its last millisecond on the event loop instead');
    return null;
  }
}
