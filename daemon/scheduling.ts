/**
 * How the kernel schedules the daemon's main thread, which runs every VRRP
 * instance: keepalived's vrrp_rt_priority, and vipflow's vrrp_cpu_slice.
 *
 * vrrp_rt_priority moves the thread to a real-time (SCHED_RR) priority, as
 * keepalived runs its VRRP process. Why: at centisecond adverts a takeover
 * due at Master_Down_Interval waited for a CPU in its slow runs (the
 * thread's run-queue wait grew 0.6-2.4 ms, mostly while its VIP add was in
 * the kernel); at real-time priority it runs as soon as it is woken. Off
 * unless configured.
 *
 * RLIMIT_RTTIME: keepalived sets it from vrrp_rlimit_rttime (default 10000
 * µs) and is killed past its hard limit. Here only the soft limit is set, and
 * the kernel's SIGXCPU becomes a warning: a V8 garbage collection can run
 * 10 ms without a blocking call, and killing the daemon for it would drop
 * every VIP.
 *
 * vrrp_cpu_slice (µs, default 100) applies at normal scheduling: the thread
 * asks the fair scheduler for a short time slice. Since Linux 6.12 a waking
 * thread with a shorter slice than the task on its CPU preempts it, so a
 * due advert or takeover no longer waits out a busy process's slice (1.4 ms
 * on a 2-CPU host, and more behind a task that just started its own). It
 * takes no more CPU than before and needs no privilege. Switching back from
 * real-time priority resets the kernel's slice, so it is asked again then.
 */
import { setRealtime as hostSetRealtime, setFairSlice as hostSetFairSlice, type FairSliceResult, type RealtimeResult } from '../wire/socket/index.js';
import type { Logger } from '../core/logger.js';

/** keepalived's default vrrp_rlimit_rttime (µs). */
export const DEFAULT_RTTIME_US = 10_000;
/** The shortest slice the kernel grants (it clamps to 0.1-100 ms). */
export const DEFAULT_CPU_SLICE_US = 100;

export interface SchedulingSettings {
  vrrpRtPriority?: number | undefined;
  vrrpRlimitRttime?: number | undefined;
  /** 0: the kernel's default slice */
  vrrpCpuSlice?: number | undefined;
}

export interface SchedulingHost {
  setRealtime(priority: number, rttimeUs: number): RealtimeResult;
  setFairSlice(sliceUs: number): FairSliceResult;
}

const realHost: SchedulingHost = { setRealtime: hostSetRealtime, setFairSlice: hostSetFairSlice };

export class VrrpThreadScheduling {
  private priority = 0;
  private rttimeUs = 0;
  /** The slice last asked at normal scheduling; null: not asked (or reset by real-time priority). */
  private sliceUs: number | null = null;
  private sliceInForceUs: number | null = null;
  private readonly onXcpu = () =>
    this.log.warn(
      { priority: this.priority, rlimitRttimeUs: this.rttimeUs },
      'ran past vrrp_rlimit_rttime at real-time priority without a blocking call (a long garbage collection or a busy loop); the daemon goes on',
    );

  constructor(
    private readonly log: Logger,
    private readonly host: SchedulingHost = realHost,
  ) {}

  /** The real-time priority now in force (0: normal scheduling). */
  get current(): number {
    return this.priority;
  }

  /** The fair-scheduling slice in force (µs), as the kernel reports it; null at real-time priority or where the kernel ignores it. */
  get slice(): number | null {
    return this.sliceInForceUs;
  }

  /** At start and after each reload: applies what the configuration asks, when it changed. */
  apply(settings: SchedulingSettings): void {
    this.applyRealtime(settings);
    if (this.priority === 0) this.applySlice(settings.vrrpCpuSlice ?? DEFAULT_CPU_SLICE_US);
  }

  private applyRealtime(settings: SchedulingSettings): void {
    const priority = settings.vrrpRtPriority ?? 0;
    const rttimeUs = priority > 0 ? (settings.vrrpRlimitRttime ?? DEFAULT_RTTIME_US) : 0;
    if (priority === this.priority && rttimeUs === this.rttimeUs) return;
    const r = this.host.setRealtime(priority, rttimeUs);
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
    // Either way the kernel's slice is back at its default.
    this.sliceUs = null;
    this.sliceInForceUs = null;
    this.priority = priority;
    this.rttimeUs = rttimeUs;
    this.log.info(
      priority > 0 ? { vrrpRtPriority: priority, rlimitRttimeUs: rttimeUs } : {},
      priority > 0 ? 'VRRP instances run at real-time priority (SCHED_RR)' : 'VRRP instances run at normal priority again',
    );
  }

  private applySlice(sliceUs: number): void {
    // Nothing to ask: the kernel's default is what a fresh thread has.
    if (sliceUs === this.sliceUs || (this.sliceUs === null && sliceUs === 0)) return;
    const r = this.host.setFairSlice(sliceUs);
    if (!r.ok) {
      this.log.warn({ vrrpCpuSlice: sliceUs, code: r.code }, 'could not set the VRRP thread’s CPU slice (vrrp_cpu_slice); it keeps the kernel’s default');
      return;
    }
    this.sliceUs = sliceUs;
    const reportedUs = r.sliceNs / 1000;
    if (sliceUs === 0) {
      this.sliceInForceUs = reportedUs > 0 ? reportedUs : null;
      this.log.info({ sliceUs: this.sliceInForceUs }, 'the VRRP thread has the kernel’s default CPU slice (vrrp_cpu_slice 0)');
    } else if (r.sliceNs === 0) {
      this.sliceInForceUs = null;
      this.log.info(
        { vrrpCpuSlice: sliceUs },
        'this kernel ignores a thread’s own CPU slice (Linux 6.12 and later honour it): a due advert may wait for a busy process’s slice; vrrp_rt_priority avoids that',
      );
    } else {
      this.sliceInForceUs = reportedUs;
      this.log.info({ sliceUs: reportedUs }, 'the VRRP thread asks for a short CPU slice (vrrp_cpu_slice), so a due advert preempts a busy process');
    }
  }
}
