#include "polled.h"

#include <errno.h>
#include <unistd.h>

static void on_env_teardown(void* arg);

/* Drops everything that belongs to the N-API environment. Runs once, while
 * the environment is still valid: from the close callback normally, or from
 * the environment's cleanup hook when it ends first (a close callback can
 * then run after the environment is gone and must not touch it). */
static void release_js(vf_polled* p, bool teardown) {
  if (p->js_released) return;
  p->js_released = true;
  if (!teardown) napi_remove_env_cleanup_hook(p->env, on_env_teardown, p);
  if (p->release_js != NULL) p->release_js(p, teardown);
  if (p->callback != NULL) napi_delete_reference(p->env, p->callback);
  p->callback = NULL;
  /* At teardown async hooks can no longer run: skip the destroy event. */
  if (p->async_ctx != NULL && !teardown) napi_async_destroy(p->env, p->async_ctx);
  p->async_ctx = NULL;
}

static void on_uv_closed(uv_handle_t* h) {
  vf_polled* p = h->data;
  release_js(p, false);
  close(p->fd);
  p->fd = -1;
  p->uv_closed = true;
  if (!p->js_alive) p->destroy(p);
}

void vf_polled_close(vf_polled* p) {
  if (p->closing) return;
  p->closing = true;
  uv_poll_stop(&p->poll);
  uv_close((uv_handle_t*)&p->poll, on_uv_closed);
}

/* The environment ends (a worker exits, or the process) with this handle
 * open or its close still pending: libuv will not close a loop with live
 * handles, and the references must go while the environment exists. */
static void on_env_teardown(void* arg) {
  vf_polled* p = arg;
  release_js(p, true);
  vf_polled_close(p);
}

static void on_handle_finalized(napi_env env, void* data, void* hint) {
  vf_polled* p = data;
  p->js_alive = false;
  if (p->uv_closed) {
    p->destroy(p);
    return;
  }
  /* Collected while still open: the callback reference keeps nothing else
   * alive, so close here; on_uv_closed frees the owner. */
  vf_polled_close(p);
}

bool vf_polled_start(napi_env env, vf_polled* p, int fd, napi_value callback, const char* resource, uv_poll_cb on_readable,
                     napi_value* handle) {
  uv_loop_t* loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &p->poll, fd) != 0) {
    close(fd);
    p->destroy(p);
    vf_throw_errno(env, ENOMEM, "uv_poll_init");
    return false;
  }
  p->poll.data = p;
  p->fd = fd;
  p->env = env;
  p->js_alive = true;
  napi_value name;
  if (napi_create_reference(env, callback, 1, &p->callback) != napi_ok ||
      napi_create_string_latin1(env, resource, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &p->async_ctx) != napi_ok ||
      napi_create_external(env, p, on_handle_finalized, NULL, handle) != napi_ok) {
    p->js_alive = false;
    vf_polled_close(p);
    vf_throw_napi_failure(env, "N-API setup failed");
    return false;
  }
  napi_add_env_cleanup_hook(env, on_env_teardown, p);
  p->on_readable = on_readable;
  int rc = uv_poll_start(&p->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    vf_polled_close(p); /* the External's finalizer frees later */
    vf_throw_errno(env, -rc, "uv_poll_start");
    return false;
  }
  return true;
}

vf_polled* vf_polled_get(napi_env env, napi_value v, const char* what) {
  void* ptr = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &ptr) != napi_ok ||
      ptr == NULL) {
    vf_throw_type(env, what);
    return NULL;
  }
  return ptr;
}

int vf_polled_pause(vf_polled* p, bool paused) {
  if (p->closing || p->paused == paused) return 0;
  int rc = paused ? uv_poll_stop(&p->poll) : uv_poll_start(&p->poll, UV_READABLE, p->on_readable);
  if (rc == 0) p->paused = paused;
  return rc;
}

void vf_polled_ref(vf_polled* p, bool on) {
  if (p->closing) return;
  if (on)
    uv_ref((uv_handle_t*)&p->poll);
  else
    uv_unref((uv_handle_t*)&p->poll);
}

bool vf_polled_enter(vf_polled* p, vf_polled_scope* s, napi_value* cb) {
  s->cscope = NULL;
  if (p->closing || p->callback == NULL) return false;
  if (napi_open_handle_scope(p->env, &s->scope) != napi_ok) return false;
  /* One callback scope per wake-up: process.nextTick and promise jobs
   * queued by the handler run once after the batch, as for Node's sockets. */
  if (napi_get_reference_value(p->env, p->callback, cb) != napi_ok || *cb == NULL ||
      napi_open_callback_scope(p->env, *cb, p->async_ctx, &s->cscope) != napi_ok) {
    napi_close_handle_scope(p->env, s->scope);
    return false;
  }
  return true;
}

void vf_polled_leave(vf_polled* p, vf_polled_scope* s) {
  if (s->cscope != NULL) napi_close_callback_scope(p->env, s->cscope);
  napi_close_handle_scope(p->env, s->scope);
}

bool vf_call_js(napi_env env, napi_value cb, size_t argc, napi_value* argv) {
  napi_value global, result;
  napi_get_undefined(env, &global);
  if (napi_call_function(env, global, cb, argc, argv, &result) == napi_ok) return true;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
  return false;
}

napi_value vf_polled_close_js(napi_env env, napi_callback_info info, const char* usage, const char* what) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    vf_throw_type(env, usage);
    return NULL;
  }
  vf_polled* p = vf_polled_get(env, argv[0], what);
  if (p != NULL) vf_polled_close(p);
  return NULL;
}

napi_value vf_polled_ref_js(napi_env env, napi_callback_info info, const char* usage, const char* what) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool on = true;
  if (argc < 2 || napi_get_value_bool(env, argv[1], &on) != napi_ok) {
    vf_throw_type(env, usage);
    return NULL;
  }
  vf_polled* p = vf_polled_get(env, argv[0], what);
  if (p != NULL) vf_polled_ref(p, on);
  return NULL;
}
