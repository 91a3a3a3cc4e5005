/**
 * The connection step every network checker shares (keepalived's
 * tcp_bind_connect + tcp_socket_state): connect to connect_ip:connect_port, or
 * to the real server, from bindto:bind_port when set, within connect_timeout.
 */
import { connect as netConnect, isIPv6, type Socket } from 'node:net';
import { DEFAULT_CONNECT_TIMEOUT_MS, fail, type ConnectOptions, type ProbeResult, type ProbeTarget } from './types.js';

export interface Destination {
  host: string;
  port: number;
  family: 4 | 6;
}

/** Where the checker connects: connect_ip / connect_port override the real server's (keepalived's co->dst). */
export function destination(target: ProbeTarget, options: ConnectOptions): Destination {
  const host = options.connectIp ?? target.address;
  return { host, port: options.connectPort ?? target.port, family: isIPv6(host) ? 6 : 4 };
}

export type Connected = { ok: true; socket: Socket } | { ok: false; result: ProbeResult };

/** Maps a socket error to a probe failure; ECONNREFUSED is keepalived's connect_error, the rest connect_fail. */
export function errorResult(err: unknown, what: string): ProbeResult {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ECONNREFUSED') return fail('refused', `${what}: connection refused`);
  if (code === 'ETIMEDOUT') return fail('timeout', `${what}: ${message}`);
  return fail('connect', `${what}: ${message}`);
}

/**
 * Opens a TCP connection. Resolves (never rejects) with the socket or the
 * failure: refused, timeout after `connectTimeoutMs`, aborted, or another error.
 */
export function openTcp(dst: Destination, options: ConnectOptions, signal?: AbortSignal): Promise<Connected> {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const what = `connect to ${dst.family === 6 ? `[${dst.host}]` : dst.host}:${dst.port}`;
  return new Promise<Connected>((resolve) => {
    if (signal?.aborted) {
      resolve({ ok: false, result: fail('aborted', `${what}: aborted`) });
      return;
    }
    let socket: Socket;
    try {
      socket = netConnect({
        host: dst.host,
        port: dst.port,
        family: dst.family,
        ...(options.bindto !== undefined ? { localAddress: options.bindto } : {}),
        ...(options.bindPort !== undefined ? { localPort: options.bindPort } : {}),
      });
    } catch (err) {
      resolve({ ok: false, result: errorResult(err, what) });
      return;
    }
    let settled = false;
    const done = (value: Connected) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      socket.removeListener('connect', onConnect);
      if (!value.ok) socket.destroy();
      resolve(value);
    };
    const onError = (err: Error) => done({ ok: false, result: errorResult(err, what) });
    const onConnect = () => done({ ok: true, socket });
    const onAbort = () => done({ ok: false, result: fail('aborted', `${what}: aborted`) });
    // Timers run before I/O in each loop turn: on a busy loop a connect that completed in time
    // would lose to its own timeout. One setImmediate lets this turn's I/O (the connect event) go first.
    const timer = setTimeout(() => setImmediate(() => done({ ok: false, result: fail('timeout', `${what}: no answer within ${timeoutMs} ms`) })), timeoutMs);
    socket.once('error', onError);
    socket.once('connect', onConnect);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
