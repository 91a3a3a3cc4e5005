/* Raw IP sockets for VRRP (IP protocol 112), driven by libuv.
 *
 * One socket serves one interface and one address family. Receiving reads
 * every pending datagram per readiness callback (bursts must not wait for
 * another loop turn), packs them one after another into the environment's
 * receive buffer and hands them to JS in one call per batch: the buffer
 * and a count, with a record per datagram (rx_record) in the buffer's tail
 * carrying the ancillary data RFC 5798 needs: the TTL / hop limit
 * (section 7.1: must be 255), the ingress interface and both addresses,
 * and how long ago the kernel received it (SO_TIMESTAMPNS): a Backup arms
 * its Master_Down_Timer from the advert's arrival, not from whenever the
 * event loop got to it. A call into JavaScript per datagram (its handle
 * scope, its values, the call itself) was a measurable part of a Backup's
 * cost per advert; JS reads a batch with no allocation. */
#define _GNU_SOURCE
#include "raw_socket.h"

#include "polled.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define VRRP_PROTO 112
/* The receive buffer: datagrams (and their addresses) packed from the
 * start of RX_DATA_SIZE bytes, then RX_BATCH_MAX records. ICMP sockets read
 * into the same first 64 KiB. */
#define RX_DATA_SIZE 65536
/* Upper bound of datagrams handled per readiness callback: the rest waits
 * in the kernel queue for the next loop turn, so timers (the adverts) run
 * between batches. At a few microseconds per packet in JavaScript, 256
 * keeps one batch near a millisecond; 4,096 let a flood hold the loop for
 * tens of milliseconds. What the queue cannot hold the kernel drops
 * (SO_RXQ_OVFL counts it): a flood is shed at the socket, not queued. */
#define RX_BATCH_MAX 256
/* The room each datagram gets in a batch: more than the largest valid
 * advert (IPv6, 255 addresses and an auth_hmac trailer is 4,116 bytes; IPv4
 * with a full IP header and a v2 password is under 1,200). A longer one is
 * cut there and then refused by the length checks, as it would have been
 * whole. The batch goes to JS when less is left. */
#define RX_SLOT 4352
/* Per record, int32s: offset, length, ttl (-1 unknown), ifindex, age in µs,
 * source offset, destination offset (-1 none), address length (4 or 16). */
#define RX_RECORD_INTS 8
#define RX_RECORDS_SIZE (RX_BATCH_MAX * RX_RECORD_INTS * 4)
/* After the records, one byte per repeat absorbed in the batch: its VRID,
 * so that JavaScript looks at those instances only. */
#define RX_BUFFER_SIZE (RX_DATA_SIZE + RX_RECORDS_SIZE + RX_BATCH_MAX)
/* Per VRID in the repeat table JS registers (rawRepeatTable), doubles: how
 * many repeats were absorbed since JS last took them, the latest one's
 * arrival and read time on CLOCK_MONOTONIC in ms, then the arrivals of the
 * last REPEAT_RING of them (repeat i at 3 + i % REPEAT_RING): the
 * advert-jitter histogram takes a sample per advert, and JS takes the
 * repeats at least once per Master_Down_Interval (about four of them). */
#define REPEAT_RING 8
#define REPEAT_SLOT_DOUBLES (3 + REPEAT_RING)

/* The datagram a Backup's last plain advert came in, kept to recognise its
 * repeats (rawRepeatArm): every field a receive check reads. */
typedef struct {
  uint32_t len;
  int32_t ttl;
  uint32_t ifindex;
  bool has_dst;
  uint8_t src[16];
  uint8_t dst[16];
  uint8_t bytes[];
} vf_repeat;

typedef struct vf_raw {
  vf_polled base; /* first: the polled handle is the socket */
  int family;
  unsigned ifindex;
  uint8_t* rx_buffer; /* the environment's, see vf_raw_init */
  /* The kernel's count of datagrams dropped because the receive queue was
   * full (SO_RXQ_OVFL, cumulative since the socket opened). */
  uint32_t kernel_drops;
  /* Wake-ups that stopped at RX_BATCH_MAX with more datagrams pending. */
  uint32_t full_batches;
  /* Repeat absorption (is_repeat, read_batch): the armed datagram per VRID and
   * the table (a JS Float64Array, held by reference) where repeats are
   * counted. */
  vf_repeat* repeat[256];
  double* repeat_table;
  napi_ref repeat_table_ref;
  /* While a batch of this socket is in JavaScript: its record count (the
   * records rawRepeatArm may name). -1 otherwise. */
  int handing_count;
} vf_raw;

