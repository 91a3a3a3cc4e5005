/**
 * PING_CHECK (keepalived's check_ping.c): the server is up when an ICMP echo
 * request (ICMPv6 for an IPv6 real server) to it, or to connect_ip, is answered
 * by a matching echo reply within connect_timeout. An ICMP error quoting the
 * request (unreachable, prohibited, TTL exceeded) fails it at once.
 * keepalived's own socket per checker fails on any message that is not the
 * awaited reply; on a socket shared by every checker, a message for another
 * request is that request's business and is ignored here.
 * bindto sets the source address and bind_if the interface (it also scopes a
 * link-local destination); the ports of conn_opts mean nothing to ICMP and are
 * ignored, as in keepalived.
 */
import { isIP } from 'node:net';
import { silentLogger } from '../../../core/logger.js';
import { EchoPool, type EchoOutcome } from './echo-channel.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, fail, type ConnectOptions, type ProbeContext, type ProbeResult, type ProbeTarget } from './types.js';

export interface PingProbeOptions extends ConnectOptions {
  /** bind_if: the interface requests leave by */
  bindIf?: string;
  /** a named network namespace to ping from (the lab's tests); the daemon's own when absent */
  netns?: string;
  /** the sockets to use; one pool shared by every ping checker of the process by default */
  pool?: EchoPool;
}

let shared: EchoPool | undefined;

/** The process's echo sockets (created on first use). */
export function sharedEchoPool(): EchoPool {
  shared ??= new EchoPool({ logger: silentLogger() });
  return shared;
}

export async function pingProbe(target: ProbeTarget, options: PingProbeOptions, ctx: ProbeContext = {}): Promise<ProbeResult> {
  try {
    const dst = options.connectIp ?? target.address;
    const family = isIP(dst);
    if (family === 0) return fail('config', `${dst} is not an IP address`);
    if (options.bindto !== undefined && isIP(options.bindto) !== family) return fail('config', `bindto ${options.bindto} is not IPv${family} like ${dst}`);
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const pool = options.pool ?? sharedEchoPool();
    const outcome = await pool.echo(
      { family: family === 4 ? 4 : 6, netns: options.netns, bindto: options.bindto, bindIf: options.bindIf },
      dst,
      timeoutMs,
      ctx.signal,
    );
    return resultOf(outcome, dst, timeoutMs);
  } catch (err) {
    return fail('connect', `unexpected: ${String(err)}`);
  }
}

/** Failures sendto reports at once: no route, or a local firewall rule (EPERM). keepalived counts them as connect_error too. */
const UNREACHABLE_CODES = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'EPERM']);

function resultOf(o: EchoOutcome, dst: string, timeoutMs: number): ProbeResult {
  const what = `ping ${dst}`;
  switch (o.kind) {
    case 'reply':
      return { ok: true, detail: `${what}: echo reply in ${o.rttMs.toFixed(1)} ms` };
    case 'icmp-error':
      return fail('unreachable', `${what}: ${o.text} (ICMP from ${o.from})`);
    case 'timeout':
      return fail('timeout', `${what}: no echo reply within ${timeoutMs} ms`);
    case 'aborted':
      return fail('aborted', `${what}: aborted`);
    case 'send-failed':
      return fail(UNREACHABLE_CODES.has(o.code) ? 'unreachable' : 'connect', `${what}: ${o.message}`);
    case 'socket-failed':
      return fail('connect', `${what}: cannot open an ICMP socket: ${o.message}`);
  }
}
