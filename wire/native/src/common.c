#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

void vf_throw_napi_failure(napi_env env, const char* what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "ERR_NAPI", what);
}

const char* vf_errno_name(int err) {
  /* libuv's error codes are negated errno values on Unix, and it already
   * carries the name table, so the names match Node's system errors. */
  return uv_err_name(-err);
}

napi_value vf_errno_value(napi_env env, int err) {
  napi_value v = NULL;
  napi_create_string_latin1(env, vf_errno_name(err), NAPI_AUTO_LENGTH, &v);
  return v;
}

void vf_throw_errno(napi_env env, int err, const char* syscall) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s %s: %s", syscall, vf_errno_name(err), strerror(err));
  napi_value code, message, error, num, sys;
  if (napi_create_string_latin1(env, vf_errno_name(err), NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message) != napi_ok ||
      napi_create_error(env, code, message, &error) != napi_ok) {
    napi_throw_error(env, NULL, msg);
    return;
  }
  if (napi_create_int32(env, -err, &num) == napi_ok) napi_set_named_property(env, error, "errno", num);
  if (napi_create_string_latin1(env, syscall, NAPI_AUTO_LENGTH, &sys) == napi_ok)
    napi_set_named_property(env, error, "syscall", sys);
  napi_throw(env, error);
}

void vf_throw_type(napi_env env, const char* message) { napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message); }

static bool get_prop(napi_env env, napi_value obj, const char* key, napi_value* out, napi_valuetype* type) {
  if (napi_get_named_property(env, obj, key, out) != napi_ok) return false;
  return napi_typeof(env, *out, type) == napi_ok;
}

bool vf_get_int(napi_env env, napi_value obj, const char* key, int32_t dflt, int32_t* out) {
  napi_value v;
  napi_valuetype t;
  if (!get_prop(env, obj, key, &v, &t)) return false;
  if (t == napi_undefined || t == napi_null) {
    *out = dflt;
    return true;
  }
  if (t != napi_number || napi_get_value_int32(env, v, out) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "option %s must be a number", key);
    vf_throw_type(env, msg);
    return false;
  }
  return true;
}

bool vf_get_bool(napi_env env, napi_value obj, const char* key, bool dflt, bool* out) {
  napi_value v;
  napi_valuetype t;
  if (!get_prop(env, obj, key, &v, &t)) return false;
  if (t == napi_undefined || t == napi_null) {
    *out = dflt;
    return true;
  }
  if (t != napi_boolean || napi_get_value_bool(env, v, out) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "option %s must be a boolean", key);
    vf_throw_type(env, msg);
    return false;
  }
  return true;
}

bool vf_typed_array(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* length) {
  bool is_typed = false;
  napi_typedarray_type type;
  return napi_is_typedarray(env, v, &is_typed) == napi_ok && is_typed &&
         napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) == napi_ok && type == want;
}

bool vf_value_string(napi_env env, napi_value v, char* buf, size_t size) {
  napi_valuetype t;
  buf[0] = '\0';
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_undefined || t == napi_null) return true;
  size_t len = 0;
  if (t != napi_string || napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) {
    vf_throw_type(env, "expected a string");
    return false;
  }
  if (len + 1 >= size) {
    vf_throw_type(env, "string too long");
    return false;
  }
  return true;
}

bool vf_get_string(napi_env env, napi_value obj, const char* key, char* buf, size_t size) {
  napi_value v;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return false;
  return vf_value_string(env, v, buf, size);
}

int vf_netns_enter(const char* name, vf_netns_guard* guard) {
  guard->saved_fd = -1;
  if (name == NULL || name[0] == '\0') return 0;
  if (strchr(name, '/') != NULL || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return EINVAL;
  char path[300];
  snprintf(path, sizeof path, "/run/netns/%s", name);
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) return errno;
  int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved < 0) {
    int err = errno;
    close(target);
    return err;
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    int err = errno;
    close(target);
    close(saved);
    return err;
  }
  close(target);
  guard->saved_fd = saved;
  return 0;
}

void vf_netns_leave(vf_netns_guard* guard) {
  if (guard->saved_fd < 0) return;
  if (setns(guard->saved_fd, CLONE_NEWNET) != 0) {
    fprintf(stderr, "vipflow wire: cannot return to the original network namespace: %s\n", strerror(errno));
    abort();
  }
  close(guard->saved_fd);
  guard->saved_fd = -1;
}
