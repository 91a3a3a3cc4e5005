/**
 * Two timings of one VRRP instance, for the takeover and advert-jitter
 * histograms (daemon/timing-metrics.ts). Pure: times come in as arguments
 * (ms on the instance's clock), samples go out as return values.
 *
 * - Takeover: from the last advert this node heard from the old Master (its
 *   priority-0 release included) to this node's first advert as Master, for a
 *   Backup that becomes Master. A node that starts as Master, or never heard a
 *   Master, has no takeover to time.
 * - Advert jitter, measured where it matters, on a Backup: the interval between
 *   two consecutive adverts of the same Master minus the interval the advert
 *   carries. A Backup declares the Master down after 3 intervals plus skew, so
 *   this is the margin a failover that should not happen eats into. Positive is
 *   late; negative is early (a Master answers a priority-0 or lower-priority
 *   advert at once, off its schedule). The sending side's own timer lateness is
 *   already counted as late timers (daemon/watched-clock.ts).
 */
import type { VrrpStateName } from '../../actors/vrrp/types.js';

/** Where the samples go (the daemon's histograms); called on the VRRP path, so it must only record. */
export interface AdvertTimingSink {
  takeover(instance: string, ms: number): void;
  advertJitter(ms: number): void;
}

export class AdvertTiming {
  private state: VrrpStateName = 'initialize';
  /** The last screened advert from another router, any priority. */
  private lastHeardAt: number | null = null;
  /** The previous advert of the Master this Backup follows (priority > 0). */
  private previous: { at: number; source: string } | null = null;
  /** Set on becoming Master from Backup: when the old Master was last heard. */
  private takeoverFrom: number | null = null;

  /**
   * A screened, authenticated advert from another router.
   * @returns the jitter in ms when this is a Backup hearing its Master's next advert, else null.
   */
  heard(now: number, source: string, priority: number, intervalMs: number): number | null {
    this.lastHeardAt = now;
    if (this.state !== 'backup' || priority === 0) {
      this.previous = null;
      return null;
    }
    const prev = this.previous;
    this.previous = { at: now, source };
    return prev !== null && prev.source === source ? now - prev.at - intervalMs : null;
  }

  transition(from: VrrpStateName, to: VrrpStateName): void {
    this.state = to;
    this.previous = null;
    this.takeoverFrom = from === 'backup' && to === 'master' ? this.lastHeardAt : null;
  }

  /**
   * This node sent an advert (priority > 0).
   * @returns the takeover time in ms when it is the first advert after taking over, else null.
   */
  sent(now: number): number | null {
    const from = this.takeoverFrom;
    this.takeoverFrom = null;
    return from === null || this.state !== 'master' ? null : now - from;
  }
}
