/**
 * The event loop's delay: how late the daemon's timers fire, in one
 * node:perf_hooks histogram that is only written to.
 *
 * The samples come from timers the daemon runs anyway (watchedClock notes
 * every VRRP timer's lateness against the moment it was meant to fire) and
 * from one tick a second of this monitor's own, so an idle daemon still has
 * a reading. Node's own monitorEventLoopDelay samples with a timer of its
 * own, and every sample wakes the process: at a quarter of the advert
 * interval (the period this monitor used before) that was 4 wake-ups a
 * second at 1 s adverts and 40 at 0.1 s, a third of the wake-ups of an
 * otherwise idle Backup of 150 instances (strace). A stall that no timer
 * overlaps delayed nothing that was due; watchedClock still counts and logs
 * every VRRP timer that fires late.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** The monitor's own sampling tick. */
export const TICK_MS = 1000;
/** Percentiles and the recent maximum cover the last window (and the current one, for the maximum). */
export const WINDOW_MS = 5000;

/** A histogram reading (µs) as ms with 3 decimals; the 1 µs floor of an on-time sample reads as 0. */
export function loopDelayMs(us: number): number {
  return us <= 1 ? 0 : Math.round(us) / 1000;
}

export interface LoopDelayReadings {
  /** Over the last complete window (the current one before the first ends). */
  delayP50Ms: number;
  delayP99Ms: number;
  /** The longest delay since the daemon started. */
  delayMaxMs: number;
  /** The longest delay in the last WINDOW_MS to 2 x WINDOW_MS: what a flood does to the loop now. */
  recentMaxMs: number;
}

export interface LoopDelayHost {
  now(): number;
  setInterval(fn: () => void, ms: number): { unref(): unknown };
  clearInterval(handle: unknown): void;
}

const nodeHost: LoopDelayHost = {
  now: () => performance.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

/**
 * The histogram's range and precision: up to an hour (a longer delay counts
 * as an hour) to 2 significant digits. Node's default (any safe integer, 3
 * digits) is a 352 KiB table; this one is about 25 KiB, and a 1% step is
 * finer than a loop delay needs.
 */
const HIGHEST_US = 3_600_000_000;
const SIGNIFICANT_DIGITS = 2;

/** Node's timers fire on the loop's whole-millisecond time: up to 1 ms before a performance.now() deadline. */
const TIMER_SLACK_MS = 1;

export class LoopDelayMonitor {
  /** In µs, at least 1 (a histogram takes no 0). */
  private readonly histogram: RecordableHistogram = createHistogram({ lowest: 1, highest: HIGHEST_US, figures: SIGNIFICANT_DIGITS });
  private last: { p50: number; p99: number; max: number } | null = null;
  private lifetimeMax = 0;
  private readonly timer: unknown;
  private tickDue: number;
  private ticks = 0;

  constructor(
    private readonly host: LoopDelayHost = nodeHost,
    private readonly tickMs = TICK_MS,
  ) {
    this.tickDue = host.now() + tickMs;
    const timer = host.setInterval(() => this.tick(), tickMs);
    timer.unref();
    this.timer = timer;
  }

  /** A timer fired `lateMs` after it was due (negative or tiny: on time). */
  note(lateMs: number): void {
    this.histogram.record(lateMs > 0.001 ? Math.min(Math.round(lateMs * 1000), HIGHEST_US) : 1);
  }

  readings(): LoopDelayReadings {
    const h = this.histogram;
    const current = h.count > 0 ? this.delays(h) : { p50: 0, p99: 0, max: 0 };
    const window = this.last ?? current;
    return {
      delayP50Ms: window.p50,
      delayP99Ms: window.p99,
      delayMaxMs: Math.max(this.lifetimeMax, current.max),
      recentMaxMs: Math.max(this.last?.max ?? 0, current.max),
    };
  }

  stop(): void {
    this.host.clearInterval(this.timer);
  }

  private tick(): void {
    const now = this.host.now();
    // Node's interval counts from when its callback ran, so the next one is due a period after now.
    this.note(now - this.tickDue > TIMER_SLACK_MS ? now - this.tickDue : 0);
    this.tickDue = now + this.tickMs;
    if (++this.ticks * this.tickMs >= WINDOW_MS) {
      this.ticks = 0;
      this.rotate();
    }
  }

  private rotate(): void {
    const h = this.histogram;
    if (h.count === 0) return;
    this.last = this.delays(h);
    this.lifetimeMax = Math.max(this.lifetimeMax, this.last.max);
    h.reset();
  }

  private delays(h: RecordableHistogram): { p50: number; p99: number; max: number } {
    return { p50: loopDelayMs(h.percentile(50)), p99: loopDelayMs(h.percentile(99)), max: loopDelayMs(h.max) };
  }
}
