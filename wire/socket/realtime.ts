/** Scheduling of the daemon's main thread: keepalived's vrrp_rt_priority, and vipflow's fair-scheduling slice. */
import { nativeWire } from './native.js';

export type RealtimeResult = { ok: true } | { ok: false; code: string };

/**
 * Moves the calling thread to SCHED_RR at `priority` (1-99), or back to
 * normal scheduling with 0. Threads and processes started after it run at
 * normal priority (SCHED_RESET_ON_FORK). `rttimeUs` > 0 sets the soft
 * RLIMIT_RTTIME: past that much CPU at real-time priority without a
 * blocking call the kernel sends SIGXCPU (again each further second).
 * Needs CAP_SYS_NICE (or an RLIMIT_RTPRIO that allows it): EPERM otherwise.
 */
export function setRealtime(priority: number, rttimeUs = 0): RealtimeResult {
  const code = nativeWire().setRealtime({ priority, rttimeUs });
  return code === null ? { ok: true } : { ok: false, code };
}

/** sliceNs: the slice the kernel reports after the change (0 from a kernel before 6.12, which ignores the request). */
export type FairSliceResult = { ok: true; sliceNs: number } | { ok: false; code: string };

/**
 * Asks for a fair-scheduling time slice of `sliceUs` (100-100000; 0: the
 * kernel's default) for the calling thread at normal scheduling; threads and
 * processes started after it keep the default. No privilege needed. EBUSY:
 * the thread is at real-time priority.
 */
export function setFairSlice(sliceUs: number): FairSliceResult {
  const r = nativeWire().setFairSlice(sliceUs);
  return typeof r === 'number' ? { ok: true, sliceNs: r } : { ok: false, code: r };
}
