/** systemd's notification socket (sd_notify(3)): Node has no AF_UNIX datagram sockets, the addon sends them. */
import { nativeWire } from './native.js';

/**
 * Sends `message` (newline-separated VAR=value lines such as `READY=1`) to
 * `socket`, NOTIFY_SOCKET's value: a path or `@name` for an abstract socket.
 * Returns null once sent, or an errno name (ENOENT, ECONNREFUSED, EAGAIN, EINVAL...).
 */
export function sdNotify(socket: string, message: string): string | null {
  return nativeWire().sdNotify(socket, message);
}