/* One receive buffer per Node environment (worker threads each get their
 * own), shared by its sockets: their callbacks never run concurrently. It
 * is a JS Buffer held for the environment's life, so a datagram reaches
 * JavaScript as (that buffer, length): a copy per datagram (a malloc, an
 * ArrayBuffer, a finalizer and external memory that hurries V8's young GC)
 * was a tenth of a Backup's CPU, measured with perf at 150 adverts/s. */
typedef struct {
  uint8_t* data;
  napi_ref value;
} vf_rx;

static void free_rx(napi_env env, void* data, void* hint) {
  /* The reference goes with the environment; only the holder is ours. */
  free(data);
}

int vf_raw_init(napi_env env) {
  vf_rx* rx = calloc(1, sizeof *rx);
  if (rx == NULL) return ENOMEM;
  napi_value buffer;
  void* data = NULL;
  if (napi_create_buffer(env, RX_BUFFER_SIZE, &data, &buffer) != napi_ok ||
      napi_create_reference(env, buffer, 1, &rx->value) != napi_ok) {
    free(rx);
    return ENOMEM;
  }
  rx->data = data;
  if (napi_set_instance_data(env, rx, free_rx, NULL) != napi_ok) {
    free(rx);
    return ENOMEM;
  }
  return 0;
}

uint8_t* vf_rx_buffer(napi_env env) {
  void* rx = NULL;
  if (napi_get_instance_data(env, &rx) != napi_ok || rx == NULL) return NULL;
  return ((vf_rx*)rx)->data;
}

static napi_value rx_buffer_value(napi_env env) {
  void* rx = NULL;
  napi_value v = NULL;
  if (napi_get_instance_data(env, &rx) != napi_ok || rx == NULL) return NULL;
  if (napi_get_reference_value(env, ((vf_rx*)rx)->value, &v) != napi_ok) return NULL;
  return v;
}

static void raw_release_js(vf_polled* p, bool teardown) {
  vf_raw* s = (vf_raw*)p;
  if (s->repeat_table_ref != NULL) napi_delete_reference(p->env, s->repeat_table_ref);
  s->repeat_table_ref = NULL;
  s->repeat_table = NULL;
}

static void disarm_all(vf_raw* s) {
  for (int v = 0; v < 256; v++) {
    free(s->repeat[v]);
    s->repeat[v] = NULL;
  }
}

static void raw_destroy(vf_polled* p) {
  disarm_all((vf_raw*)p);
  free(p);
}

/* Microseconds from the kernel's stamp to `now` (both CLOCK_REALTIME, as
 * SO_TIMESTAMPNS is), 0 without a stamp; clamped to 0 when the wall clock
 * stepped back in between, and to INT32_MAX. The age, not the stamp, goes
 * to JavaScript: it subtracts it from its own monotonic clock. */
static int32_t age_us(const struct timespec* arrived, const struct timespec* now) {
  if (arrived->tv_sec == 0 && arrived->tv_nsec == 0) return 0;
  int64_t us = ((int64_t)now->tv_sec - arrived->tv_sec) * 1000000 + (now->tv_nsec - arrived->tv_nsec) / 1000;
  if (us < 0) return 0;
  return us > INT32_MAX ? INT32_MAX : (int32_t)us;
}

static void report_error(napi_env env, napi_value cb, int err) {
  napi_value argv[1];
  argv[0] = vf_errno_value(env, err);
  vf_call_js(env, cb, 1, argv);
}

/* Datagrams being handed to JavaScript on this thread: they share the
 * environment's receive buffer, so a drain called from inside a handler
 * would overwrite the datagram that handler is still reading. */
static _Thread_local int rx_depth = 0;

/* Hands the `count` datagrams packed so far to `cb` as (null, buffer,
 * count), their ages taken now: JS adds what it spends on the records
 * before each. False when JS threw (reading stops). */
static bool hand_batch(vf_raw* s, napi_env env, napi_value cb, int count, int absorbed, const struct timespec* stamps) {
  struct timespec now = {0, 0};
  clock_gettime(CLOCK_REALTIME, &now);
  int32_t* records = (int32_t*)(s->rx_buffer + RX_DATA_SIZE);
  for (int i = 0; i < count; i++) records[i * RX_RECORD_INTS + 4] = age_us(&stamps[i], &now);
  napi_value argv[4];
  napi_get_null(env, &argv[0]);
  if ((argv[1] = rx_buffer_value(env)) == NULL || napi_create_int32(env, count, &argv[2]) != napi_ok ||
      napi_create_int32(env, absorbed, &argv[3]) != napi_ok)
    return false;
  s->handing_count = count;
  bool go_on = vf_call_js(env, cb, 4, argv);
  s->handing_count = -1;
  return go_on;
}

