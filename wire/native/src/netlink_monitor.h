#ifndef VIPFLOW_NETLINK_MONITOR_H
#define VIPFLOW_NETLINK_MONITOR_H
#include "common.h"
napi_value vf_netlink_dump(napi_env env, napi_callback_info info);
napi_value vf_netlink_monitor_open(napi_env env, napi_callback_info info);
napi_value vf_netlink_monitor_close(napi_env env, napi_callback_info info);
napi_value vf_netlink_monitor_ref(napi_env env, napi_callback_info info);
#endif
