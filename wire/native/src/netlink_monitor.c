/* Link and address changes from rtnetlink, as the kernel announces them.
 *
 * Why not poll /sys/class/net/X/operstate: a poller of period P reacts
 * 0..P late (measured at P = 100 ms: median 34-52 ms, max 100 ms, against
 * 0-3 ms here; bench/link-change.ts) and costs CPU while nothing happens;
 * the kernel multicasts RTM_NEWLINK the moment a link changes. Why
 * addresses too: an IPv6 instance needs its link-local source, which a link
 * gets back only after duplicate address detection (the kernel announces
 * an automatic link-local address once DAD ended; a dump lists it with
 * IFA_F_TENTATIVE meanwhile).
 *
 * Two entry points: a subscription driven by uv_poll (each readiness
 * callback hands JS one array of parsed messages), and a synchronous dump of
 * every link and address on a socket of its own, for the initial state and
 * for re-reading everything after the subscription overran (ENOBUFS: the
 * kernel dropped notifications, so the listener's view may be stale). */
#define _GNU_SOURCE
#include "netlink_monitor.h"

#include "polled.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Large enough for a dump batch (the kernel fills up to 32 KB per recv). */
#define NL_BUFFER_SIZE 65536
/* Notifications come in bursts (a bridge with many ports going down); 1 MB
 * keeps overruns rare, and an overrun is recovered by a dump anyway. */
#define NL_DEFAULT_RCVBUF (1 << 20)
#define NL_BATCH_MAX 1024

static bool set_str(napi_env env, napi_value obj, const char* key, const char* value) {
  napi_value v;
  return napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok &&
         napi_set_named_property(env, obj, key, v) == napi_ok;
}

static bool set_num(napi_env env, napi_value obj, const char* key, double value) {
  napi_value v;
  return napi_create_double(env, value, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

static napi_value kind_object(napi_env env, const char* kind) {
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok || !set_str(env, obj, "kind", kind)) return NULL;
  return obj;
}

/* { kind: 'link', op: 'new'|'del', ifindex, name, flags, operstate } */
static napi_value parse_link(napi_env env, const struct nlmsghdr* h) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg))) return NULL;
  const struct ifinfomsg* ifi = NLMSG_DATA(h);
  const char* name = "";
  int operstate = -1;
  int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *ifi));
  for (const struct rtattr* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFLA_IFNAME && RTA_PAYLOAD(a) > 0 && ((const char*)RTA_DATA(a))[RTA_PAYLOAD(a) - 1] == '\0')
      name = RTA_DATA(a);
    else if (a->rta_type == IFLA_OPERSTATE && RTA_PAYLOAD(a) >= 1)
      operstate = *(const unsigned char*)RTA_DATA(a);
  }
  napi_value obj = kind_object(env, "link");
  if (obj == NULL || !set_str(env, obj, "op", h->nlmsg_type == RTM_DELLINK ? "del" : "new") ||
      !set_num(env, obj, "ifindex", ifi->ifi_index) || !set_str(env, obj, "name", name) ||
      !set_num(env, obj, "flags", ifi->ifi_flags) || !set_num(env, obj, "operstate", operstate))
    return NULL;
  return obj;
}

/* { kind: 'addr', op, family: 4|6, ifindex, address, prefix, flags, scope } */
static napi_value parse_addr(napi_env env, const struct nlmsghdr* h) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg))) return NULL;
  const struct ifaddrmsg* ifa = NLMSG_DATA(h);
  if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return NULL;
  size_t alen = ifa->ifa_family == AF_INET ? 4 : 16;
  const void* local = NULL;
  const void* address = NULL;
  /* IFA_FLAGS carries the 32-bit flags; ifa_flags only the low 8 (enough
   * for tentative and dadfailed, but take the wider field when present). */
  uint32_t flags = ifa->ifa_flags;
  int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *ifa));
  for (const struct rtattr* a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFA_LOCAL && RTA_PAYLOAD(a) == alen)
      local = RTA_DATA(a);
    else if (a->rta_type == IFA_ADDRESS && RTA_PAYLOAD(a) == alen)
      address = RTA_DATA(a);
    else if (a->rta_type == IFA_FLAGS && RTA_PAYLOAD(a) == sizeof(uint32_t))
      memcpy(&flags, RTA_DATA(a), sizeof flags);
  }
  /* On point-to-point links IFA_ADDRESS is the peer: the own address is
   * IFA_LOCAL whenever the kernel gives it. */
  const void* own = local != NULL ? local : address;
  if (own == NULL) return NULL;
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(ifa->ifa_family, own, text, sizeof text) == NULL) return NULL;
  napi_value obj = kind_object(env, "addr");
  if (obj == NULL || !set_str(env, obj, "op", h->nlmsg_type == RTM_DELADDR ? "del" : "new") ||
      !set_num(env, obj, "family", ifa->ifa_family == AF_INET ? 4 : 6) || !set_num(env, obj, "ifindex", ifa->ifa_index) ||
      !set_str(env, obj, "address", text) || !set_num(env, obj, "prefix", ifa->ifa_prefixlen) ||
      !set_num(env, obj, "flags", flags) || !set_num(env, obj, "scope", ifa->ifa_scope))
    return NULL;
  return obj;
}

