/**
 * The event loop's delay, from one node:perf_hooks histogram.
 *
 * The histogram records the time between two ticks of its own sampling timer,
 * so an idle loop reads as the timer's period (20.1 ms at a 20 ms resolution,
 * measured): the delay is what exceeds it. Each tick wakes the process, and
 * that cost dominates an idle daemon (20 ms: 50 wake-ups a second, most of its
 * idle CPU in bench/footprint.ts), so the period follows the fastest advert
 * interval: a quarter of it, 20 to 250 ms. A stall shorter than that period
 * can go unseen, but it is also too short to disturb VRRP timing, and
 * watchedClock reports every VRRP timer that fires late anyway.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export const MIN_RESOLUTION_MS = 20;
export const MAX_RESOLUTION_MS = 250;
/** Percentiles and the recent maximum cover the last window (and the current one, for the maximum). */
export const WINDOW_MS = 5000;

/** The sampling period for the fastest advert interval configured (ms; Infinity without instances). */
export function loopDelayResolutionMs(fastestAdvertMs: number): number {
  if (!Number.isFinite(fastestAdvertMs)) return MAX_RESOLUTION_MS;
  return Math.round(Math.min(MAX_RESOLUTION_MS, Math.max(MIN_RESOLUTION_MS, fastestAdvertMs / 4)));
}

/** A histogram reading (ns) as a delay in ms (3 decimals), the sampling period taken off. */
export function loopDelayMs(ns: number, resolutionMs: number): number {
  return Math.round(Math.max(0, ns / 1e6 - resolutionMs) * 1000) / 1000;
}

export interface LoopDelayReadings {
  /** Over the last complete window (the current one before the first ends). */
  delayP50Ms: number;
  delayP99Ms: number;
  /** The longest delay since the daemon started. */
  delayMaxMs: number;
  /** The longest delay in the last WINDOW_MS to 2 x WINDOW_MS: what a flood does to the loop now. */
  recentMaxMs: number;
  /** The sampling period in use. */
  resolutionMs: number;
}

export class LoopDelayMonitor {
  private histogram: IntervalHistogram;
  private last: { p50: number; p99: number; max: number } | null = null;
  private lifetimeMax = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private resolutionMs = MIN_RESOLUTION_MS) {
    this.histogram = this.open(resolutionMs);
    this.timer = setInterval(() => this.rotate(), WINDOW_MS);
    this.timer.unref();
  }

  /** A reload changed the fastest advert interval: sample at the matching period from now on. */
  retune(resolutionMs: number): void {
    if (resolutionMs === this.resolutionMs) return;
    this.rotate();
    this.histogram.disable();
    this.resolutionMs = resolutionMs;
    this.histogram = this.open(resolutionMs);
  }

  readings(): LoopDelayReadings {
    const h = this.histogram;
    const current = h.count > 0 ? this.delays(h.percentile(50), h.percentile(99), h.max) : { p50: 0, p99: 0, max: 0 };
    const window = this.last ?? current;
    return {
      delayP50Ms: window.p50,
      delayP99Ms: window.p99,
      delayMaxMs: Math.max(this.lifetimeMax, current.max),
      recentMaxMs: Math.max(this.last?.max ?? 0, current.max),
      resolutionMs: this.resolutionMs,
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private open(resolutionMs: number): IntervalHistogram {
    const h = monitorEventLoopDelay({ resolution: resolutionMs });
    h.enable();
    return h;
  }

  private rotate(): void {
    const h = this.histogram;
    if (h.count === 0) return;
    this.last = this.delays(h.percentile(50), h.percentile(99), h.max);
    this.lifetimeMax = Math.max(this.lifetimeMax, this.last.max);
    h.reset();
  }

  private delays(p50: number, p99: number, max: number): { p50: number; p99: number; max: number } {
    const r = this.resolutionMs;
    return { p50: loopDelayMs(p50, r), p99: loopDelayMs(p99, r), max: loopDelayMs(max, r) };
  }
}
