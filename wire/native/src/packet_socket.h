#ifndef VIPFLOW_PACKET_SOCKET_H
#define VIPFLOW_PACKET_SOCKET_H
#include "common.h"
napi_value vf_interface_info(napi_env env, napi_callback_info info);
napi_value vf_send_frame(napi_env env, napi_callback_info info);
napi_value vf_send_frames(napi_env env, napi_callback_info info);
#endif
