#ifndef VIPFLOW_NETLINK_ADDRESS_H
#define VIPFLOW_NETLINK_ADDRESS_H
#include "common.h"
napi_value vf_change_address(napi_env env, napi_callback_info info);
napi_value vf_address_is_local(napi_env env, napi_callback_info info);
#endif
