/* systemd's service notification (sd_notify(3)) without libsystemd: one
 * AF_UNIX datagram per message. Node has no AF_UNIX datagram sockets. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"
#include "sd_notify.h"

/* sdNotify(socket, message) -> null | errno name. `socket` is NOTIFY_SOCKET as
 * systemd sets it: a path, or '@name' for an abstract socket (the '@' stands
 * for the leading NUL byte, and the address is not NUL-terminated). The send
 * never blocks: a full queue of a stuck manager is EAGAIN, not a stalled loop. */
napi_value vf_sd_notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[sizeof(((struct sockaddr_un*)0)->sun_path) + 1];
  char message[4096];
  size_t path_len = 0, message_len = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_len) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], message, sizeof message, &message_len) != napi_ok) {
    vf_throw_type(env, "sdNotify(socketPath, message)");
    return NULL;
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  /* A value that filled the buffer was cut: refuse it rather than send to another name. */
  if (path_len < 2 || path_len >= sizeof addr.sun_path || (path[0] != '/' && path[0] != '@')) return vf_errno_value(env, EINVAL);
  if (message_len >= sizeof message - 1) return vf_errno_value(env, EMSGSIZE);
  memcpy(addr.sun_path, path, path_len);
  socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  else addr_len += 1;

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return vf_errno_value(env, errno);
  ssize_t sent = sendto(fd, message, message_len, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr*)&addr, addr_len);
  int err = sent < 0 ? errno : 0;
  close(fd);
  if (err != 0) return vf_errno_value(env, err);
  napi_value nothing;
  NAPI_TRY(env, napi_get_null(env, &nothing));
  return nothing;
}
