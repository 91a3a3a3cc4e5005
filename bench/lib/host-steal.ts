import { readFileSync } from 'node:fs';

/**
 * CPU time the hypervisor took from this virtual machine ("steal" in
 * /proc/stat), sampled every SAMPLE_MS so that a late takeover or a long
 * advert interval can be set beside it. While a vCPU is stolen nothing on it
 * runs, keepalived or vipflow, and neither can see it from inside; a takeover
 * or advert late by a millisecond or two with the daemon's own timers on time
 * (issue 16) may be that.
 *
 * /proc/stat counts in USER_HZ ticks (10 ms, fixed on Linux whatever the
 * kernel's HZ), of time the kernel accumulates in ns: a steal of 1 ms shows as
 * one tick about one time in ten. So a tick near an event says the host took
 * CPU around then; no tick does not prove it took none.
 */
const TICK_MS = 10;
export const SAMPLE_MS = 100;

/** Summed steal of all CPUs in ms from /proc/stat's text, or null where it has no steal column. */
export function stealMsIn(stat: string): number | null {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  // cpu user nice system idle iowait irq softirq steal ...
  const steal = line?.trim().split(/\s+/)[8];
  return steal === undefined || !/^\d+$/.test(steal) ? null : Number(steal) * TICK_MS;
}

function readProcStat(): string {
  try {
    return readFileSync('/proc/stat', 'utf8');
  } catch {
    return '';
  }
}

/** Cumulative steal samples in time order, and what they say about a span of time. */
export class StealSeries {
  private readonly at: number[] = [];
  private readonly stealMs: number[] = [];

  add(at: number, stealMs: number): void {
    this.at.push(at);
    this.stealMs.push(stealMs);
  }

  get size(): number {
    return this.at.length;
  }

  /**
   * Steal in ms counted between the last sample before `from` - SAMPLE_MS and the first after `to` + SAMPLE_MS:
   * a tick is counted when the kernel's total crosses it, up to a sampling period after the steal itself.
   */
  between(from: number, to: number): number {
    const n = this.at.length;
    if (n === 0) return 0;
    const lo = Math.max(0, this.firstAtOrAfter(from - SAMPLE_MS + 1) - 1);
    const hi = Math.min(n - 1, this.firstAtOrAfter(to + SAMPLE_MS));
    return Math.max(0, this.stealMs[hi]! - this.stealMs[lo]!);
  }

  total(): number {
    return this.at.length < 2 ? 0 : this.stealMs.at(-1)! - this.stealMs[0]!;
  }

  private firstAtOrAfter(t: number): number {
    let lo = 0;
    let hi = this.at.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.at[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export interface StealSampler {
  readonly series: StealSeries;
  /** Whether /proc/stat gave a steal figure at all. */
  readonly available: boolean;
  stop(): void;
}

/** Samples /proc/stat's steal every SAMPLE_MS from now until stop(); `now` gives ms on the caller's clock. */
export function startStealSampler(now: () => number = Date.now, read: () => string = readProcStat): StealSampler {
  const series = new StealSeries();
  const take = () => {
    const s = stealMsIn(read());
    if (s !== null) series.add(now(), s);
  };
  take();
  const timer = setInterval(take, SAMPLE_MS);
  timer.unref();
  return {
    series,
    available: series.size > 0,
    stop() {
      take();
      clearInterval(timer);
    },
  };
}
