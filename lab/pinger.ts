/**
 * A client pinging one IPv4 address from a lab node every few ms (Debian's
 * iputils ping is not installed here): one raw ICMP socket opened in the
 * node's namespace by the wire addon, echo requests from this process's event
 * loop, replies matched by sequence. Times are epoch ms
 * (performance.timeOrigin + performance.now()), comparable with a
 * SeenTransition's seenAt once the same origin is added.
 */
import { silentLogger } from '../core/logger.js';
import { encodeEchoRequest } from '../wire/codec/index.js';
import { openIcmpSocket } from '../wire/socket/index.js';
import type { Lab } from './lab.js';

export interface EchoReply {
  sequence: number;
  sentAt: number;
  at: number;
}

export interface Pinger {
  /** Stops sending, waits `graceMs` for late replies, closes the socket. */
  stop(graceMs?: number): Promise<{ sentAt: number[]; replies: EchoReply[] }>;
}

const nowMs = () => performance.timeOrigin + performance.now();

/**
 * Starts pinging `target` from `node` every `intervalMs`, at most `maxCount`
 * requests (sequence numbers are 16 bits); throws when the socket cannot be opened.
 */
export function startPinger(lab: Lab, node: string, target: string, intervalMs: number, maxCount = 60_000): Pinger {
  const opened = openIcmpSocket({ family: 4, netns: lab.node(node).ns, logger: silentLogger() });
  if (!opened.ok) throw new Error(`pinger in ${node}: ${opened.code}`);
  const socket = opened.value;
  const identifier = (process.pid ^ 0x5a5a) & 0xffff;
  const sentAt: number[] = [];
  const replies: EchoReply[] = [];
  const seen = new Set<number>();
  socket.onMessage((m) => {
    if (m.kind !== 'echo-reply' || m.identifier !== identifier || seen.has(m.sequence) || m.sequence >= sentAt.length) return;
    seen.add(m.sequence);
    replies.push({ sequence: m.sequence, sentAt: sentAt[m.sequence]!, at: nowMs() });
  });
  socket.onError(() => undefined);
  const payload = Buffer.alloc(16);
  const timer = setInterval(() => {
    if (sentAt.length >= maxCount) return;
    const sequence = sentAt.length;
    sentAt.push(nowMs());
    socket.send(encodeEchoRequest(4, { identifier, sequence }, payload), target);
  }, intervalMs);
  return {
    async stop(graceMs = 200) {
      clearInterval(timer);
      await new Promise((r) => setTimeout(r, graceMs));
      socket.close();
      return { sentAt, replies };
    },
  };
}
