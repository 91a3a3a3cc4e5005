/**
 * The histograms the status cannot give, observed as things happen
 * (prom-client, rendered after the status metrics at each scrape):
 *
 * - `vipflow_takeover_seconds{instance}`: from the old Master's last advert
 *   heard to this node's first advert as Master (infra/vrrp/advert-timing.ts).
 * - `vipflow_advert_interval_jitter_seconds`: on a Backup, the interval between
 *   two adverts of its Master minus the interval they carry, over every
 *   instance (per instance it would be ~12 series each for 1,000 instances).
 *
 * An observation is a bucket search and three additions: cheap enough for the
 * receive path, where the jitter is taken (about one a second per instance).
 */
import { Histogram, Registry } from 'prom-client';
import type { AdvertTimingSink } from '../infra/vrrp/advert-timing.js';

// A crash is detected after 3 intervals plus skew (~3 s at advert_int 1), a priority-0 release after the skew alone.
const TAKEOVER_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 3.5, 4, 5, 10, 30];
// Signed: early adverts (a Master answering off its schedule) land in the negative buckets.
const JITTER_BUCKETS = [-0.1, -0.01, -0.001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export class TimingMetrics implements AdvertTimingSink {
  readonly registry = new Registry();
  private readonly takeovers = new Histogram({
    name: 'vipflow_takeover_seconds',
    help: "From the old Master's last advert heard to this node's first advert as Master",
    labelNames: ['instance'],
    buckets: TAKEOVER_BUCKETS,
    registers: [this.registry],
  });
  private readonly jitter = new Histogram({
    name: 'vipflow_advert_interval_jitter_seconds',
    help: "On a Backup: interval between two of its Master's adverts minus the advertised interval (negative: early)",
    buckets: JITTER_BUCKETS,
    registers: [this.registry],
  });

  takeover(instance: string, ms: number): void {
    this.takeovers.observe({ instance }, ms / 1000);
  }

  advertJitter(ms: number): void {
    this.jitter.observe(ms / 1000);
  }
}
