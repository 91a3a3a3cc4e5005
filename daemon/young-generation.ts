/**
 * Empties V8's young generation just before a takeover that is due, when it
 * is more than half full, so that the takeover's own step does not pay for
 * a scavenge. The daemon runs with a 1 MiB semi-space (cli/main.ts), which
 * its allocation fills about once a second at 0.01 s adverts; a scavenge
 * takes 0.5-0.8 ms. Timestamped in the crash benchmark, the three of 30
 * takeovers that came over Master_Down_Interval + 1 ms were exactly those
 * whose step ran into a scavenge ("allocation failure" at those instants in
 * --trace-gc): 0.77-1.16 ms from the timer to the first frame, against
 * 0.11-0.28 ms in the others, the timer on time and the thread never off
 * the CPU.
 *
 * V8 forces a scavenge only through its `gc` extension. It is taken once,
 * at start, from a throwaway context (so the daemon's own global gets no
 * `gc`), and the flag is set back so no later context gets it either.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '../core/logger.js';
import { WARM_MIN_MS } from './precise-timer.js';

/** What is left before the due time, at least, for a sweep and the warm-up after it (WARM_MIN_MS) to end in time. */
export const SWEEP_MIN_MS = 1.75;
/** Swept when the young generation is fuller than this share of its capacity: the takeover's step then has half of it. */
export const SWEEP_ABOVE = 0.5;

export interface YoungGenerationStats {
  /** Scavenges forced before a takeover. */
  sweeps: number;
  /** Times it was looked at and found under SWEEP_ABOVE. */
  skipped: number;
}

type MinorGc = (options: { type: 'minor' }) => void;

export interface YoungGenerationDeps {
  /** Bytes used in the new space and its capacity. */
  usage(): { used: number; capacity: number };
  scavenge(): void;
}

export class YoungGenerationSweeper {
  readonly stats: YoungGenerationStats = { sweeps: 0, skipped: 0 };

  constructor(private readonly deps: YoungGenerationDeps) {}

  /** Scavenges now if the young generation is over SWEEP_ABOVE full; true when it did. */
  sweepIfFull(): boolean {
    const { used, capacity } = this.deps.usage();
    if (capacity <= 0 || used <= capacity * SWEEP_ABOVE) {
      this.stats.skipped++;
      return false;
    }
    this.deps.scavenge();
    this.stats.sweeps++;
    return true;
  }
}

/**
 * The daemon's `beforeWait` for a takeover timer with `leftMs` to go: a
 * sweep when there is time for it, then the warm-up (`warm`), unless a
 * scavenge that took longer than planned left no time for it: a warm-up
 * still running at the due time would delay the takeover.
 */
export function prepareTakeover(
  leftMs: number,
  sweeper: Pick<YoungGenerationSweeper, 'sweepIfFull'> | null,
  warm: () => void,
  now: () => number = () => performance.now(),
): void {
  const from = now();
  if (leftMs >= SWEEP_MIN_MS && sweeper?.sweepIfFull() && leftMs - (now() - from) < WARM_MIN_MS) return;
  warm();
}

function newSpaceUsage(): { used: number; capacity: number } {
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name === 'new_space') return { used: space.space_used_size, capacity: space.space_used_size + space.space_available_size };
  }
  return { used: 0, capacity: 0 };
}

/** The daemon's sweeper, or null (logged once) when this V8 gives no `gc` to force a scavenge with. */
export function openYoungGenerationSweeper(log: Logger): YoungGenerationSweeper | null {
  let gc: unknown;
  try {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('typeof gc === "function" ? gc : undefined');
  } catch (err) {
    log.warn({ err }, 'cannot force a scavenge before a takeover: the takeover step may pay for one');
    return null;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  if (typeof gc !== 'function') {
    log.warn('cannot force a scavenge before a takeover (no gc extension): the takeover step may pay for one');
    return null;
  }
  const minor = gc as MinorGc;
  return new YoungGenerationSweeper({ usage: newSpaceUsage, scavenge: () => minor({ type: 'minor' }) });
}
