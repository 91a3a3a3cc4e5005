/* Raw ICMP / ICMPv6 sockets for PING_CHECK, driven by libuv.
 *
 * Why SOCK_RAW and not keepalived's SOCK_DGRAM "ping socket": a ping socket
 * is only allowed for groups in net.ipv4.ping_group_range, which is "1 0"
 * (nobody) by default and per network namespace; keepalived rewrites that
 * sysctl at start-up, a host-wide side effect we do not want. A ping socket
 * also reports ICMP errors only through IP_RECVERR's error queue, which
 * epoll signals as POLLERR (libuv then stops the poll handle). The daemon
 * runs as root anyway, and a raw socket receives unreachable messages as
 * ordinary ICMP datagrams. The price: a raw socket sees every ICMP message
 * of its namespace, so a kernel filter keeps only echo replies and errors,
 * and JavaScript matches identifier, sequence and a payload nonce.
 *
 * One socket is meant to serve every ping checker of a family (and bindto,
 * bind_if, netns): the demultiplexing is done in JavaScript. */
#define _GNU_SOURCE
#include "icmp_socket.h"

#include "polled.h"
#include "raw_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* From <linux/icmp.h>, which cannot be included beside <net/if.h>. */
#ifndef ICMP_FILTER
#define ICMP_FILTER 1
#endif
struct vf_icmp_filter {
  uint32_t data;
};

#define RX_BUFFER_SIZE 65536
/* Bound per readiness callback so an ICMP flood cannot starve timers. */
#define RX_BATCH_MAX 1024

typedef struct {
  vf_polled base; /* first: the polled handle is the socket */
  int family;
  uint8_t* rx_buffer; /* the environment's (vf_raw_init) */
} vf_icmp;

static void icmp_destroy(vf_polled* p) { free(p); }

static void on_readable(uv_poll_t* h, int status, int events) {
  vf_icmp* s = (vf_icmp*)h->data;
  napi_env env = s->base.env;
  vf_polled_scope scope;
  napi_value cb;
  if (!vf_polled_enter(&s->base, &scope, &cb)) return;
  if (status < 0) {
    napi_value argv[1] = {vf_errno_value(env, -status)};
    vf_call_js(env, cb, 1, argv);
    goto out;
  }
  struct sockaddr_storage from;
  for (int i = 0; i < RX_BATCH_MAX && !s->base.closing; i++) {
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(s->base.fd, s->rx_buffer, RX_BUFFER_SIZE, MSG_DONTWAIT, (struct sockaddr*)&from, &fromlen);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      napi_value argv[1] = {vf_errno_value(env, errno)};
      vf_call_js(env, cb, 1, argv);
      break;
    }
    const void* src = s->family == AF_INET ? (const void*)&((struct sockaddr_in*)&from)->sin_addr
                                           : (const void*)&((struct sockaddr_in6*)&from)->sin6_addr;
    napi_handle_scope inner;
    if (napi_open_handle_scope(env, &inner) != napi_ok) break;
    napi_value argv[3];
    void* copy;
    napi_get_null(env, &argv[0]);
    bool ok = napi_create_buffer_copy(env, (size_t)n, s->rx_buffer, &copy, &argv[1]) == napi_ok &&
              napi_create_buffer_copy(env, s->family == AF_INET ? 4 : 16, src, &copy, &argv[2]) == napi_ok;
    bool go_on = ok && vf_call_js(env, cb, 3, argv);
    napi_close_handle_scope(env, inner);
    if (!go_on) break;
  }
out:
  vf_polled_leave(&s->base, &scope);
}

/* Lets through only what a pinger needs: echo replies and the errors that
 * quote an echo request (unreachable, time exceeded, parameter problem,
 * and for IPv6 packet too big). Returns 0 or errno. */
static int install_filter(int fd, int family) {
  if (family == AF_INET) {
    /* ICMP_FILTER: a set bit drops that type. */
    struct vf_icmp_filter f;
    f.data = ~((1U << ICMP_ECHOREPLY) | (1U << ICMP_DEST_UNREACH) | (1U << ICMP_TIME_EXCEEDED) | (1U << ICMP_PARAMETERPROB));
    return setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof f) == 0 ? 0 : errno;
  }
  struct icmp6_filter f;
  ICMP6_FILTER_SETBLOCKALL(&f);
  ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
  ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f);
  ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &f);
  ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f);
  ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &f);
  return setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f) == 0 ? 0 : errno;
}

static int configure(int fd, int family, const char* bind_if, const char* bindto, int rcvbuf, const char** failed) {
  int err;
  *failed = "setsockopt ICMP_FILTER";
  if ((err = install_filter(fd, family))) return err;
  if (rcvbuf > 0) {
    *failed = "setsockopt SO_RCVBUF";
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0)
      return errno;
  }
  if (bind_if[0] != '\0') {
    *failed = "setsockopt SO_BINDTODEVICE";
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, bind_if, (socklen_t)strlen(bind_if) + 1) != 0) return errno;
  }
  if (bindto[0] != '\0') {
    /* bindto: the source of every request; a raw socket so bound also only
     * receives what is addressed to it. */
    *failed = "bind";
    struct sockaddr_storage a;
    memset(&a, 0, sizeof a);
    socklen_t len;
    if (family == AF_INET) {
      struct sockaddr_in* sin = (struct sockaddr_in*)&a;
      sin->sin_family = AF_INET;
      if (inet_pton(AF_INET, bindto, &sin->sin_addr) != 1) return EINVAL;
      len = sizeof *sin;
    } else {
      struct sockaddr_in6* sin6 = (struct sockaddr_in6*)&a;
      sin6->sin6_family = AF_INET6;
      if (inet_pton(AF_INET6, bindto, &sin6->sin6_addr) != 1) return EINVAL;
      if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr) && bind_if[0] != '\0') sin6->sin6_scope_id = if_nametoindex(bind_if);
      len = sizeof *sin6;
    }
    if (bind(fd, (struct sockaddr*)&a, len) != 0) return errno;
  }
  return 0;
}