/* Appends the parsed messages of one datagram to `list`. Returns false when
 * the datagram ends a dump (NLMSG_DONE) or carries a dump error (*err). */
static bool parse_datagram(napi_env env, const char* buf, size_t n, napi_value list, uint32_t* count, int* err) {
  bool more = true;
  int left = (int)n;
  for (const struct nlmsghdr* h = (const struct nlmsghdr*)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
    napi_value obj = NULL;
    switch (h->nlmsg_type) {
      case RTM_NEWLINK:
      case RTM_DELLINK:
        obj = parse_link(env, h);
        break;
      case RTM_NEWADDR:
      case RTM_DELADDR:
        obj = parse_addr(env, h);
        break;
      case NLMSG_DONE:
        more = false;
        break;
      case NLMSG_ERROR:
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) *err = -((const struct nlmsgerr*)NLMSG_DATA(h))->error;
        more = false;
        break;
      default:
        break;
    }
    if (obj != NULL && napi_set_element(env, list, (*count)++, obj) != napi_ok) return false;
  }
  return more;
}

/* ---- synchronous dump ---- */

static int dump_one(int fd, int type, uint32_t seq, char* buf, napi_env env, napi_value list, uint32_t* count) {
  struct {
    struct nlmsghdr n;
    union {
      struct ifinfomsg link;
      struct ifaddrmsg addr;
    } body;
  } req;
  memset(&req, 0, sizeof req);
  /* The exact header size of each request: extra bytes would be parsed as
   * attributes and logged by the kernel as leftovers. */
  req.n.nlmsg_len = NLMSG_LENGTH(type == RTM_GETLINK ? sizeof req.body.link : sizeof req.body.addr);
  req.n.nlmsg_type = (unsigned short)type;
  req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.n.nlmsg_seq = seq;
  if (type == RTM_GETLINK)
    req.body.link.ifi_family = AF_UNSPEC;
  else
    req.body.addr.ifa_family = AF_UNSPEC;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, &req, req.n.nlmsg_len, 0, (struct sockaddr*)&kernel, sizeof kernel) < 0) return errno;
  /* Bounded: a dump of 10,000 links takes a few hundred datagrams. */
  for (int round = 0; round < 100000; round++) {
    ssize_t n = recv(fd, buf, NL_BUFFER_SIZE, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN ? ETIMEDOUT : errno;
    }
    int err = 0;
    if (!parse_datagram(env, buf, (size_t)n, list, count, &err)) return err;
  }
  return E2BIG;
}

/* netlinkDump({ netns? }) -> array of link and addr objects (every link
 * first, then every address), or an errno name string when a call failed.
 * Blocks for at most one second per datagram: meant for start-up and for
 * recovery after an overrun, not for the hot path. */
napi_value vf_netlink_dump(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char netns[256] = "";
  if (argc >= 1 && !vf_get_string(env, argv[0], "netns", netns, sizeof netns)) return NULL;
  vf_netns_guard guard;
  int err = vf_netns_enter(netns, &guard);
  if (err) return vf_errno_value(env, err);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  err = fd < 0 ? errno : 0;
  vf_netns_leave(&guard);
  if (err) return vf_errno_value(env, err);
  struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char* buf = malloc(NL_BUFFER_SIZE);
  napi_value list;
  uint32_t count = 0;
  if (buf == NULL) {
    err = ENOMEM;
  } else if (napi_create_array(env, &list) != napi_ok) {
    err = ENOMEM;
  } else {
    err = dump_one(fd, RTM_GETLINK, 1, buf, env, list, &count);
    if (!err) err = dump_one(fd, RTM_GETADDR, 2, buf, env, list, &count);
  }
  free(buf);
  close(fd);
  if (err) return vf_errno_value(env, err);
  return list;
}

/* ---- subscription ---- */

typedef struct {
  vf_polled base; /* first: the polled handle is the monitor */
  char* buffer;
} vf_monitor;

static void monitor_destroy(vf_polled* p) {
  free(((vf_monitor*)p)->buffer);
  free(p);
}

