#ifndef VIPFLOW_PROCESS_LIMITS_H
#define VIPFLOW_PROCESS_LIMITS_H
#include "common.h"
napi_value vf_raise_file_limit(napi_env env, napi_callback_info info);
napi_value vf_set_realtime(napi_env env, napi_callback_info info);
napi_value vf_set_fair_slice(napi_env env, napi_callback_info info);
#endif
