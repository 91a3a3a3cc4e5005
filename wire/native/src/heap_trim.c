/* Giving memory the daemon no longer uses back to the kernel.
 *
 * malloc: glibc returns only the top of its main heap by itself; what a
 * startup burst or a finished worker thread freed elsewhere (the middle of a
 * heap, another thread's arena) stays resident until malloc_trim asks for it.
 *
 * The executable's pages: starting Node touches some 40 MiB of its binary
 * (relocations, V8's snapshot and builtins, ICU data, the module loader), and
 * a running daemon keeps using a quarter of that. Those pages stay mapped,
 * counted in the process's RSS, until memory pressure reclaims them.
 * MADV_DONTNEED on a clean, read-only, private file mapping only drops this
 * process's page-table entries: the pages stay in the page cache, and the
 * next touch maps them again with a minor fault. On a page that was written
 * (copy-on-write: relocated data) it would bring back the file's contents,
 * so the caller passes only mappings smaps shows with no anonymous pages. */
#include <errno.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"
#include "heap_trim.h"

/* mallocTrim() -> boolean: whether any memory was released. */
napi_value vf_malloc_trim(napi_env env, napi_callback_info info) {
  napi_value out;
  NAPI_TRY(env, napi_get_boolean(env, malloc_trim(0) == 1, &out));
  return out;
}

/* releaseMappedPages(start: bigint, length: bigint) -> null | errno name. */
napi_value vf_release_mapped_pages(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint64_t start = 0;
  uint64_t length = 0;
  bool lossless = false;
  if (argc < 2 || napi_get_value_bigint_uint64(env, argv[0], &start, &lossless) != napi_ok || !lossless ||
      napi_get_value_bigint_uint64(env, argv[1], &length, &lossless) != napi_ok || !lossless) {
    vf_throw_type(env, "releaseMappedPages(start, length): two bigints");
    return NULL;
  }
  const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  napi_value out;
  if (length == 0 || start % page != 0 || length % page != 0) {
    NAPI_TRY(env, napi_create_string_utf8(env, "EINVAL", NAPI_AUTO_LENGTH, &out));
    return out;
  }
  if (madvise((void*)(uintptr_t)start, (size_t)length, MADV_DONTNEED) != 0) return vf_errno_value(env, errno);
  NAPI_TRY(env, napi_get_null(env, &out));
  return out;
}
