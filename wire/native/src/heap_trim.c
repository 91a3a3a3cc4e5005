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
#include <stdlib.h>
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

/* releaseMappedPages(ranges: BigUint64Array of start, length pairs) ->
 * Promise<{ released: number, error: string | null }>. The madvise calls run
 * on libuv's thread pool: dropping tens of MiB of page-table entries took
 * 0.5-3.5 ms in the lab, which on the event loop would delay a centisecond
 * advert. A range not page-aligned is EINVAL
 * and ends the call, as a failing madvise does; `released` counts the ranges
 * before it. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref ranges_ref;
  const uint64_t* ranges;
  size_t count;
  size_t released;
  int error;
} release_job;

static void release_execute(napi_env env, void* data) {
  (void)env;
  release_job* job = data;
  const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  for (size_t i = 0; i < job->count; i++) {
    const uint64_t start = job->ranges[2 * i];
    const uint64_t length = job->ranges[2 * i + 1];
    if (length == 0 || start % page != 0 || length % page != 0) {
      job->error = EINVAL;
      return;
    }
    if (madvise((void*)(uintptr_t)start, (size_t)length, MADV_DONTNEED) != 0) {
      job->error = errno;
      return;
    }
    job->released++;
  }
}

static void release_complete(napi_env env, napi_status status, void* data) {
  release_job* job = data;
  napi_value result = NULL;
  napi_value released = NULL;
  napi_value error = NULL;
  bool ok = status == napi_ok && napi_create_object(env, &result) == napi_ok &&
            napi_create_uint32(env, (uint32_t)job->released, &released) == napi_ok;
  if (ok) {
    if (job->error == 0) ok = napi_get_null(env, &error) == napi_ok;
    else ok = (error = vf_errno_value(env, job->error)) != NULL;
  }
  ok = ok && napi_set_named_property(env, result, "released", released) == napi_ok &&
       napi_set_named_property(env, result, "error", error) == napi_ok;
  if (ok) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message = NULL;
    napi_value err = NULL;
    napi_create_string_utf8(env, "releaseMappedPages: could not report the result", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &err);
    napi_reject_deferred(env, job->deferred, err);
  }
  napi_delete_reference(env, job->ranges_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

napi_value vf_release_mapped_pages(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t length = 0;
  void* data = NULL;
  if (argc < 1 || !vf_typed_array(env, argv[0], napi_biguint64_array, &data, &length) || length % 2 != 0) {
    vf_throw_type(env, "releaseMappedPages(ranges): a BigUint64Array of start, length pairs");
    return NULL;
  }
  release_job* job = calloc(1, sizeof *job);
  if (job == NULL) {
    vf_throw_errno(env, ENOMEM, "calloc");
    return NULL;
  }
  job->ranges = data;
  job->count = length / 2;
  napi_value promise;
  napi_value name;
  /* The reference keeps the array (and so `data`) alive until the job completes. */
  if (napi_create_reference(env, argv[0], 1, &job->ranges_ref) != napi_ok) {
    free(job);
    vf_throw_napi_failure(env, "napi_create_reference");
    return NULL;
  }
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "vipflow.releaseMappedPages", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, release_execute, release_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_reference(env, job->ranges_ref);
    free(job);
    vf_throw_napi_failure(env, "releaseMappedPages");
    return NULL;
  }
  return promise;
}
