/* Shared helpers for the vipflow wire addon: argument reading, errno-named
 * JS errors, and entering a named network namespace for socket creation. */
#ifndef VIPFLOW_COMMON_H
#define VIPFLOW_COMMON_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returns NULL from the calling napi_callback when a N-API call fails; the
 * failing call has already left a pending exception or we add one. */
#define NAPI_TRY(env, call)                                   \
  do {                                                        \
    if ((call) != napi_ok) {                                  \
      vf_throw_napi_failure((env), #call);                    \
      return NULL;                                            \
    }                                                         \
  } while (0)

void vf_throw_napi_failure(napi_env env, const char* what);

/* Throws an Error whose `code` is the errno name (e.g. "ENODEV"), with
 * `errno` and `syscall` properties like Node's own system errors. */
void vf_throw_errno(napi_env env, int err, const char* syscall);
void vf_throw_type(napi_env env, const char* message);

/* "EEXIST" etc. for an errno value; never NULL. */
const char* vf_errno_name(int err);
napi_value vf_errno_value(napi_env env, int err);

/* Property readers for an options object. A missing or undefined property
 * gives the default; a wrong type throws a TypeError and returns false. */
bool vf_get_int(napi_env env, napi_value obj, const char* key, int32_t dflt, int32_t* out);
bool vf_get_bool(napi_env env, napi_value obj, const char* key, bool dflt, bool* out);
/* Copies a string property into buf (NUL-terminated); empty when missing. */
bool vf_get_string(napi_env env, napi_value obj, const char* key, char* buf, size_t size);
bool vf_value_string(napi_env env, napi_value v, char* buf, size_t size);
/* A typed array of element type `want`: its data and element count. False
 * (nothing thrown) for any other value, the caller throws its own TypeError. */
bool vf_typed_array(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* length);

/* Network-namespace switching for the calling thread. Sockets keep the
 * namespace they were created in, so a process in the root namespace can
 * own sockets in a lab namespace: enter, create, leave. An empty name is a
 * no-op. Returns 0 or an errno value. */
typedef struct {
  int saved_fd; /* -1 when nothing was switched */
} vf_netns_guard;

int vf_netns_enter(const char* name, vf_netns_guard* guard);
/* Always restores; aborts the process if it cannot, since every later
 * socket of this thread would silently live in the wrong namespace. */
void vf_netns_leave(vf_netns_guard* guard);

#endif
