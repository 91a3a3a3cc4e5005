/**
 * Names the hosts that send what vipflow drops or must act on (a malformed
 * packet, another VRID, a different address list, a lower or higher priority
 * than ours): at most once a minute per (sender, reason), with the count held
 * back since, in a bounded LRU (rate-limited-lru.ts). The hub and the
 * instance runners share one reporter; each writes its own log line when a
 * sighting passes, and listeners (the daemon's `vrrp.intruder` event) get the
 * same sightings.
 */
import { RateLimitedLru, type RateLimitOptions } from './rate-limited-lru.js';

/** Why a sender was named: the wire's drop reasons and the instance's. */
export type StrangerReason =
  | 'checksum'
  | 'truncated'
  | 'version'
  | 'type'
  | 'vrid-zero'
  | 'ttl'
  | 'unknown-vrid'
  | 'address-list'
  | 'lower-priority'
  | 'higher-priority'
  | 'malformed'
  | (string & {});

export interface StrangerSighting {
  /** The sender's IP address as text. */
  sender: string;
  reason: StrangerReason;
  /** The VRID the packet carried (0 when unreadable). */
  vrid: number;
  /** The advert's priority, when the packet decoded. */
  priority: number | null;
  interface: string;
  family: 4 | 6;
  /** The instance that dropped or acted on it (absent for the wire's drops). */
  instance?: string;
  /** One line: what was found. */
  detail: string;
}

export interface ReportedSighting extends StrangerSighting {
  /** Sightings of this (sender, reason) held back since it was last reported. */
  suppressed: number;
  /** The sender's MAC, when `macOf` knows it. */
  mac: string | null;
}

/** The MAC of an address on an interface, when cheaply known (the daemon reads the neighbour table). */
export type MacLookup = (address: string, device: string, family: 4 | 6) => string | null;

export const STRANGER_LIMITS: RateLimitOptions = { intervalMs: 60_000, capacity: 4096, totalPerInterval: 256 };

export class StrangerReporter {
  private readonly limiter: RateLimitedLru;
  private readonly listeners: ((s: ReportedSighting) => void)[] = [];
  /** The latest reported sightings, newest last (for status). */
  private readonly recentList: ReportedSighting[] = [];
  private sightings = 0;

  constructor(
    private readonly now: () => number,
    limits: RateLimitOptions = STRANGER_LIMITS,
    private readonly recentMax = 20,
    private readonly macOf: MacLookup = () => null,
  ) {
    this.limiter = new RateLimitedLru(limits);
  }

  onReport(listener: (s: ReportedSighting) => void): void {
    this.listeners.push(listener);
  }

  /**
   * One sighting. Returns the count held back since the pair's last report
   * when the caller should log it now, or null when it is rate-limited.
   */
  sight(s: StrangerSighting): number | null {
    this.sightings++;
    const verdict = this.limiter.hit(`${s.interface}|${s.sender}|${s.reason}`, this.now());
    if (!verdict.pass) return null;
    const reported: ReportedSighting = { ...s, suppressed: verdict.suppressed, mac: this.macOf(s.sender, s.interface, s.family) };
    this.recentList.push(reported);
    if (this.recentList.length > this.recentMax) this.recentList.shift();
    for (const l of this.listeners) l(reported);
    return verdict.suppressed;
  }

  stats(): { sightings: number; tracked: number; overBudget: number; recent: ReportedSighting[] } {
    return { sightings: this.sightings, tracked: this.limiter.size, overBudget: this.limiter.overBudget, recent: [...this.recentList] };
  }
}
