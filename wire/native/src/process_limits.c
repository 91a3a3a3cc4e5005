/* Process limits and scheduling the daemon sets for itself. Node has no
 * setrlimit and no sched_setscheduler. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <sys/resource.h>

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
