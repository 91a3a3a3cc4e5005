/**
 * Real time for the VRRP machines, with a watch on late timers. Node's event
 * loop can stall (GC, a busy callback); a Master whose Adver_Timer fires late
 * risks a spurious takeover by its Backups. This is vipflow's counterpart of
 * keepalived's "thread timer expired" warning: count and log every timer that
 * fires late by more than a quarter of its own duration (and at least 2 ms).
 */
import type { VrrpClock } from '../actors/vrrp/index.js';
import type { Logger } from '../core/logger.js';
import { preciseTimeout, type PreciseTimeout } from './precise-timer.js';

export interface LateTimerStats {
  late: number;
  worstLateMs: number;
}

export function watchedClock(log: Logger, stats: LateTimerStats): VrrpClock {
  let lastWarn = -Infinity;
  const watched = (fn: () => void, ms: number) => {
    const due = performance.now() + ms;
    return () => {
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
      fn();
    };
  };
  return {
    now: () => performance.now(),
    clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
    // Node keeps one timer list per distinct duration: a Master_Down_Timer
    // re-armed per advert with a fractional delay (deadline - now) built and
    // dropped a list, a heap entry and a number-keyed property each time.
    // Whole milliseconds let the instances share a few lists. Rounding up
    // moves no firing: Node compares its whole-ms loop time with start + delay.
    setTimeout: (fn, ms) => setTimeout(watched(fn, ms), Math.ceil(ms)),
    // The takeover timers: to the tens of microseconds rather than the
    // millisecond (precise-timer.ts); their host timers are whole ms too.
    precise: {
      setTimeout: (fn, ms) => preciseTimeout(watched(fn, ms), ms),
      clearTimeout: (id) => (id as PreciseTimeout).cancel(),
    },
  };
}
