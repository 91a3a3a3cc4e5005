/* A file descriptor watched by libuv on behalf of a JS object: the
 * lifecycle shared by the raw VRRP sockets and the netlink monitor. */
#ifndef VIPFLOW_POLLED_H
#define VIPFLOW_POLLED_H
#include <uv.h>

#include "common.h"

typedef struct vf_polled vf_polled;

struct vf_polled {
  uv_poll_t poll;
  int fd;
  napi_env env;
  napi_ref callback;
  napi_async_context async_ctx;
  bool closing;     /* uv_close requested */
  bool uv_closed;   /* uv close callback ran: fd closed, refs dropped */
  bool js_alive;    /* the JS handle has not been collected */
  bool js_released; /* N-API references dropped */
  bool paused;      /* readiness not watched (vf_polled_pause) */
  uv_poll_cb on_readable;
  /* Drops the owner's own N-API references (may be NULL); runs once, while
   * the environment is valid. At teardown no N-API call but deletes. */
  void (*release_js)(vf_polled* p, bool teardown);
  /* Frees the owner (the struct that embeds this one first). */
  void (*destroy)(vf_polled* p);
};

/* Watches `fd` (already configured) for readability and returns the JS
 * handle (an External) through *handle. `p` is zeroed by the caller except
 * for the hooks. On failure throws, closes fd and frees the owner (now or
 * once libuv released it), and returns false. */
bool vf_polled_start(napi_env env, vf_polled* p, int fd, napi_value callback, const char* resource, uv_poll_cb on_readable,
                     napi_value* handle);

/* Idempotent: stops watching; fd closed and references dropped once libuv
 * is done with the handle. */
void vf_polled_close(vf_polled* p);

/* The handle behind a JS value, or NULL after throwing a TypeError. */
vf_polled* vf_polled_get(napi_env env, napi_value v, const char* what);

/* Stops (true) or resumes (false) watching for readability; the data waits in
 * the kernel meanwhile. Returns 0 or a negative libuv error. A no-op once closing. */
int vf_polled_pause(vf_polled* p, bool paused);

/* Whether the open handle keeps the event loop alive. */
void vf_polled_ref(vf_polled* p, bool on);

/* The JS functions close(handle) and ref(handle, boolean), the same for every
 * polled handle type: `usage` is thrown as a TypeError on bad arguments,
 * `what` when the handle is not one. */
napi_value vf_polled_close_js(napi_env env, napi_callback_info info, const char* usage, const char* what);
napi_value vf_polled_ref_js(napi_env env, napi_callback_info info, const char* usage, const char* what);

/* Opens the handle scope and callback scope for one readiness callback and
 * fetches the JS callback into *cb. Returns false (nothing opened) when the
 * handle is closing or the callback is gone. */
typedef struct {
  napi_handle_scope scope;
  napi_callback_scope cscope;
} vf_polled_scope;
bool vf_polled_enter(vf_polled* p, vf_polled_scope* s, napi_value* cb);
void vf_polled_leave(vf_polled* p, vf_polled_scope* s);

/* Calls cb; an exception thrown by JS is rethrown as an uncaught exception
 * (never swallowed). Returns false when the caller must stop its batch. */
bool vf_call_js(napi_env env, napi_value cb, size_t argc, napi_value* argv);

#endif
