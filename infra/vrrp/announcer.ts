/**
 * Gratuitous ARP (IPv4) and unsolicited Neighbour Advertisement (IPv6)
 * bursts for an instance's VIPs, on keepalived's schedule: a burst on becoming
 * Master, a second one garp_master_delay later, optional periodic refreshes,
 * and a rate-limited burst when a lower-priority master shows up.
 *
 * Frames are built once per (VIP, MAC) and sent through an injected function,
 * so the schedule is tested without sockets.
 */
import { buildGratuitousArp, buildUnsolicitedNa } from '../../wire/announce/index.js';
import type { Logger } from '../../core/logger.js';
import type { GarpPlan, PlannedVip } from './plan.js';

export interface AnnounceIo {
  /** Interface MAC and IPv6 link-local source for NA; null when the interface is gone. */
  interfaceOf(dev: string): { mac: Uint8Array; linkLocal: Uint8Array | null } | null;
  sendFrame(dev: string, frame: Buffer): { ok: true } | { ok: false; code: string };
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export interface AnnouncerStats {
  framesSent: number;
  sendErrors: number;
  /** Frames sent since the last becameMaster(): lets a workflow step (notifiers/vip) see this Mastership was announced. */
  sinceMaster: number;
}

export class Announcer {
  readonly stats: AnnouncerStats = { framesSent: 0, sendErrors: 0, sinceMaster: 0 };
  private frames: { dev: string; frame: Buffer }[] | null = null;
  private timers = new Set<unknown>();
  private lastLowerPrioBurst = -Infinity;

  constructor(
    private readonly vips: readonly PlannedVip[],
    private readonly garp: GarpPlan,
    private readonly io: AnnounceIo,
    private readonly log: Logger,
  ) {}

  /** Becoming Master: burst now, again after garp_master_delay, then refreshes. */
  becameMaster(): void {
    this.cancel();
    this.frames = null; // the interface MAC may have changed since the last time
    this.stats.sinceMaster = 0;
    this.burst(this.garp.masterRepeat);
    if (this.garp.masterDelayMs > 0) this.after(this.garp.masterDelayMs, () => this.burst(this.garp.masterRepeat));
    if (this.garp.refreshMs > 0) this.scheduleRefresh();
  }

  /**
   * A lower-priority master exists, so some ARP caches may point at it.
   * Rate-limited to one burst per garp_lower_prio_delay: during a split brain
   * its adverts arrive every interval.
   */
  lowerPriorityMaster(): void {
    if (this.garp.lowerPrioRepeat <= 0) return;
    const now = this.io.now();
    if (now - this.lastLowerPrioBurst < this.garp.lowerPrioDelayMs) return;
    this.lastLowerPrioBurst = now;
    this.burst(this.garp.lowerPrioRepeat);
  }

  /** Leaving Master or stopping: no more announcements. */
  cancel(): void {
    for (const t of this.timers) this.io.clearTimeout(t);
    this.timers.clear();
  }

  private scheduleRefresh(): void {
    this.after(this.garp.refreshMs, () => {
      this.burst(this.garp.refreshRepeat);
      this.scheduleRefresh();
    });
  }

  private after(ms: number, fn: () => void): void {
    const handle = this.io.setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, ms);
    this.timers.add(handle);
  }

  private burst(repeat: number): void {
    const frames = (this.frames ??= this.buildFrames());
    for (let i = 0; i < repeat; i++) {
      for (const { dev, frame } of frames) {
        const r = this.io.sendFrame(dev, frame);
        if (r.ok) {
          this.stats.framesSent++;
          this.stats.sinceMaster++;
        } else {
          this.stats.sendErrors++;
          this.log.warn({ dev, code: r.code }, 'cannot send address announcement');
        }
      }
    }
  }

  private buildFrames(): { dev: string; frame: Buffer }[] {
    const out: { dev: string; frame: Buffer }[] = [];
    for (const vip of this.vips) {
      const info = this.io.interfaceOf(vip.dev);
      if (!info) {
        this.log.warn({ dev: vip.dev, vip: vip.address }, 'interface missing: VIP not announced');
        continue;
      }
      if (vip.family === 4) out.push({ dev: vip.dev, frame: buildGratuitousArp(info.mac, vip.bytes) });
      else if (info.linkLocal) out.push({ dev: vip.dev, frame: buildUnsolicitedNa({ mac: info.mac, target: vip.bytes, source: info.linkLocal }) });
      else this.log.warn({ dev: vip.dev, vip: vip.address }, 'no IPv6 link-local address: unsolicited NA not sent');
    }
    return out;
  }
}