/* The VRID a datagram is for, -1 when too short to say (JS refuses it). */
static int datagram_vrid(const vf_raw* s, const uint8_t* d, size_t len) {
  if (s->family == AF_INET6) return len >= 2 ? d[1] : -1;
  if (len < 20) return -1;
  size_t hl = (size_t)(d[0] & 0x0f) * 4;
  return len >= hl + 2 && hl >= 20 ? d[hl + 1] : -1;
}

/* Whether a datagram is a repeat of the armed one: the same bytes (for IPv4
 * but the header's identification and checksum, which a sender changes per
 * packet), from the same sender to the same destination, with the same TTL
 * on the same interface. What JS would decide about it cannot differ. */
static bool is_repeat(const vf_raw* s, const vf_repeat* r, const uint8_t* d, size_t len, int ttl, unsigned ifindex,
                      const void* src, const void* dst) {
  size_t alen = s->family == AF_INET ? 4 : 16;
  if (r->len != len || r->ttl != ttl || r->ifindex != ifindex || r->has_dst != (dst != NULL)) return false;
  if (memcmp(r->src, src, alen) != 0 || (dst != NULL && memcmp(r->dst, dst, alen) != 0)) return false;
  if (s->family == AF_INET6) return memcmp(r->bytes, d, len) == 0;
  return memcmp(r->bytes, d, 4) == 0 && memcmp(r->bytes + 6, d + 6, 4) == 0 && memcmp(r->bytes + 12, d + 12, len - 12) == 0;
}

static double ms_of(const struct timespec* t) { return (double)t->tv_sec * 1e3 + (double)t->tv_nsec / 1e6; }

/* Reads every pending datagram, up to RX_BATCH_MAX, handing them to `cb`
 * in batches. Returns how many were handed over; stops early when JS throws. */
