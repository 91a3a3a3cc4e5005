{
  "targets": [
    {
      "target_name": "vipflow_wire",
      "sources": [
        "src/addon.c",
        "src/common.c",
        "src/polled.c",
        "src/raw_socket.c",
        "src/icmp_socket.c",
        "src/packet_socket.c",
        "src/netlink_address.c",
        "src/netlink_monitor.c",
        "src/process_limits.c",
        "src/heap_trim.c",
        "src/sd_notify.c",
        "src/wake_timer.c"
      ],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
