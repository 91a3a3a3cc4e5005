#ifndef VIPFLOW_RAW_SOCKET_H
#define VIPFLOW_RAW_SOCKET_H
#include "common.h"
/* Per-environment setup; call once from module init. Returns 0 or errno. */
int vf_raw_init(napi_env env);
/* The environment's receive buffer (RX_BUFFER_SIZE bytes), NULL before vf_raw_init. */
uint8_t* vf_rx_buffer(napi_env env);
napi_value vf_raw_open(napi_env env, napi_callback_info info);
napi_value vf_raw_send(napi_env env, napi_callback_info info);
napi_value vf_raw_close(napi_env env, napi_callback_info info);
napi_value vf_raw_ref(napi_env env, napi_callback_info info);
napi_value vf_raw_ifindex(napi_env env, napi_callback_info info);
napi_value vf_raw_stats(napi_env env, napi_callback_info info);
napi_value vf_raw_pause(napi_env env, napi_callback_info info);
napi_value vf_raw_drain(napi_env env, napi_callback_info info);
napi_value vf_raw_repeat_table(napi_env env, napi_callback_info info);
napi_value vf_raw_repeat_arm(napi_env env, napi_callback_info info);
napi_value vf_raw_repeat_disarm(napi_env env, napi_callback_info info);
#endif
