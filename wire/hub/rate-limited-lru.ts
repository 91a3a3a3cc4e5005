/**
 * A time-based limit per key with bounded memory: a key passes at most once
 * per interval, and what it tried meanwhile is counted and handed back on its
 * next pass. The keys live in an LRU of fixed capacity (a Map in use order),
 * so a flood from endless spoofed senders evicts old keys instead of growing
 * without bound or, as a lifetime cap would, silencing every sender after
 * the first thousand. A total budget per interval bounds what all keys
 * together let through. Pure: the caller passes the time.
 */
export interface RateLimitOptions {
  /** A key passes at most once per this many ms. */
  intervalMs: number;
  /** Keys remembered; the least recently seen is forgotten first. */
  capacity: number;
  /** Passes for all keys together per interval (a flood of distinct senders). */
  totalPerInterval: number;
}

export type RateVerdict = { pass: true; suppressed: number } | { pass: false };

interface Entry {
  lastPassAt: number;
  suppressed: number;
}

export class RateLimitedLru {
  private readonly entries = new Map<string, Entry>();
  private windowStart = -Infinity;
  private passedInWindow = 0;
  /** Sightings refused by the total budget (their keys may be forgotten by then). */
  overBudget = 0;

  constructor(private readonly options: RateLimitOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * One sighting of `key` at `now` (ms). Passes when the key was not seen
   * within the interval (or is new) and the total budget allows; then
   * `suppressed` is how many of its sightings were held back since its last pass.
   */
  hit(key: string, now: number): RateVerdict {
    const { intervalMs, capacity, totalPerInterval } = this.options;
    let entry = this.entries.get(key);
    if (entry) {
      // Move to the most recently used end.
      this.entries.delete(key);
      this.entries.set(key, entry);
      if (now - entry.lastPassAt < intervalMs) {
        entry.suppressed++;
        return { pass: false };
      }
    } else {
      if (this.entries.size >= capacity) this.entries.delete(this.entries.keys().next().value!);
      entry = { lastPassAt: -Infinity, suppressed: 0 };
      this.entries.set(key, entry);
    }
    if (now - this.windowStart >= intervalMs) {
      this.windowStart = now;
      this.passedInWindow = 0;
    }
    if (this.passedInWindow >= totalPerInterval) {
      entry.suppressed++;
      this.overBudget++;
      return { pass: false };
    }
    this.passedInWindow++;
    const suppressed = entry.suppressed;
    entry.lastPassAt = now;
    entry.suppressed = 0;
    return { pass: true, suppressed };
  }
}
