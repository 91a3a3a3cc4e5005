/**
 * node:perf_hooks' event-loop delay histogram records the time between two
 * ticks of its sampling timer, so an idle loop reads as the timer's period
 * (20.1 ms at a 20 ms resolution, measured). The delay is what exceeds it.
 */

/** The histogram's sampling period: at 5 ms it alone cost an idle daemon ~0.35% of a core (bench/footprint.ts). */
export const LOOP_DELAY_RESOLUTION_MS = 20;

/** A histogram reading (ns) as a delay in ms (3 decimals), the sampling period taken off. */
export function loopDelayMs(ns: number, resolutionMs = LOOP_DELAY_RESOLUTION_MS): number {
  return Math.round(Math.max(0, ns / 1e6 - resolutionMs) * 1000) / 1000;
}