/* icmpOpen({ family: 4|6, netns?, bindto?, bindIf?, rcvbuf? }, callback) -> handle.
 *   callback(err, datagram, source): err is null or an errno name (then no
 *   other argument); source is a Buffer of 4 or 16 bytes. IPv4 datagrams
 *   include the IP header (raw IPv4 sockets deliver it), IPv6 ones start at
 *   the ICMPv6 header.
 * Throws an Error with an errno `code` when a syscall fails (EPERM without
 * CAP_NET_RAW). */
napi_value vf_icmp_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype t;
  if (argc < 2 || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    vf_throw_type(env, "icmpOpen(options, callback)");
    return NULL;
  }
  int32_t family_num, rcvbuf;
  char bind_if[IF_NAMESIZE + 1], bindto[INET6_ADDRSTRLEN + 1], netns[256];
  if (!vf_get_int(env, argv[0], "family", 4, &family_num) || !vf_get_int(env, argv[0], "rcvbuf", 0, &rcvbuf) ||
      !vf_get_string(env, argv[0], "bindIf", bind_if, sizeof bind_if) ||
      !vf_get_string(env, argv[0], "bindto", bindto, sizeof bindto) ||
      !vf_get_string(env, argv[0], "netns", netns, sizeof netns))
    return NULL;
  if ((family_num != 4 && family_num != 6) || rcvbuf < 0) {
    vf_throw_type(env, "icmpOpen: family 4|6 and rcvbuf >= 0 are required");
    return NULL;
  }
  int family = family_num == 4 ? AF_INET : AF_INET6;
  vf_netns_guard guard;
  int err = vf_netns_enter(netns, &guard);
  if (err) {
    vf_throw_errno(env, err, "setns");
    return NULL;
  }
  const char* failed = "socket";
  int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
  if (fd < 0)
    err = errno;
  else
    err = configure(fd, family, bind_if, bindto, rcvbuf, &failed);
  vf_netns_leave(&guard);
  if (err) {
    if (fd >= 0) close(fd);
    vf_throw_errno(env, err, failed);
    return NULL;
  }
  vf_icmp* s = calloc(1, sizeof *s);
  uint8_t* rx_buffer = vf_rx_buffer(env);
  if (s == NULL || rx_buffer == NULL) {
    free(s);
    close(fd);
    vf_throw_errno(env, ENOMEM, "calloc");
    return NULL;
  }
  s->base.destroy = icmp_destroy;
  s->family = family;
  s->rx_buffer = rx_buffer;
  napi_value handle;
  if (!vf_polled_start(env, &s->base, fd, argv[1], "vipflow:IcmpSocket", on_readable, &handle)) return NULL;
  return handle;
}

static vf_icmp* get_handle(napi_env env, napi_value v) {
  return (vf_icmp*)vf_polled_get(env, v, "expected an ICMP socket handle");
}

/* icmpSend(handle, message, destination) -> null | errno name. The message
 * starts at the ICMP header; the kernel adds the IP header (and, for
 * ICMPv6, always fills the checksum). */
napi_value vf_icmp_send(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    vf_throw_type(env, "icmpSend(handle, message, destination)");
    return NULL;
  }
  vf_icmp* s = get_handle(env, argv[0]);
  if (s == NULL) return NULL;
  void* data;
  size_t len;
  bool is_buf = false;
  if (napi_is_buffer(env, argv[1], &is_buf) != napi_ok || !is_buf || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    vf_throw_type(env, "message must be a Buffer");
    return NULL;
  }
  char dst_text[INET6_ADDRSTRLEN + 1];
  if (!vf_value_string(env, argv[2], dst_text, sizeof dst_text)) return NULL;
  if (s->base.closing) return vf_errno_value(env, EBADF);
  struct sockaddr_storage to;
  memset(&to, 0, sizeof to);
  socklen_t tolen;
  if (s->family == AF_INET) {
    struct sockaddr_in* sin = (struct sockaddr_in*)&to;
    sin->sin_family = AF_INET;
    if (inet_pton(AF_INET, dst_text, &sin->sin_addr) != 1) return vf_errno_value(env, EINVAL);
    tolen = sizeof *sin;
  } else {
    struct sockaddr_in6* sin6 = (struct sockaddr_in6*)&to;
    sin6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, dst_text, &sin6->sin6_addr) != 1) return vf_errno_value(env, EINVAL);
    tolen = sizeof *sin6;
  }
  ssize_t n;
  do {
    n = sendto(s->base.fd, data, len, MSG_DONTWAIT, (struct sockaddr*)&to, tolen);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return vf_errno_value(env, errno);
  napi_value nul;
  napi_get_null(env, &nul);
  return nul;
}

/* icmpClose(handle): idempotent; the fd is closed once libuv released it. */
napi_value vf_icmp_close(napi_env env, napi_callback_info info) {
  return vf_polled_close_js(env, info, "icmpClose(handle)", "expected an ICMP socket handle");
}

/* icmpRef(handle, bool): whether an open socket keeps the event loop alive. */
napi_value vf_icmp_ref(napi_env env, napi_callback_info info) {
  return vf_polled_ref_js(env, info, "icmpRef(handle, boolean)", "expected an ICMP socket handle");
}