static int read_batch(vf_raw* s, napi_env env, napi_value cb) {
  struct sockaddr_storage from;
  union {
    char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(uint32_t)) +
             CMSG_SPACE(sizeof(struct timespec)) + 64];
    struct cmsghdr align;
  } control;
  struct timespec stamps[RX_BATCH_MAX];
  int32_t* records = (int32_t*)(s->rx_buffer + RX_DATA_SIZE);
  size_t alen = s->family == AF_INET ? 4 : 16;

  int i, handed = 0, count = 0, absorbed = 0;
  size_t used = 0;
  bool go_on = true;
  rx_depth++;
  for (i = 0; i < RX_BATCH_MAX && go_on && !s->base.closing; i++) {
    if (RX_DATA_SIZE - used < RX_SLOT + 32) {
      go_on = hand_batch(s, env, cb, count, absorbed, stamps);
      handed += count;
      count = 0;
      absorbed = 0;
      used = 0;
      if (!go_on) break;
    }
    struct iovec iov = {.iov_base = s->rx_buffer + used, .iov_len = RX_SLOT};
    struct msghdr msg = {
        .msg_name = &from,
        .msg_namelen = sizeof from,
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof control.buf,
    };
    ssize_t n = recvmsg(s->base.fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      int err = errno;
      if (count > 0 || absorbed > 0) {
        go_on = hand_batch(s, env, cb, count, absorbed, stamps);
        handed += count;
        count = 0;
        absorbed = 0;
      }
      if (go_on) report_error(env, cb, err);
      go_on = false;
      break;
    }

    int ttl = -1;
    unsigned ifindex = 0;
    const void* dst = NULL;
    const void* src = NULL;
    struct timespec arrived = {0, 0};
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
        memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
      } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        struct in_pktinfo* pi = (struct in_pktinfo*)CMSG_DATA(c);
        ifindex = (unsigned)pi->ipi_ifindex;
        dst = &pi->ipi_addr; /* the header's destination, not the local address */
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
        memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        struct in6_pktinfo* pi = (struct in6_pktinfo*)CMSG_DATA(c);
        ifindex = pi->ipi6_ifindex;
        dst = &pi->ipi6_addr;
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        memcpy(&s->kernel_drops, CMSG_DATA(c), sizeof s->kernel_drops);
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        memcpy(&arrived, CMSG_DATA(c), sizeof arrived);
      }
    }
    if (s->family == AF_INET)
      src = &((struct sockaddr_in*)&from)->sin_addr;
    else
      src = &((struct sockaddr_in6*)&from)->sin6_addr;

    /* The datagram as read (cut at the room it had), then its addresses. */
    size_t len = (size_t)n < iov.iov_len ? (size_t)n : iov.iov_len;
    const uint8_t* d = s->rx_buffer + used;
    int vrid = datagram_vrid(s, d, len);
    vf_repeat* armed = vrid >= 0 ? s->repeat[vrid] : NULL;
    if (armed != NULL) {
      if (s->repeat_table != NULL && is_repeat(s, armed, d, len, ttl, ifindex, src, dst)) {
        /* A Backup's plain advert again: JavaScript takes the count and the
         * latest arrival when it next looks (wire/socket/vrrp-socket.ts),
         * and nothing is packed for it. */
        /* The arrival moves from the kernel's wall-clock stamp to the
         * monotonic clock JavaScript's timers run on (two vDSO reads). */
        struct timespec mono_now, real_now;
        clock_gettime(CLOCK_MONOTONIC, &mono_now);
        clock_gettime(CLOCK_REALTIME, &real_now);
        double read_ms = ms_of(&mono_now);
        double arrived_ms = read_ms - age_us(&arrived, &real_now) / 1e3;
        double* slot = s->repeat_table + vrid * REPEAT_SLOT_DOUBLES;
        uint64_t seen = (uint64_t)slot[0];
        slot[3 + seen % REPEAT_RING] = arrived_ms;
        slot[0] = (double)(seen + 1);
        slot[1] = arrived_ms;
        slot[2] = read_ms;
        s->rx_buffer[RX_DATA_SIZE + RX_RECORDS_SIZE + absorbed] = (uint8_t)vrid;
        absorbed++;
        continue;
      }
      /* Anything else for the VRID goes to JavaScript, and so does what
       * follows it: the filter stands for the state JavaScript was in. */
      free(armed);
      s->repeat[vrid] = NULL;
    }
    size_t at = used + len;
    memcpy(s->rx_buffer + at, src, alen);
    if (dst != NULL) memcpy(s->rx_buffer + at + alen, dst, alen);
    int32_t* r = records + count * RX_RECORD_INTS;
    r[0] = (int32_t)used;
    r[1] = (int32_t)len;
    r[2] = ttl;
    r[3] = (int32_t)ifindex;
    r[4] = 0;
    r[5] = (int32_t)at;
    r[6] = dst != NULL ? (int32_t)(at + alen) : -1;
    r[7] = (int32_t)alen;
    stamps[count] = arrived;
    count++;
    /* The next datagram starts 8-byte aligned after these addresses. */
    used = (at + 2 * alen + 7) & ~(size_t)7;
  }
  if (go_on && (count > 0 || absorbed > 0)) {
    hand_batch(s, env, cb, count, absorbed, stamps);
    handed += count;
  }
  rx_depth--;
  if (i == RX_BATCH_MAX) s->full_batches++;
  return handed;
}

static void on_readable(uv_poll_t* h, int status, int events) {
  vf_raw* s = (vf_raw*)h->data;
  napi_env env = s->base.env;
  vf_polled_scope scope;
  napi_value cb;
  if (!vf_polled_enter(&s->base, &scope, &cb)) return;
  if (status < 0)
    report_error(env, cb, -status);
  else
    read_batch(s, env, cb);
  vf_polled_leave(&s->base, &scope);
}

static int set_int(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : errno;
}

