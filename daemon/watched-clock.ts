/**
 * Real time for the VRRP machines, with a watch on late timers. Node's event
 * loop can stall (GC, a busy callback); a Master whose Adver_Timer fires late
 * risks a spurious takeover by its Backups. This is vipflow's counterpart of
 * keepalived's "thread timer expired" warning: count and log every timer that
 * fires late by more than a quarter of its own duration (and at least 2 ms).
 */
import type { ReusableTimer, VrrpClock } from '../actors/vrrp/index.js';
import type { Logger } from '../core/logger.js';
import { nodeHost, PreciseTimer, preciseTimeout, type PreciseTimeout, type PreciseTimerHost } from './precise-timer.js';

export interface LateTimerStats {
  late: number;
  worstLateMs: number;
}

/**
 * `beforeTakeover` runs just before a precise timer (a takeover's) fires: the
 * daemon reads the sockets receive moderation holds (PreciseTimerHost.beforeFire).
 */
export function watchedClock(log: Logger, stats: LateTimerStats, beforeTakeover?: () => void): VrrpClock {
  const host: PreciseTimerHost = beforeTakeover ? { ...nodeHost, beforeFire: beforeTakeover } : nodeHost;
  let lastWarn = -Infinity;
  const checkLate = (due: number, ms: number) => {
    const late = performance.now() - due;
    if (late > 2 && late > ms / 4) {
      stats.late++;
      if (late > stats.worstLateMs) stats.worstLateMs = late;
      const now = performance.now();
      // At most one line a second: a stalled loop would otherwise log on every timer.
      if (now - lastWarn > 1000) {
        lastWarn = now;
        log.warn({ lateMs: Math.round(late * 1000) / 1000, timerMs: ms, lateTimers: stats.late }, 'timer fired late: the event loop was blocked');
      }
    }
  };
  const watched = (fn: () => void, ms: number) => {
    const due = performance.now() + ms;
    return () => {
      checkLate(due, ms);
      fn();
    };
  };
  /** A re-armable timer whose firing is watched like `watched`'s, with no allocation per start. */
  const watchedTimer = (fire: () => void, make: (onFire: () => void) => ReusableTimer): ReusableTimer => {
    let due = 0;
    let ms = 0;
    const inner = make(() => {
      checkLate(due, ms);
      fire();
    });
    return {
      start: (delay) => {
        ms = delay;
        due = performance.now() + delay;
        inner.start(delay);
      },
      cancel: () => inner.cancel(),
      dispose: () => inner.dispose(),
    };
  };
  return {
    now: () => performance.now(),
    clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
    // Node keeps one timer list per distinct duration: a Master_Down_Timer
    // re-armed per advert with a fractional delay (deadline - now) built and
    // dropped a list, a heap entry and a number-keyed property each time.
    // Whole milliseconds let the instances share a few lists. Rounding up
    // moves no firing: Node compares its whole-ms loop time with start + delay
    // (that loop time is read once per turn, so any Node timer can fire early
    // by what the turn that armed it had run; the takeover timers below cannot).
    setTimeout: (fn, ms) => setTimeout(watched(fn, ms), Math.ceil(ms)),
    createTimer: (fire) => watchedTimer(fire, (onFire) => new WholeMsTimer(onFire)),
    // The takeover timers: to the tens of microseconds rather than the
    // millisecond (precise-timer.ts); their host timers are whole ms too.
    precise: {
      setTimeout: (fn, ms) => preciseTimeout(watched(fn, ms), ms, host),
      clearTimeout: (id) => (id as PreciseTimeout).cancel(),
      createTimer: (fire) => watchedTimer(fire, (onFire) => new PreciseTimer(onFire, host)),
    },
  };
}

/**
 * A plain timer in whole ms (as `setTimeout` above) that keeps its Node
 * timeout and refreshes it while the delay is the same: a Master's
 * Adver_Timer, re-armed from its own firing every interval, allocates nothing.
 */
class WholeMsTimer implements ReusableTimer {
  private handle: NodeJS.Timeout | null = null;
  private ms = -1;
  private running = false;

  constructor(private readonly fire: () => void) {}

  start(delay: number): void {
    const ms = Math.ceil(delay);
    this.running = true;
    // refresh() re-arms a pending or fired timeout, never a cleared one (handle is null then).
    if (this.handle !== null && this.ms === ms) {
      this.handle.refresh();
      return;
    }
    this.dispose();
    this.running = true;
    this.handle = setTimeout(this.onTimeout, ms);
    this.ms = ms;
  }

  /** Left set for a start to refresh; if none comes it fires once for nothing. */
  cancel(): void {
    this.running = false;
  }

  dispose(): void {
    this.running = false;
    if (this.handle === null) return;
    clearTimeout(this.handle);
    this.handle = null;
  }

  private readonly onTimeout = (): void => {
    if (!this.running) return;
    this.running = false;
    this.fire();
  };
}