static void on_netlink_readable(uv_poll_t* h, int status, int events) {
  vf_monitor* m = h->data;
  napi_env env = m->base.env;
  vf_polled_scope scope;
  napi_value cb, list;
  uint32_t count = 0;
  if (!vf_polled_enter(&m->base, &scope, &cb)) return;
  if (napi_create_array(env, &list) != napi_ok) goto out;
  if (status < 0) {
    /* An overrun sets the socket error, which epoll reports as POLLERR;
     * libuv then stops the handle and says UV_EBADF. Reading SO_ERROR takes
     * the ENOBUFS (and clears it): report the overrun and watch again. Any
     * other error ends the subscription, and the listener is told. */
    int so_err = 0;
    socklen_t len = sizeof so_err;
    if (getsockopt(m->base.fd, SOL_SOCKET, SO_ERROR, &so_err, &len) != 0) so_err = errno;
    bool overrun = so_err == ENOBUFS && uv_poll_start(&m->base.poll, UV_READABLE, on_netlink_readable) == 0;
    napi_value e = kind_object(env, overrun ? "overrun" : "stopped");
    if (e != NULL && (overrun || set_str(env, e, "code", vf_errno_name(so_err != 0 ? so_err : -status))))
      napi_set_element(env, list, count++, e);
    if (overrun) status = 0;
  }
  for (int i = 0; status >= 0 && i < NL_BATCH_MAX; i++) {
    struct sockaddr_nl from;
    struct iovec iov = {.iov_base = m->buffer, .iov_len = NL_BUFFER_SIZE};
    struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = recvmsg(m->base.fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      /* ENOBUFS: the receive queue was full and the kernel dropped
       * notifications; the socket stays usable. The listener must re-read
       * the whole state, so it is told rather than left stale. */
      napi_value e = kind_object(env, errno == ENOBUFS ? "overrun" : "error");
      if (e != NULL && (errno == ENOBUFS || set_str(env, e, "code", vf_errno_name(errno))))
        napi_set_element(env, list, count++, e);
      if (errno != ENOBUFS) break;
      continue;
    }
    /* Only the kernel (port 0) speaks for the routing tables; anything else
     * on this socket is not a notification. */
    if (from.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC)) continue;
    int err = 0;
    parse_datagram(env, m->buffer, (size_t)n, list, &count, &err);
  }
  if (count > 0) vf_call_js(env, cb, 1, &list);
out:
  vf_polled_leave(&m->base, &scope);
}

/* netlinkMonitorOpen({ netns?, addresses?: boolean, rcvbuf? }, callback) -> handle.
 * Subscribes to link changes (RTMGRP_LINK) and, with `addresses`, to IPv4
 * and IPv6 address changes. callback(messages[]) per wake-up, in kernel
 * order: link / addr objects, { kind: 'overrun' } after ENOBUFS,
 * { kind: 'error', code } for a failed read, or { kind: 'stopped', code }
 * when the socket failed and nothing more will come. Throws an errno-coded Error when the socket
 * cannot be set up. */
napi_value vf_netlink_monitor_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype t;
  if (argc < 2 || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    vf_throw_type(env, "netlinkMonitorOpen(options, callback)");
    return NULL;
  }
  char netns[256];
  bool addresses;
  int32_t rcvbuf;
  if (!vf_get_string(env, argv[0], "netns", netns, sizeof netns) || !vf_get_bool(env, argv[0], "addresses", true, &addresses) ||
      !vf_get_int(env, argv[0], "rcvbuf", NL_DEFAULT_RCVBUF, &rcvbuf))
    return NULL;

  vf_netns_guard guard;
  int err = vf_netns_enter(netns, &guard);
  if (err) {
    vf_throw_errno(env, err, "setns");
    return NULL;
  }
  const char* failed = "socket";
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    err = errno;
  } else {
    struct sockaddr_nl local = {.nl_family = AF_NETLINK};
    local.nl_groups = RTMGRP_LINK | (addresses ? RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR : 0);
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf); /* not root: the capped size still works */
    if (bind(fd, (struct sockaddr*)&local, sizeof local) != 0) {
      err = errno;
      failed = "bind";
    }
  }
  vf_netns_leave(&guard);
  if (err) {
    if (fd >= 0) close(fd);
    vf_throw_errno(env, err, failed);
    return NULL;
  }

  vf_monitor* m = calloc(1, sizeof *m);
  if (m == NULL || (m->buffer = malloc(NL_BUFFER_SIZE)) == NULL) {
    free(m);
    close(fd);
    vf_throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  m->base.destroy = monitor_destroy;
  napi_value handle;
  if (!vf_polled_start(env, &m->base, fd, argv[1], "vipflow:NetlinkMonitor", on_netlink_readable, &handle)) return NULL;
  return handle;
}

/* netlinkMonitorClose(handle): idempotent. */
napi_value vf_netlink_monitor_close(napi_env env, napi_callback_info info) {
  return vf_polled_close_js(env, info, "netlinkMonitorClose(handle)", "expected a netlink monitor handle");
}

/* netlinkMonitorRef(handle, bool): whether the subscription keeps the loop alive. */
napi_value vf_netlink_monitor_ref(napi_env env, napi_callback_info info) {
  return vf_polled_ref_js(env, info, "netlinkMonitorRef(handle, boolean)", "expected a netlink monitor handle");
}