/* Applies every option; on failure returns errno and names the option. */
static int configure(int fd, int family, const char* ifname, unsigned ifindex, bool multicast, int hops,
                     int rcvbuf, bool kernel_checksum, const char** failed) {
  int err;
#define STEP(name, expr)     \
  do {                       \
    if ((err = (expr))) {    \
      *failed = name;        \
      return err;            \
    }                        \
  } while (0)

  /* Without the binding, a raw socket sees protocol 112 from every
   * interface of the namespace; the ifindex check would then be the only
   * guard. */
  STEP("setsockopt SO_BINDTODEVICE",
       setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname) + 1) == 0 ? 0 : errno);
  if (rcvbuf > 0) {
    /* SO_RCVBUFFORCE ignores rmem_max (root only); measured: the ~212 KB
     * default dropped half of a 109k/s burst, 16 MB dropped nothing. */
    if (set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf) != 0)
      STEP("setsockopt SO_RCVBUF", set_int(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf));
  }
  /* The queue-overflow count rides on each received datagram: free to read. */
  STEP("setsockopt SO_RXQ_OVFL", set_int(fd, SOL_SOCKET, SO_RXQ_OVFL, 1));
  STEP("setsockopt SO_TIMESTAMPNS", set_int(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1));
  if (family == AF_INET) {
    STEP("setsockopt IP_RECVTTL", set_int(fd, IPPROTO_IP, IP_RECVTTL, 1));
    STEP("setsockopt IP_PKTINFO", set_int(fd, IPPROTO_IP, IP_PKTINFO, 1));
    STEP("setsockopt IP_TTL", set_int(fd, IPPROTO_IP, IP_TTL, hops));
    STEP("setsockopt IP_MULTICAST_TTL", set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, hops));
    STEP("setsockopt IP_MULTICAST_LOOP", set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0));
    /* Linux delivers every group joined by any socket on the host unless
     * this is off; a unicast-mode socket must not see multicast adverts. */
    STEP("setsockopt IP_MULTICAST_ALL", set_int(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0));
    struct ip_mreqn mr;
    memset(&mr, 0, sizeof mr);
    mr.imr_ifindex = (int)ifindex;
    STEP("setsockopt IP_MULTICAST_IF", setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr) == 0 ? 0 : errno);
    if (multicast) {
      inet_pton(AF_INET, "224.0.0.18", &mr.imr_multiaddr);
      STEP("setsockopt IP_ADD_MEMBERSHIP",
           setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) == 0 ? 0 : errno);
    }
  } else {
    STEP("setsockopt IPV6_RECVHOPLIMIT", set_int(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1));
    STEP("setsockopt IPV6_RECVPKTINFO", set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1));
    STEP("setsockopt IPV6_UNICAST_HOPS", set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, hops));
    STEP("setsockopt IPV6_MULTICAST_HOPS", set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, hops));
    STEP("setsockopt IPV6_MULTICAST_LOOP", set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0));
    STEP("setsockopt IPV6_MULTICAST_ALL", set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0));
    STEP("setsockopt IPV6_MULTICAST_IF", set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, (int)ifindex));
    if (kernel_checksum) {
      /* The VRRP checksum sits at offset 6; the kernel then fills it on
       * send (with the pseudo-header) and drops bad ones on receive. */
      STEP("setsockopt IPV6_CHECKSUM", set_int(fd, IPPROTO_IPV6, IPV6_CHECKSUM, 6));
    }
    if (multicast) {
      struct ipv6_mreq mr;
      memset(&mr, 0, sizeof mr);
      inet_pton(AF_INET6, "ff02::12", &mr.ipv6mr_multiaddr);
      mr.ipv6mr_interface = ifindex;
      STEP("setsockopt IPV6_JOIN_GROUP", setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof mr) == 0 ? 0 : errno);
    }
  }
#undef STEP
  return 0;
}

/* rawOpen({ family: 4|6, ifname, netns?, multicast, hops, rcvbuf, kernelChecksum }, callback)
 *   -> handle. callback(err, buffer, count): err is null or an errno name
 *   (then no other argument); otherwise `count` datagrams wait in `buffer`
 *   (the environment's receive buffer, valid during the call only), each
 *   described by a record of RX_RECORD_INTS int32s at RX_DATA_SIZE + 32 * i
 *   (see above; wire/socket/vrrp-socket.ts reads them). For IPv4 a datagram
 *   includes the IP header, as raw IPv4 sockets deliver it.
 * Throws an Error with an errno `code` when a syscall fails. */
/* A raw socket queues matching datagrams from the moment socket() returns,
 * before configure() binds it to its interface and asks for IP_PKTINFO: a
 * unicast advert that came in that window carries no ingress interface
 * (ifindex 0), may come from another interface, and was refused as
 * wrong-interface with a warning. Such datagrams are treated as if they had
 * come before the socket existed (bounded: only what arrived since socket()). */
static void discard_unconfigured(int fd) {
  char one;
  for (int i = 0; i < 4096; i++)
    if (recv(fd, &one, sizeof one, MSG_DONTWAIT | MSG_TRUNC) < 0) break;
}

