import type { ReceivedPacket, VrrpSocket } from '../../wire/socket/index.js';

/** Keeps every packet a socket receives so a test can wait for several kinds at once. */
export interface PacketCollector {
  readonly packets: ReceivedPacket[];
  /** The first packet (already received or future) that matches, or a rejection after timeoutMs. */
  waitFor(match: (p: ReceivedPacket) => boolean, timeoutMs: number): Promise<ReceivedPacket>;
}

export function collect(sock: VrrpSocket): PacketCollector {
  const packets: ReceivedPacket[] = [];
  const waiters = new Set<(p: ReceivedPacket) => void>();
  sock.onPacket((p) => {
    if (packets.length < 10_000) packets.push(p);
    for (const w of [...waiters]) w(p);
  });
  return {
    packets,
    waitFor(match, timeoutMs) {
      const seen = packets.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = (p: ReceivedPacket) => {
          if (!match(p)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          resolve(p);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching packet within ${timeoutMs} ms (got ${packets.length})`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}
