/* vipflow's wire addon: raw VRRP sockets, ICMP echo sockets, AF_PACKET frames, rtnetlink
 * address changes, link/address notifications, the open-file limit, malloc_trim, systemd
 * notifications and microsecond wake-ups for Node, which has none of them. The TypeScript side is wire/socket/; nothing else should load
 * this module directly. */
#include "heap_trim.h"
#include "icmp_socket.h"
#include "netlink_address.h"
#include "netlink_monitor.h"
#include "packet_socket.h"
#include "process_limits.h"
#include "raw_socket.h"
#include "sd_notify.h"
#include "wake_timer.h"

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"rawOpen", NULL, vf_raw_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rawSend", NULL, vf_raw_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rawClose", NULL, vf_raw_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rawRef", NULL, vf_raw_ref, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rawIfindex", NULL, vf_raw_ifindex, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rawStats", NULL, vf_raw_stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rawPause", NULL, vf_raw_pause, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rawDrain", NULL, vf_raw_drain, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rawRepeatTable", NULL, vf_raw_repeat_table, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rawRepeatArm", NULL, vf_raw_repeat_arm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rawRepeatDisarm", NULL, vf_raw_repeat_disarm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"icmpOpen", NULL, vf_icmp_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"icmpSend", NULL, vf_icmp_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"icmpClose", NULL, vf_icmp_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"icmpRef", NULL, vf_icmp_ref, NULL, NULL, NULL, napi_enumerable, NULL},
      {"interfaceInfo", NULL, vf_interface_info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendFrame", NULL, vf_send_frame, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendFrames", NULL, vf_send_frames, NULL, NULL, NULL, napi_enumerable, NULL},
      {"changeAddress", NULL, vf_change_address, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addressIsLocal", NULL, vf_address_is_local, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkDump", NULL, vf_netlink_dump, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkMonitorOpen", NULL, vf_netlink_monitor_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkMonitorClose", NULL, vf_netlink_monitor_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkMonitorRef", NULL, vf_netlink_monitor_ref, NULL, NULL, NULL, napi_enumerable, NULL},
      {"raiseFileLimit", NULL, vf_raise_file_limit, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setRealtime", NULL, vf_set_realtime, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setFairSlice", NULL, vf_set_fair_slice, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mallocTrim", NULL, vf_malloc_trim, NULL, NULL, NULL, napi_enumerable, NULL},
      {"releaseMappedPages", NULL, vf_release_mapped_pages, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sdNotify", NULL, vf_sd_notify, NULL, NULL, NULL, napi_enumerable, NULL},
      {"wakeOpen", NULL, vf_wake_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"wakeArm", NULL, vf_wake_arm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"wakeClose", NULL, vf_wake_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"wakeRef", NULL, vf_wake_ref, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (vf_raw_init(env) != 0) {
    napi_throw_error(env, "ENOMEM", "vipflow wire: cannot allocate the receive buffer");
    return NULL;
  }
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
