/**
 * Gratuitous ARP (IPv4) and unsolicited Neighbour Advertisement (IPv6)
 * bursts for an instance's VIPs, on keepalived's schedule: a burst on becoming
 * Master, a second one garp_master_delay later, optional periodic refreshes;
 * and when a lower-priority master shows up, a burst at once and a second one
 * garp_lower_prio_delay later (keepalived's vrrp_state_master_rx).
 *
 * The second bursts are what repair a client whose ARP/neighbour entry still
 * points at a router that held the VIP briefly: that router's own announcement
 * may reach the client after ours (keepalived's Backup, for one, sends its
 * advert before its gratuitous ARPs), and a stale entry is only probed again
 * after delay_first_probe_time (5 s) plus the probes (issue 19: 7.5-8.3 s).
 *
 * Frames are built once per (VIP, MAC) and sent through an injected function,
 * so the schedule is tested without sockets.
 */
import { buildGratuitousArp, buildUnsolicitedNa } from '../../wire/announce/index.js';
import type { Logger } from '../../core/logger.js';
import type { GarpPlan, PlannedVip } from './plan.js';

/** One frame of a burst and the interface it leaves on. */
export interface AnnounceFrame {
  dev: string;
  frame: Buffer;
}

/** What a burst did: frames sent and failed, and the first failure's code and interface. */
export interface BurstResult {
  sent: number;
  failed: number;
  code?: string;
  dev?: string;
}

export interface AnnounceIo {
  /** Interface MAC and IPv6 link-local source for NA; null when the interface is gone. */
  interfaceOf(dev: string): { mac: Uint8Array; linkLocal: Uint8Array | null } | null;
  /**
   * Sends `rounds` rounds of the frames, in order, at once. A new Master
   * sends its whole burst before its first advert: the daemon hands it to
   * the kernel in one system call, 0.11 ms for five frames against 0.19 ms
   * with a call (an interface lookup and a sendto) per frame, measured in a
   * lab namespace. A frame that fails does not stop the others.
   */
  sendBurst(frames: readonly AnnounceFrame[], rounds: number): BurstResult;
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
  private frames: AnnounceFrame[] | null = null;
  private timers = new Set<unknown>();
  private lastLowerPrioBurst = -Infinity;
  /** The one pending garp_lower_prio_delay burst: a newer lower-priority advert moves it rather than adding another. */
  private lowerPrioTimer: unknown = null;

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
   * A lower-priority master exists, so some ARP caches may point at it:
   * garp_lower_prio_repeat announcements now (at most one burst per
   * lowerPrioGapMs, so many senders cannot multiply them) and again
   * garp_lower_prio_delay after the last such advert. keepalived starts one
   * delayed burst per advert; one pending burst, moved, gives the same last
   * repair with a bounded number of timers under a flood.
   */
  lowerPriorityMaster(): void {
    if (this.garp.lowerPrioRepeat <= 0) return;
    const now = this.io.now();
    if (now - this.lastLowerPrioBurst >= (this.garp.lowerPrioGapMs ?? 0)) {
      this.lastLowerPrioBurst = now;
      this.burst(this.garp.lowerPrioRepeat);
    }
    if (this.garp.lowerPrioDelayMs <= 0) return;
    if (this.lowerPrioTimer !== null) this.clear(this.lowerPrioTimer);
    this.lowerPrioTimer = this.after(this.garp.lowerPrioDelayMs, () => {
      this.lowerPrioTimer = null;
      this.burst(this.garp.lowerPrioRepeat);
    });
  }

  /** Leaving Master or stopping: no more announcements. */
  cancel(): void {
    for (const t of this.timers) this.io.clearTimeout(t);
    this.timers.clear();
    this.lowerPrioTimer = null;
  }

  private clear(handle: unknown): void {
    this.io.clearTimeout(handle);
    this.timers.delete(handle);
  }

  private scheduleRefresh(): void {
    this.after(this.garp.refreshMs, () => {
      this.burst(this.garp.refreshRepeat);
      this.scheduleRefresh();
    });
  }

  private after(ms: number, fn: () => void): unknown {
    const handle = this.io.setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, ms);
    this.timers.add(handle);
    return handle;
  }

  private burst(repeat: number): void {
    const frames = (this.frames ??= this.buildFrames());
    if (frames.length === 0 || repeat <= 0) return;
    const r = this.io.sendBurst(frames, repeat);
    this.stats.framesSent += r.sent;
    this.stats.sinceMaster += r.sent;
    if (r.failed === 0) return;
    this.stats.sendErrors += r.failed;
    this.log.warn({ dev: r.dev, code: r.code, failed: r.failed, of: frames.length * repeat }, 'cannot send address announcement');
  }

  private buildFrames(): AnnounceFrame[] {
    const out: AnnounceFrame[] = [];
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

/**
 * A burst sent one frame at a time through `send`, in the order
 * AnnounceIo.sendBurst gives: for hosts with no batch transmit (the
 * simulator, tests).
 */
export function burstOfFrames(send: (dev: string, frame: Buffer) => { ok: true } | { ok: false; code: string }): AnnounceIo['sendBurst'] {
  return (frames, rounds) => {
    const result: BurstResult = { sent: 0, failed: 0 };
    for (let i = 0; i < rounds; i++) {
      for (const { dev, frame } of frames) {
        const r = send(dev, frame);
        if (r.ok) result.sent++;
        else if (result.failed++ === 0) {
          result.code = r.code;
          result.dev = dev;
        }
      }
    }
    return result;
  };
}
