/**
 * Gives the memory malloc holds freed back to the kernel: once the daemon has
 * settled ({@link FIRST_TRIM_MS} after it started: the config worker has
 * ended, the instances have converged), then every {@link TRIM_PERIOD_MS}
 * (a reload or a flapping link frees memory too). glibc returns only the top
 * of its main heap by itself; the rest, freed in the middle of a heap or in
 * the arena of a worker thread that has ended, stayed resident. Measured on a
 * Backup at 1 s adverts: 2.3 MiB returned with 1 instance and 3 MiB with
 * 1,000. V8's own heap is not malloc's: its pages are not touched here.
 */
import type { Logger } from '../core/logger.js';
import { returnFreedHeap } from '../wire/socket/index.js';

export const FIRST_TRIM_MS = 30_000;
export const TRIM_PERIOD_MS = 10 * 60_000;

export interface HeapTrimDeps {
  trim: () => boolean;
  /** Resident set size in bytes. */
  rss: () => number;
}

const hostDeps: HeapTrimDeps = { trim: returnFreedHeap, rss: () => process.memoryUsage.rss() };

export class HeapTrimmer {
  /** The first trim's timeout, then the periodic interval; null when stopped. */
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    private readonly deps: HeapTrimDeps = hostDeps,
  ) {}

  start(firstMs = FIRST_TRIM_MS, periodMs = TRIM_PERIOD_MS): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.trimNow()) return;
      this.timer = setInterval(() => this.trimNow(), periodMs);
      this.timer.unref();
    }, firstMs);
    // Housekeeping never keeps the daemon running.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One trim, logged at debug with what it returned; false after logging a failure (the trims then stop), never a throw. */
  trimNow(): boolean {
    try {
      const before = this.deps.rss();
      const started = performance.now();
      const released = this.deps.trim();
      const ms = Math.round((performance.now() - started) * 100) / 100;
      const returnedKiB = Math.max(0, Math.round((before - this.deps.rss()) / 1024));
      this.log.debug({ released, returnedKiB, ms }, 'freed heap memory returned to the kernel');
      return true;
    } catch (err) {
      this.log.warn({ err }, 'returning freed heap memory failed; trims stopped');
      this.stop();
      return false;
    }
  }
}
