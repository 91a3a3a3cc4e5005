/* AF_PACKET transmit of whole Ethernet frames (gratuitous ARP, unsolicited
 * Neighbour Advertisements) and interface lookup (index, MAC). Announces are
 * rare, so each call opens and closes its own socket: nothing to leak. */
#define _GNU_SOURCE
#include "packet_socket.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static bool read_target(napi_env env, napi_value opts, char* ifname, size_t ifsize, char* netns, size_t nssize) {
  if (!vf_get_string(env, opts, "ifname", ifname, ifsize) || !vf_get_string(env, opts, "netns", netns, nssize))
    return false;
  if (ifname[0] == '\0') {
    vf_throw_type(env, "ifname is required");
    return false;
  }
  return true;
}

/* interfaceInfo({ ifname, netns? }) -> { index, mac: Buffer(6) };
 * throws an errno-coded Error (ENODEV for an unknown interface). */
napi_value vf_interface_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ifname[IF_NAMESIZE + 1], netns[256];
  if (argc < 1 || !read_target(env, argv[0], ifname, sizeof ifname, netns, sizeof netns)) return NULL;

  vf_netns_guard guard;
  int err = vf_netns_enter(netns, &guard);
  if (err) {
    vf_throw_errno(env, err, "setns");
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  size_t name_len = strlen(ifname);
  if (name_len >= IF_NAMESIZE) {
    vf_netns_leave(&guard);
    vf_throw_errno(env, ENAMETOOLONG, "ifname");
    return NULL;
  }
  memcpy(ifr.ifr_name, ifname, name_len + 1);
  int index = 0;
  const char* failed = "socket";
  /* Any socket answers these ioctls. Not AF_PACKET: closing one waits for an
   * RCU grace period (the kernel's synchronize_net), 11-21 ms measured here,
   * and a new Master reads its interface's MAC before its gratuitous ARP, on
   * the takeover's path. A UDP socket closes at once; an IPv6-only kernel
   * still has AF_INET6. */
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 && errno == EAFNOSUPPORT) fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = errno;
  } else if (ioctl(fd, SIOCGIFINDEX, &ifr) != 0) {
    err = errno;
    failed = "ioctl SIOCGIFINDEX";
  } else {
    index = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
      err = errno;
      failed = "ioctl SIOCGIFHWADDR";
    }
  }
  if (fd >= 0) close(fd);
  vf_netns_leave(&guard);
  if (err) {
    vf_throw_errno(env, err, failed);
    return NULL;
  }
  napi_value out, idx, mac;
  void* copy;
  NAPI_TRY(env, napi_create_object(env, &out));
  NAPI_TRY(env, napi_create_int32(env, index, &idx));
  NAPI_TRY(env, napi_create_buffer_copy(env, 6, ifr.ifr_hwaddr.sa_data, &copy, &mac));
  NAPI_TRY(env, napi_set_named_property(env, out, "index", idx));
  NAPI_TRY(env, napi_set_named_property(env, out, "mac", mac));
  return out;
}

/* sendFrame({ ifname, netns? }, frame) -> null | errno name. The frame is
 * complete (destination MAC first); the kernel adds only the FCS. */
napi_value vf_send_frame(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ifname[IF_NAMESIZE + 1], netns[256];
  if (argc < 2 || !read_target(env, argv[0], ifname, sizeof ifname, netns, sizeof netns)) return NULL;
  void* data;
  size_t len;
  bool is_buf = false;
  if (napi_is_buffer(env, argv[1], &is_buf) != napi_ok || !is_buf ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    vf_throw_type(env, "frame must be a Buffer");
    return NULL;
  }
  if (len < ETH_HLEN) return vf_errno_value(env, EINVAL);

  vf_netns_guard guard;
  int err = vf_netns_enter(netns, &guard);
  if (err) return vf_errno_value(env, err);
  /* Protocol 0: this socket only transmits, so the kernel queues nothing
   * for it to receive. Closing an AF_PACKET socket waits for an RCU grace
   * period (synchronize_net in packet_release), measured at 8-44 ms here:
   * in the caller's own namespace one socket is kept for the process. */
  static int cached_fd = -1;
  bool own_ns = netns[0] == '\0';
  int fd = own_ns && cached_fd >= 0 ? cached_fd : socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (own_ns && fd >= 0) cached_fd = fd;
  unsigned ifindex = 0;
  if (fd < 0) {
    err = errno;
  } else if ((ifindex = if_nametoindex(ifname)) == 0) {
    err = errno;
  } else {
    struct sockaddr_ll ll;
    memset(&ll, 0, sizeof ll);
    ll.sll_family = AF_PACKET;
    ll.sll_ifindex = (int)ifindex;
    ll.sll_halen = ETH_ALEN;
    memcpy(ll.sll_addr, data, ETH_ALEN);
    ssize_t n;
    do {
      n = sendto(fd, data, len, 0, (struct sockaddr*)&ll, sizeof ll);
    } while (n < 0 && errno == EINTR);
    if (n < 0) err = errno;
  }
  if (fd >= 0 && !own_ns) close(fd);
  vf_netns_leave(&guard);
  if (err) return vf_errno_value(env, err);
  napi_value nul;
  napi_get_null(env, &nul);
  return nul;
}
