/**
 * TCP_CHECK (keepalived's check_tcp.c: tcp_connect_thread, tcp_check_thread):
 * the server is up when a TCP connection to it (or to connect_ip:connect_port,
 * from bindto:bind_port) completes within connect_timeout. keepalived closes
 * the connection at once without sending anything; so does this probe.
 */
import { destination, openTcp } from './connect.js';
import type { ConnectOptions, ProbeContext, ProbeResult, ProbeTarget } from './types.js';

export type TcpProbeOptions = ConnectOptions;

export async function tcpProbe(target: ProbeTarget, options: TcpProbeOptions, ctx: ProbeContext = {}): Promise<ProbeResult> {
  try {
    const dst = destination(target, options);
    const started = performance.now();
    const c = await openTcp(dst, options, ctx.signal);
    if (!c.ok) return c.result;
    const local = `${c.socket.localAddress ?? '?'}:${c.socket.localPort ?? '?'}`;
    c.socket.destroy();
    return { ok: true, detail: `connected to ${dst.host}:${dst.port} from ${local} in ${Math.round(performance.now() - started)} ms` };
  } catch (err) {
    return { ok: false, reason: 'connect', detail: `unexpected: ${String(err)}` };
  }
}
