#ifndef VIPFLOW_ICMP_SOCKET_H
#define VIPFLOW_ICMP_SOCKET_H
#include "common.h"
napi_value vf_icmp_open(napi_env env, napi_callback_info info);
napi_value vf_icmp_send(napi_env env, napi_callback_info info);
napi_value vf_icmp_close(napi_env env, napi_callback_info info);
napi_value vf_icmp_ref(napi_env env, napi_callback_info info);
#endif
