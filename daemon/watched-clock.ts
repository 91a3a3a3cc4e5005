/**
 * Real time for the VRRP machines, with a watch on late timers. Node's event
 * loop can stall (GC, a busy callback); a Master whose Adver_Timer fires late
 * risks a spurious takeover by its Backups. This is vipflow's counterpart of
 * keepalived's "thread timer expired" warning: count and log every timer that
 * fires late by more than a quarter of its own duration (and at least 2 ms).
 */
import type { VrrpClock } from '../actors/vrrp/index.js';
import type { Logger } from '../core/logger.js';

export interface LateTimerStats {
  late: number;
  worstLateMs: number;
}

export function watchedClock(log: Logger, stats: LateTimerStats): VrrpClock {
  let lastWarn = -Infinity;
  return {
    now: () => performance.now(),
    clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
    setTimeout: (fn, ms) => {
      const due = performance.now() + ms;
      // Node keeps one timer list per distinct duration: a Master_Down_Timer
      // re-armed per advert with a fractional delay (deadline - now) built and
      // dropped a list, a heap entry and a number-keyed property each time.
      // Whole milliseconds let the instances share a few lists. Rounding up
      // moves no firing: Node compares its whole-ms loop time with start + delay.
      return setTimeout(() => {
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
      }, Math.ceil(ms));
    },
  };
}
