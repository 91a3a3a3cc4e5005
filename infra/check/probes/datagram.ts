/**
 * The datagram exchange DNS_CHECK and UDP_CHECK share (keepalived's
 * udp_bind_connect / socket_bind_connect): a UDP socket bound to
 * bindto:bind_port when set, connected to connect_ip:connect_port or the real
 * server, one datagram sent, then replies handed to `onReply` until it settles
 * the exchange or connect_timeout passes.
 *
 * The socket is connected, as keepalived's is, so that Linux reports an ICMP
 * destination unreachable for the datagram as an error on the socket: Node's
 * dgram emits it as an 'error' event (ECONNREFUSED from recvmsg for port
 * unreachable, EHOSTUNREACH / ENETUNREACH for the others).
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Destination } from './connect.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, fail, type ConnectOptions, type ProbeResult } from './types.js';

/** What a reply does to the exchange: settle it with a result, or keep waiting (a stray or foreign datagram). */
export type ReplyVerdict = ProbeResult | 'ignore';

export interface DatagramSpec {
  dst: Destination;
  payload: Uint8Array;
  onReply(reply: Buffer): ReplyVerdict;
  /** the result when connect_timeout passes without a settling reply */
  onTimeout(timeoutMs: number): ProbeResult;
  signal?: AbortSignal;
}

export function addressText(dst: Destination): string {
  return dst.family === 6 ? `[${dst.host}]:${dst.port}` : `${dst.host}:${dst.port}`;
}

/** An ICMP error or a socket failure as a probe result: port unreachable is 'refused', like a TCP RST. */
function socketError(err: NodeJS.ErrnoException, what: string): ProbeResult {
  if (err.code === 'ECONNREFUSED') return fail('refused', `${what}: ICMP port unreachable`);
  if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH')
    return fail('connect', `${what}: ICMP ${err.code === 'EHOSTUNREACH' ? 'host' : 'network'} unreachable`);
  return fail('connect', `${what}: ${err.code ?? ''} ${err.message}`.trim());
}

/** Sends one datagram and waits for the reply `onReply` accepts. Resolves, never rejects. */
export function exchangeDatagram(spec: DatagramSpec, options: ConnectOptions): Promise<ProbeResult> {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const what = `udp ${addressText(spec.dst)}`;
  return new Promise<ProbeResult>((resolve) => {
    if (spec.signal?.aborted) {
      resolve(fail('aborted', `${what}: aborted`));
      return;
    }
    let socket: Socket;
    try {
      socket = createSocket({ type: spec.dst.family === 6 ? 'udp6' : 'udp4' });
    } catch (err) {
      resolve(socketError(err as NodeJS.ErrnoException, what));
      return;
    }
    let settled = false;
    const done = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
      socket.removeAllListeners('message');
      // Errors after the result (a late ICMP, close racing a send) must not become uncaught.
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(r);
    };
    const onAbort = (): void => done(fail('aborted', `${what}: aborted`));
    const timer = setTimeout(() => done(spec.onTimeout(timeoutMs)), timeoutMs);
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err: NodeJS.ErrnoException) => done(socketError(err, what)));
    socket.on('message', (msg) => {
      let v: ReplyVerdict;
      try {
        v = spec.onReply(msg);
      } catch (err) {
        v = fail('protocol', `${what}: reply not understood: ${String(err)}`);
      }
      if (v !== 'ignore') done(v);
    });
    const connect = (): void => {
      socket.connect(spec.dst.port, spec.dst.host, () => {
        if (settled) return;
        socket.send(spec.payload, (err) => {
          if (err) done(socketError(err as NodeJS.ErrnoException, `${what}: send`));
        });
      });
    };
    try {
      if (options.bindto !== undefined || options.bindPort !== undefined) {
        socket.bind({ ...(options.bindto !== undefined ? { address: options.bindto } : {}), port: options.bindPort ?? 0, exclusive: true }, connect);
      } else connect();
    } catch (err) {
      done(socketError(err as NodeJS.ErrnoException, what));
    }
  });
}
