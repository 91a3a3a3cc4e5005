#ifndef VIPFLOW_SD_NOTIFY_H
#define VIPFLOW_SD_NOTIFY_H
#include "common.h"
napi_value vf_sd_notify(napi_env env, napi_callback_info info);
#endif
