#ifndef VIPFLOW_WAKE_TIMER_H
#define VIPFLOW_WAKE_TIMER_H
#include "common.h"
napi_value vf_wake_open(napi_env env, napi_callback_info info);
napi_value vf_wake_arm(napi_env env, napi_callback_info info);
napi_value vf_wake_close(napi_env env, napi_callback_info info);
napi_value vf_wake_ref(napi_env env, napi_callback_info info);
#endif
