/* Process limits and scheduling the daemon sets for itself. Node has no
 * setrlimit and no sched_setscheduler. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "process_limits.h"

/* raiseFileLimit(want) -> { soft, hard, before } | errno name. Lifts the
 * soft RLIMIT_NOFILE to `want` as keepalived does for its checkers (every
 * check holds a socket for a moment, and tens of thousands of real servers
 * outgrow the usual 1024): above the hard limit when the process may raise
 * it (CAP_SYS_RESOURCE, up to fs.nr_open), else up to the hard limit. */
napi_value vf_raise_file_limit(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double want = 0;
  if (argc < 1 || napi_get_value_double(env, argv[0], &want) != napi_ok || want < 0) {
    vf_throw_type(env, "raiseFileLimit(wantedOpenFiles)");
    return NULL;
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return vf_errno_value(env, errno);
  rlim_t before = rl.rlim_cur;
  rlim_t target = (rlim_t)want;
  if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max) {
    struct rlimit both = {target, target};
    if (setrlimit(RLIMIT_NOFILE, &both) == 0) rl = both;
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < target) {
    rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || target < rl.rlim_max) ? target : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return vf_errno_value(env, errno);
  }
  napi_value out, v;
  NAPI_TRY(env, napi_create_object(env, &out));
  NAPI_TRY(env, napi_create_double(env, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur, &v));
  NAPI_TRY(env, napi_set_named_property(env, out, "soft", v));
  NAPI_TRY(env, napi_create_double(env, rl.rlim_max == RLIM_INFINITY ? -1 : (double)rl.rlim_max, &v));
  NAPI_TRY(env, napi_set_named_property(env, out, "hard", v));
  NAPI_TRY(env, napi_create_double(env, before == RLIM_INFINITY ? -1 : (double)before, &v));
  NAPI_TRY(env, napi_set_named_property(env, out, "before", v));
  return out;
}

/* setRealtime({ priority, rttimeUs }) -> null | errno name. priority 1-99:
 * the calling thread (the daemon's main thread, which runs every VRRP
 * instance) moves to SCHED_RR at that priority, as keepalived's
 * vrrp_rt_priority does for its VRRP process; 0 moves it back to
 * SCHED_OTHER. SCHED_RESET_ON_FORK keeps the threads Node starts later
 * (libuv's pool) and every child (scripts, nft) at normal priority.
 * rttimeUs > 0 sets the soft RLIMIT_RTTIME (CPU time at real-time priority
 * between blocking calls; the kernel sends SIGXCPU past it), leaving the
 * hard limit as it is. */
napi_value vf_set_realtime(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t priority, rttime;
  if (argc < 1 || !vf_get_int(env, argv[0], "priority", -1, &priority) || !vf_get_int(env, argv[0], "rttimeUs", 0, &rttime) ||
      priority < 0 || priority > 99 || rttime < 0) {
    vf_throw_type(env, "setRealtime({ priority: 0-99, rttimeUs >= 0 })");
    return NULL;
  }
  if (rttime > 0) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_RTTIME, &rl) != 0) return vf_errno_value(env, errno);
    rl.rlim_cur = (rlim_t)rttime;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max) rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_RTTIME, &rl) != 0) return vf_errno_value(env, errno);
  }
  struct sched_param param = {.sched_priority = priority};
  int policy = priority > 0 ? SCHED_RR : SCHED_OTHER;
  if (sched_setscheduler(0, policy | SCHED_RESET_ON_FORK, &param) != 0) return vf_errno_value(env, errno);
  napi_value nul;
  napi_get_null(env, &nul);
  return nul;
}

/* The kernel's struct sched_attr up to its first version (48 bytes; the
 * kernel accepts any known size). glibc before 2.41 has no sched_setattr,
 * and <linux/sched/types.h> clashes with <sched.h>. */
struct vf_sched_attr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};
#define VF_SCHED_FLAG_RESET_ON_FORK 0x01

/* setFairSlice(sliceUs) -> slice in ns the kernel reports now | errno name.
 * Asks the scheduler for a time slice of sliceUs for the calling thread
 * (sched_attr.sched_runtime on a SCHED_OTHER thread; 0: the kernel's
 * default). Why: since Linux 6.12 a waking thread whose slice is shorter
 * than the running task's preempts it, so a due advert does not wait out
 * the slice of a busy process on its CPU (1.4 ms on a 2-CPU host). It gives
 * no more CPU: the scheduler stays fair, the thread is only picked sooner
 * and for shorter. Older kernels accept the value and ignore it, and then
 * report 0. The policy, nice value and reset-on-fork are kept; the flag is
 * set, so threads and children started later keep the default slice.
 * EBUSY: the thread is not at normal scheduling (vrrp_rt_priority). */
napi_value vf_set_fair_slice(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double slice_us = -1;
  if (argc < 1 || napi_get_value_double(env, argv[0], &slice_us) != napi_ok || !(slice_us >= 0) || slice_us > 100000) {
    vf_throw_type(env, "setFairSlice(sliceUs: 0-100000)");
    return NULL;
  }
  struct vf_sched_attr attr;
  memset(&attr, 0, sizeof attr);
  if (syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) != 0) return vf_errno_value(env, errno);
  if (attr.sched_policy != SCHED_OTHER && attr.sched_policy != SCHED_BATCH) return vf_errno_value(env, EBUSY);
  struct vf_sched_attr want;
  memset(&want, 0, sizeof want);
  want.size = sizeof want;
  want.sched_policy = attr.sched_policy;
  want.sched_nice = attr.sched_nice;
  want.sched_flags = VF_SCHED_FLAG_RESET_ON_FORK;
  want.sched_runtime = (uint64_t)slice_us * 1000u;
  if (syscall(SYS_sched_setattr, 0, &want, 0) != 0) return vf_errno_value(env, errno);
  memset(&attr, 0, sizeof attr);
  if (syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) != 0) return vf_errno_value(env, errno);
  napi_value out;
  NAPI_TRY(env, napi_create_double(env, (double)attr.sched_runtime, &out));
  return out;
}
