/* A one-shot wake-up at a time to the microsecond, for the timers a takeover
 * waits on (daemon/precise-timer.ts).
 *
 * Why: libuv sleeps in epoll_wait with a whole-millisecond timeout, so Node's
 * timers fire up to a millisecond off. Waiting out the last millisecond by
 * spinning the loop (setImmediate) is on time on a quiet host, but on a busy
 * one the spin uses up the thread's scheduler slice just before the due time
 * and the thread then waits on the run queue behind the other tasks (measured
 * in the crash benchmark: 0.25-3.8 ms). A timerfd sleeps to the due time
 * instead: its expiry is exact (no timer slack), and the thread wakes as a
 * sleeper, which the scheduler runs ahead of tasks that used their slice. The
 * loop keeps polling meanwhile, so an advert that arrives still cancels the
 * takeover. */
#define _GNU_SOURCE
#include "wake_timer.h"

#include "polled.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

static void wake_destroy(vf_polled* p) { free(p); }

static void on_wake_readable(uv_poll_t* handle, int status, int events) {
  vf_polled* p = handle->data;
  uint64_t expirations;
  /* Clears readiness; EAGAIN when a re-arm raced the expiry (nothing due). */
  if (read(p->fd, &expirations, sizeof expirations) != (ssize_t)sizeof expirations) return;
  vf_polled_scope s;
  napi_value cb;
  if (!vf_polled_enter(p, &s, &cb)) return;
  vf_call_js(p->env, cb, 0, NULL);
  vf_polled_leave(p, &s);
}

/* wakeOpen(callback): a disarmed wake timer on CLOCK_MONOTONIC. */
napi_value vf_wake_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) {
    vf_throw_type(env, "wakeOpen(callback)");
    return NULL;
  }
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) {
    vf_throw_errno(env, errno, "timerfd_create");
    return NULL;
  }
  /* Nothing beyond the polled descriptor: it is its own owner. */
  vf_polled* w = calloc(1, sizeof *w);
  if (w == NULL) {
    close(fd);
    vf_throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  w->destroy = wake_destroy;
  napi_value handle;
  if (!vf_polled_start(env, w, fd, argv[0], "vipflow:WakeTimer", on_wake_readable, &handle)) return NULL;
  return handle;
}

/* wakeArm(handle, microseconds): fires once that long from now (replacing any
 * earlier arm); 0 or less disarms. Returns 0 or an errno value. */
napi_value vf_wake_arm(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double us;
  if (argc < 2 || napi_get_value_double(env, argv[1], &us) != napi_ok) {
    vf_throw_type(env, "wakeArm(handle, microseconds)");
    return NULL;
  }
  vf_polled* p = vf_polled_get(env, argv[0], "expected a wake timer handle");
  if (p == NULL) return NULL;
  int err = 0;
  if (p->closing) {
    err = EBADF;
  } else {
    struct itimerspec when = {0};
    if (us > 0) {
      /* A relative expiry of at least 1 ns: all zeros would disarm. */
      long long ns = us >= 1e12 ? 1000000000000000LL : (long long)(us * 1000.0);
      if (ns < 1) ns = 1;
      when.it_value.tv_sec = ns / 1000000000LL;
      when.it_value.tv_nsec = ns % 1000000000LL;
    }
    if (timerfd_settime(p->fd, 0, &when, NULL) != 0) err = errno;
  }
  napi_value result;
  NAPI_TRY(env, napi_create_int32(env, err, &result));
  return result;
}

/* wakeClose(handle): idempotent. */
napi_value vf_wake_close(napi_env env, napi_callback_info info) {
  return vf_polled_close_js(env, info, "wakeClose(handle)", "expected a wake timer handle");
}

/* wakeRef(handle, on): whether an armed timer keeps the loop alive. */
napi_value vf_wake_ref(napi_env env, napi_callback_info info) {
  return vf_polled_ref_js(env, info, "wakeRef(handle, on)", "expected a wake timer handle");
}
