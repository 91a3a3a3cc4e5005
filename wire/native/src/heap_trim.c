/* Giving freed malloc memory back to the kernel. glibc returns only the top
 * of its main heap by itself; what a startup burst or a finished worker
 * thread freed elsewhere (the middle of a heap, another thread's arena) stays
 * resident until malloc_trim asks for it. */
#include <malloc.h>

#include "common.h"
#include "heap_trim.h"

/* mallocTrim() -> boolean: whether any memory was released. */
napi_value vf_malloc_trim(napi_env env, napi_callback_info info) {
  napi_value out;
  NAPI_TRY(env, napi_get_boolean(env, malloc_trim(0) == 1, &out));
  return out;
}
