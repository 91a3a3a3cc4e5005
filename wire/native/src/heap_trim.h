#ifndef VIPFLOW_HEAP_TRIM_H
#define VIPFLOW_HEAP_TRIM_H
#include "common.h"
napi_value vf_malloc_trim(napi_env env, napi_callback_info info);
napi_value vf_release_mapped_pages(napi_env env, napi_callback_info info);
#endif
