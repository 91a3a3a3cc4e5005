/**
 * The event loop's longest delay over the last few seconds, where the main
 * histogram's maximum covers the daemon's whole life (its start, a large
 * reload): what a flood does to the loop now is what an operator and the
 * hostile-LAN test ask. A second histogram, reset every WINDOW_MS; the value
 * covers the current window and the one before it (WINDOW_MS to 2 x WINDOW_MS).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { LOOP_DELAY_RESOLUTION_MS, loopDelayMs } from './loop-delay.js';

export const RECENT_WINDOW_MS = 5000;

export class RecentLoopDelay {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  private previousMaxNs = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.previousMaxNs = this.histogram.max;
      this.histogram.reset();
    }, RECENT_WINDOW_MS);
    this.timer.unref();
  }

  /** The longest delay (ms) in the last 5 to 10 s. */
  maxMs(): number {
    return loopDelayMs(Math.max(this.previousMaxNs, this.histogram.max));
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
