/**
 * Gives memory the daemon holds but no longer uses back to the kernel, at
 * {@link FIRST_TRIMS_MS} after it started (start-up is over, then the config
 * worker has ended and the instances have converged), then every
 * {@link TRIM_PERIOD_MS} (a reload or a flapping link frees memory too):
 *
 * - what malloc holds freed. glibc returns only the top of its main heap by
 *   itself; the rest, freed in the middle of a heap or in the arena of a
 *   worker thread that has ended, stayed resident. Measured on a Backup at 1 s
 *   adverts: 2.3 MiB returned with 1 instance and 3 MiB with 1,000;
 * - the node binary's pages that start-up touched (daemon/executable-pages.ts):
 *   some 40 MiB resident after start, of which a running daemon touches about
 *   a quarter again.
 *
 * V8's own heap is not malloc's: its pages are not touched here.
 */
import type { Logger } from '../core/logger.js';
import { returnFreedHeap } from '../wire/socket/index.js';
import { releaseExecutablePages, type ExecutablePagesResult } from './executable-pages.js';

export const FIRST_TRIMS_MS: readonly number[] = [10_000, 30_000];
export const TRIM_PERIOD_MS = 10 * 60_000;

export interface HeapTrimDeps {
  trim: () => boolean;
  releaseExecutable: () => Promise<ExecutablePagesResult>;
  /** Resident set size in bytes. */
  rss: () => number;
}

const hostDeps: HeapTrimDeps = { trim: returnFreedHeap, releaseExecutable: () => releaseExecutablePages(), rss: () => process.memoryUsage.rss() };

const round2 = (ms: number) => Math.round(ms * 100) / 100;

export class HeapTrimmer {
  /** The pending timeout or the periodic interval; null when stopped. */
  private timer: NodeJS.Timeout | null = null;
  /** A failed executable release is logged once and not tried again; malloc trims go on. */
  private releaseExecutable = true;
  private stopped = false;

  constructor(
    private readonly log: Logger,
    private readonly deps: HeapTrimDeps = hostDeps,
  ) {}

  start(firstMs: readonly number[] = FIRST_TRIMS_MS, periodMs = TRIM_PERIOD_MS): void {
    if (this.timer !== null) return;
    this.stopped = false;
    this.schedule(firstMs, 0, periodMs);
  }

  private schedule(firstMs: readonly number[], index: number, periodMs: number): void {
    if (index >= firstMs.length) {
      this.timer = setInterval(() => void this.trimNow(), periodMs);
    } else {
      const delay = firstMs[index]! - (index === 0 ? 0 : firstMs[index - 1]!);
      this.timer = setTimeout(
        () => {
          this.timer = null;
          void this.trimNow().then((ok) => {
            // stop() while the trim ran leaves nothing scheduled.
            if (ok && !this.stopped) this.schedule(firstMs, index + 1, periodMs);
          });
        },
        Math.max(0, delay),
      );
    }
    // Housekeeping never keeps the daemon running.
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One trim, logged at debug with what it returned; false after logging a failure of malloc's trim (the trims then stop), never a rejection. */
  async trimNow(): Promise<boolean> {
    const before = this.deps.rss();
    let released: boolean;
    let ms: number;
    try {
      const started = performance.now();
      released = this.deps.trim();
      ms = round2(performance.now() - started);
    } catch (err) {
      this.log.warn({ err }, 'returning freed heap memory failed; trims stopped');
      this.stop();
      return false;
    }
    const executable = await this.releaseExecutablePages();
    const returnedKiB = Math.max(0, Math.round((before - this.deps.rss()) / 1024));
    this.log.debug({ released, returnedKiB, ms, ...executable }, 'unused memory returned to the kernel');
    return true;
  }

  private async releaseExecutablePages(): Promise<{ executableKiB?: number; executableMs?: number; executableLoopMs?: number }> {
    if (!this.releaseExecutable) return {};
    try {
      const started = performance.now();
      const r = await this.deps.releaseExecutable();
      if (r.failed !== null) throw new Error(`madvise: ${r.failed} after ${r.mappings} mappings`);
      return { executableKiB: r.releasedKiB, executableMs: round2(performance.now() - started), executableLoopMs: r.loopMs };
    } catch (err) {
      this.releaseExecutable = false;
      this.log.warn({ err }, "releasing the node binary's start-up pages failed; not tried again (the rest of the trims go on)");
      return {};
    }
  }
}
