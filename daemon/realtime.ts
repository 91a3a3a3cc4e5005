/**
 * vrrp_rt_priority: the daemon's main thread, which runs every VRRP
 * instance, at a real-time (SCHED_RR) priority, as keepalived runs its VRRP
 * process. Why: at centisecond adverts a takeover due at Master_Down_Interval
 * waited for a CPU in its slow runs (the thread's run-queue wait grew 0.6-2.4
 * ms, mostly while its VIP add was in the kernel); at real-time priority it
 * runs as soon as it is woken. Off unless configured.
 *
 * RLIMIT_RTTIME: keepalived sets it from vrrp_rlimit_rttime (default 10000
 * µs) and is killed past its hard limit. Here only the soft limit is set, and
 * the kernel's SIGXCPU becomes a warning: a V8 garbage collection can run
 * 10 ms without a blocking call, and killing the daemon for it would drop
 * every VIP.
 */
import { setRealtime as hostSetRealtime, type RealtimeResult } from '../wire/socket/index.js';
import type { Logger } from '../core/logger.js';

/** keepalived's default vrrp_rlimit_rttime (µs). */
export const DEFAULT_RTTIME_US = 10_000;

export interface RealtimeSettings {
  vrrpRtPriority?: number | undefined;
  vrrpRlimitRttime?: number | undefined;
}

export class RealtimePriority {
  private priority = 0;
  private rttimeUs = 0;
  private readonly onXcpu = () =>
    this.log.warn(
      { priority: this.priority, rlimitRttimeUs: this.rttimeUs },
      'ran past vrrp_rlimit_rttime at real-time priority without a blocking call (a long garbage collection or a busy loop); the daemon goes on',
    );

  constructor(
    private readonly log: Logger,
    private readonly set: (priority: number, rttimeUs: number) => RealtimeResult = hostSetRealtime,
  ) {}

  /** The priority now in force (0: normal scheduling). */
  get current(): number {
    return this.priority;
  }

  /** At start and after each reload: applies what the configuration asks, when it changed. */
  apply(settings: RealtimeSettings): void {
    const priority = settings.vrrpRtPriority ?? 0;
    const rttimeUs = priority > 0 ? (settings.vrrpRlimitRttime ?? DEFAULT_RTTIME_US) : 0;
    if (priority === this.priority && rttimeUs === this.rttimeUs) return;
    const r = this.set(priority, rttimeUs);
    if (!r.ok) {
      this.log.warn(
        { vrrpRtPriority: priority, code: r.code },
        r.code === 'EPERM'
          ? 'vrrp_rt_priority needs CAP_SYS_NICE or an RLIMIT_RTPRIO that allows it (systemd: RestrictRealtime=no and LimitRTPRIO=): the VRRP instances run at normal priority'
          : 'could not change the scheduling asked by vrrp_rt_priority; the priority stays as it was',
      );
      return;
    }
    // SIGXCPU is followed exactly while a real-time priority is in force.
    if (priority > 0 && this.priority === 0) process.on('SIGXCPU', this.onXcpu);
    else if (priority === 0 && this.priority > 0) process.off('SIGXCPU', this.onXcpu);
    this.priority = priority;
    this.rttimeUs = rttimeUs;
    this.log.info(
      priority > 0 ? { vrrpRtPriority: priority, rlimitRttimeUs: rttimeUs } : {},
      priority > 0 ? 'VRRP instances run at real-time priority (SCHED_RR)' : 'VRRP instances run at normal priority again',
    );
  }
}
