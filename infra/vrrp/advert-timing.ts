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
import { compareAddresses } from '../../wire/codec/index.js';

/** Where the samples go (the daemon's histograms); called on the VRRP path, so it must only record. */
export interface AdvertTimingSink {
  takeover(instance: string, ms: number): void;
  advertJitter(ms: number): void;
}

export class AdvertTiming {
  private state: VrrpStateName = 'initialize';
  // Times are NaN for none, not null: a field that holds null or a number
  // boxes each new number, and a box kept for an advert interval outlives
  // V8's young generation (old-space garbage, once per advert).
  /** The last screened advert from another router, any priority. */
  private lastHeardAt = NaN;
  /** The previous advert of the Master this Backup follows (priority > 0): when, and from whom (never written to). */
  private previousAt = NaN;
  private previousSource: Uint8Array | null = null;
  /** Set on becoming Master from Backup: when the old Master was last heard. */
  private takeoverFrom = NaN;

  /**
   * A screened, authenticated advert from another router.
   * @returns the jitter in ms when this is a Backup hearing its Master's next advert, else null.
   */
  heard(now: number, source: Uint8Array, priority: number, intervalMs: number): number | null {
    this.lastHeardAt = now;
    if (this.state !== 'backup' || priority === 0) {
      this.previousSource = null;
      return null;
    }
    const sameMaster = this.previousSource !== null && compareAddresses(this.previousSource, source) === 0;
    const jitter = sameMaster ? now - this.previousAt - intervalMs : null;
    this.previousAt = now;
    // The addon hands one object per repeated address: keeping it copies nothing.
    if (!sameMaster) this.previousSource = source;
    return jitter;
  }

  /** Adverts went by unseen (more repeats than the addon keeps arrivals of): the next one starts a new interval. */
  lostTrack(): void {
    this.previousSource = null;
  }

  transition(from: VrrpStateName, to: VrrpStateName): void {
    this.state = to;
    this.previousSource = null;
    this.takeoverFrom = from === 'backup' && to === 'master' ? this.lastHeardAt : NaN;
  }

  /**
   * This node sent an advert (priority > 0).
   * @returns the takeover time in ms when it is the first advert after taking over, else null.
   */
  sent(now: number): number | null {
    const from = this.takeoverFrom;
    this.takeoverFrom = NaN;
    return Number.isNaN(from) || this.state !== 'master' ? null : now - from;
  }
}