napi_value vf_raw_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype t;
  if (argc < 2 || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    vf_throw_type(env, "rawOpen(options, callback)");
    return NULL;
  }
  int32_t family_num, hops, rcvbuf;
  bool multicast, kernel_checksum;
  char ifname[IF_NAMESIZE + 1], netns[256];
  if (!vf_get_int(env, argv[0], "family", 4, &family_num) || !vf_get_int(env, argv[0], "hops", 255, &hops) ||
      !vf_get_int(env, argv[0], "rcvbuf", 0, &rcvbuf) || !vf_get_bool(env, argv[0], "multicast", true, &multicast) ||
      !vf_get_bool(env, argv[0], "kernelChecksum", false, &kernel_checksum) ||
      !vf_get_string(env, argv[0], "ifname", ifname, sizeof ifname) ||
      !vf_get_string(env, argv[0], "netns", netns, sizeof netns))
    return NULL;
  if ((family_num != 4 && family_num != 6) || hops < 1 || hops > 255 || rcvbuf < 0 || ifname[0] == '\0') {
    vf_throw_type(env, "rawOpen: family 4|6, hops 1..255, rcvbuf >= 0 and ifname are required");
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
  unsigned ifindex = 0;
  int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, VRRP_PROTO);
  if (fd < 0) {
    err = errno;
  } else if ((ifindex = if_nametoindex(ifname)) == 0) {
    err = errno;
    failed = "if_nametoindex";
  } else {
    err = configure(fd, family, ifname, ifindex, multicast, hops, rcvbuf, kernel_checksum, &failed);
  }
  if (!err) discard_unconfigured(fd);
  vf_netns_leave(&guard);
  if (err) {
    if (fd >= 0) close(fd);
    vf_throw_errno(env, err, failed);
    return NULL;
  }

  vf_raw* s = calloc(1, sizeof *s);
  uint8_t* rx_buffer = vf_rx_buffer(env);
  if (s == NULL || rx_buffer == NULL) {
    free(s);
    close(fd);
    vf_throw_errno(env, ENOMEM, "calloc");
    return NULL;
  }
  s->base.release_js = raw_release_js;
  s->base.destroy = raw_destroy;
  s->rx_buffer = rx_buffer;
  s->handing_count = -1;
  s->family = family;
  s->ifindex = ifindex;
  napi_value handle;
  if (!vf_polled_start(env, &s->base, fd, argv[1], "vipflow:VrrpSocket", on_readable, &handle)) return NULL;
  return handle;
}

static vf_raw* get_handle(napi_env env, napi_value v) {
  return (vf_raw*)vf_polled_get(env, v, "expected a raw socket handle");
}

/* The socket of a JS call whose only argument is the handle; NULL after
 * throwing (`usage` when it is missing). */
static vf_raw* only_handle_arg(napi_env env, napi_callback_info info, const char* usage) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    vf_throw_napi_failure(env, "napi_get_cb_info failed");
    return NULL;
  }
  if (argc < 1) {
    vf_throw_type(env, usage);
    return NULL;
  }
  return get_handle(env, argv[0]);
}

/* rawSend(handle, payload, destination, source|null) -> null | errno name.
 * The kernel builds the IP header (TTL / hop limit from the socket); the
 * source is chosen through IP_PKTINFO / IPV6_PKTINFO on the bound
 * interface. A link-local IPv6 destination is scoped to that interface. */
