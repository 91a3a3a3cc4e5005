/** Real-time scheduling for the daemon's main thread (keepalived's vrrp_rt_priority). */
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