napi_value vf_raw_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    vf_throw_type(env, "rawSend(handle, payload, destination, source)");
    return NULL;
  }
  vf_raw* s = get_handle(env, argv[0]);
  if (s == NULL) return NULL;
  void* data;
  size_t len;
  bool is_buf = false;
  if (napi_is_buffer(env, argv[1], &is_buf) != napi_ok || !is_buf ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    vf_throw_type(env, "payload must be a Buffer");
    return NULL;
  }
  char dst_text[INET6_ADDRSTRLEN + 1], src_text[INET6_ADDRSTRLEN + 1];
  if (!vf_value_string(env, argv[2], dst_text, sizeof dst_text) ||
      !vf_value_string(env, argv[3], src_text, sizeof src_text))
    return NULL;
  if (s->base.closing) return vf_errno_value(env, EBADF);

  struct sockaddr_storage to;
  memset(&to, 0, sizeof to);
  socklen_t tolen;
  union {
    char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = {.iov_base = data, .iov_len = len};
  struct msghdr msg = {.msg_name = &to, .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf};
  struct cmsghdr* c = (struct cmsghdr*)control.buf;

  if (s->family == AF_INET) {
    struct sockaddr_in* sin = (struct sockaddr_in*)&to;
    sin->sin_family = AF_INET;
    if (inet_pton(AF_INET, dst_text, &sin->sin_addr) != 1) return vf_errno_value(env, EINVAL);
    tolen = sizeof *sin;
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    pi.ipi_ifindex = (int)s->ifindex;
    if (src_text[0] != '\0' && inet_pton(AF_INET, src_text, &pi.ipi_spec_dst) != 1)
      return vf_errno_value(env, EINVAL);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
    msg.msg_controllen = CMSG_SPACE(sizeof pi);
  } else {
    struct sockaddr_in6* sin6 = (struct sockaddr_in6*)&to;
    sin6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, dst_text, &sin6->sin6_addr) != 1) return vf_errno_value(env, EINVAL);
    if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&sin6->sin6_addr))
      sin6->sin6_scope_id = s->ifindex;
    tolen = sizeof *sin6;
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    pi.ipi6_ifindex = s->ifindex;
    if (src_text[0] != '\0' && inet_pton(AF_INET6, src_text, &pi.ipi6_addr) != 1)
      return vf_errno_value(env, EINVAL);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
    msg.msg_controllen = CMSG_SPACE(sizeof pi);
  }
  msg.msg_namelen = tolen;
  ssize_t n;
  do {
    n = sendmsg(s->base.fd, &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return vf_errno_value(env, errno);
  napi_value nul;
  napi_get_null(env, &nul);
  return nul;
}

/* rawClose(handle): idempotent; the fd is closed once libuv released it. */
napi_value vf_raw_close(napi_env env, napi_callback_info info) {
  return vf_polled_close_js(env, info, "rawClose(handle)", "expected a raw socket handle");
}

/* rawRef(handle, bool): whether an open socket keeps the event loop alive. */
napi_value vf_raw_ref(napi_env env, napi_callback_info info) {
  return vf_polled_ref_js(env, info, "rawRef(handle, boolean)", "expected a raw socket handle");
}

/* rawIfindex(handle) -> the bound interface's index (in its namespace). */
napi_value vf_raw_ifindex(napi_env env, napi_callback_info info) {
  napi_value out;
  vf_raw* s = only_handle_arg(env, info, "rawIfindex(handle)");
  if (s == NULL) return NULL;
  NAPI_TRY(env, napi_create_uint32(env, s->ifindex, &out));
  return out;
}

/* rawStats(handle) -> { kernelDrops, fullBatches }: datagrams the kernel
 * dropped for a full receive queue (as of the last datagram read), and
 * wake-ups cut at the batch bound with more pending. */
napi_value vf_raw_stats(napi_env env, napi_callback_info info) {
  napi_value out, v;
  vf_raw* s = only_handle_arg(env, info, "rawStats(handle)");
  if (s == NULL) return NULL;
  NAPI_TRY(env, napi_create_object(env, &out));
  NAPI_TRY(env, napi_create_uint32(env, s->kernel_drops, &v));
  NAPI_TRY(env, napi_set_named_property(env, out, "kernelDrops", v));
  NAPI_TRY(env, napi_create_uint32(env, s->full_batches, &v));
  NAPI_TRY(env, napi_set_named_property(env, out, "fullBatches", v));
  return out;
}

/* rawPause(handle, bool): stops (true) or resumes (false) watching the socket
 * for datagrams. Paused, datagrams wait in the kernel queue and cost no
 * wake-up until a resume or a drain: receive moderation for Backups
 * (wire/socket/receive-moderation.ts). */
napi_value vf_raw_pause(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool paused = false;
  if (argc < 2 || napi_get_value_bool(env, argv[1], &paused) != napi_ok) {
    vf_throw_type(env, "rawPause(handle, boolean)");
    return NULL;
  }
  vf_raw* s = get_handle(env, argv[0]);
  if (s == NULL) return NULL;
  int rc = vf_polled_pause(&s->base, paused);
  if (rc != 0) return vf_errno_value(env, -rc);
  napi_value nul;
  napi_get_null(env, &nul);
  return nul;
}

/* rawDrain(handle) -> count: reads the pending datagrams now, handing each to
 * the socket's callback before returning (as a readiness callback would);
 * -1 when called from inside a receive callback, whose datagram the drain
 * would overwrite. A callback's exception is reported as uncaught, as from a
 * readiness callback. */
napi_value vf_raw_drain(napi_env env, napi_callback_info info) {
  napi_value out, cb;
  vf_raw* s = only_handle_arg(env, info, "rawDrain(handle)");
  if (s == NULL) return NULL;
  int handed = 0;
  if (rx_depth > 0)
    handed = -1;
  else if (!s->base.closing && s->base.callback != NULL &&
           napi_get_reference_value(env, s->base.callback, &cb) == napi_ok && cb != NULL)
    handed = read_batch(s, env, cb);
  NAPI_TRY(env, napi_create_int32(env, handed, &out));
  return out;
}

/* rawRepeatTable(handle, Float64Array) -> null | errno name: where this
 * socket counts the repeats it absorbs, REPEAT_SLOT_DOUBLES per VRID (256
 * VRIDs). Held by reference until the socket closes; a later call replaces
 * it. */
napi_value vf_raw_repeat_table(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t length = 0;
  void* data = NULL;
  if (argc < 2 || !vf_typed_array(env, argv[1], napi_float64_array, &data, &length) || length < 256 * REPEAT_SLOT_DOUBLES) {
    vf_throw_type(env, "rawRepeatTable(handle, Float64Array of 256 * 11)");
    return NULL;
  }
  vf_raw* s = get_handle(env, argv[0]);
  if (s == NULL) return NULL;
  if (s->base.closing) return vf_errno_value(env, EBADF);
  napi_ref ref;
  NAPI_TRY(env, napi_create_reference(env, argv[1], 1, &ref));
  if (s->repeat_table_ref != NULL) napi_delete_reference(env, s->repeat_table_ref);
  s->repeat_table_ref = ref;
  s->repeat_table = data;
  napi_value nul;
  napi_get_null(env, &nul);
  return nul;
}

/* rawRepeatArm(handle, vrid, record) -> boolean: from now on, datagrams for
 * `vrid` that repeat the batch's record `record` exactly (is_repeat) are
 * counted in the repeat table instead of handed to JavaScript, until any
 * other datagram for `vrid` comes (it is handed over, and ends the filter)
 * or rawRepeatDisarm. Only during this socket's receive callback, whose
 * batch the record is in: false otherwise, or for a record of another VRID. */
napi_value vf_raw_repeat_arm(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t vrid = -1, record = -1;
  if (argc < 3 || napi_get_value_int32(env, argv[1], &vrid) != napi_ok ||
      napi_get_value_int32(env, argv[2], &record) != napi_ok || vrid < 0 || vrid > 255) {
    vf_throw_type(env, "rawRepeatArm(handle, vrid 0..255, record)");
    return NULL;
  }
  vf_raw* s = get_handle(env, argv[0]);
  if (s == NULL) return NULL;
  bool ok = false;
  if (!s->base.closing && s->repeat_table != NULL && record >= 0 && record < s->handing_count) {
    const int32_t* r = (const int32_t*)(s->rx_buffer + RX_DATA_SIZE) + record * RX_RECORD_INTS;
    const uint8_t* d = s->rx_buffer + r[0];
    size_t len = (size_t)r[1];
    size_t alen = (size_t)r[7];
    if (datagram_vrid(s, d, len) == vrid && alen <= 16) {
      vf_repeat* rep = malloc(sizeof *rep + len);
      if (rep != NULL) {
        rep->len = (uint32_t)len;
        rep->ttl = r[2];
        rep->ifindex = (uint32_t)r[3];
        memcpy(rep->src, s->rx_buffer + r[5], alen);
        rep->has_dst = r[6] >= 0;
        if (rep->has_dst) memcpy(rep->dst, s->rx_buffer + r[6], alen);
        memcpy(rep->bytes, d, len);
        free(s->repeat[vrid]);
        s->repeat[vrid] = rep;
        ok = true;
      }
    }
  }
  napi_value out;
  NAPI_TRY(env, napi_get_boolean(env, ok, &out));
  return out;
}

/* rawRepeatDisarm(handle, vrid): every later datagram for `vrid` goes to
 * JavaScript again. What was absorbed stays in the table. */
napi_value vf_raw_repeat_disarm(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t vrid = -1;
  if (argc < 2 || napi_get_value_int32(env, argv[1], &vrid) != napi_ok || vrid < 0 || vrid > 255) {
    vf_throw_type(env, "rawRepeatDisarm(handle, vrid 0..255)");
    return NULL;
  }
  vf_raw* s = get_handle(env, argv[0]);
  if (s == NULL) return NULL;
  free(s->repeat[vrid]);
  s->repeat[vrid] = NULL;
  napi_value nul;
  napi_get_null(env, &nul);
  return nul;
}
