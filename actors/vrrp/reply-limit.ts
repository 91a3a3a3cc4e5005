/**
 * Bounds a Master's immediate answers to other routers' adverts (the advert it
 * sends at once for a priority-0 or a lower-priority advert, RFC 5798 §6.4.3,
 * RFC 9568, keepalived's "forcing new election").
 *
 * Answered one for one, a flood of 20,000 valid lower-priority adverts a
 * second made the Master send 20,000 multicast adverts a second to the whole
 * LAN (issue 19). One answer per sender per advert interval is all a real
 * peer needs (it sends one advert per interval itself), and a small total cap
 * per interval bounds a flood from many (spoofed) sources: whatever arrives,
 * the Master sends at most (1 + TOTAL_PER_INTERVAL) adverts per interval.
 *
 * Deterministic: times come from the machine's clock; the per-sender memory
 * is a small LRU, so its size is bounded whatever the number of sources.
 */

/** Answers per advert interval, all senders together. */
export const TOTAL_PER_INTERVAL = 3;
/** Senders remembered; an evicted one may be answered early, still within the total cap. */
export const SENDERS_REMEMBERED = 64;

export interface ReplyLimiter {
  /** Clock times of the last TOTAL_PER_INTERVAL answers, a ring (oldest at `next`). */
  readonly recent: number[];
  next: number;
  /** Last answer time by sender key, in least-recently-answered-first order. */
  readonly bySender: Map<string, number>;
}

export function newReplyLimiter(): ReplyLimiter {
  return { recent: new Array<number>(TOTAL_PER_INTERVAL).fill(-Infinity), next: 0, bySender: new Map() };
}

/** A map key for an address (4 or 16 bytes) without formatting it. */
export function senderKey(source: Uint8Array): string {
  return String.fromCharCode(...source);
}

/** Whether an answer to `key` may go out at `now` (reads only). */
export function replyAllowed(limiter: ReplyLimiter, key: string, now: number, intervalMs: number): boolean {
  if (now - limiter.recent[limiter.next]! < intervalMs) return false;
  const last = limiter.bySender.get(key);
  return last === undefined || now - last >= intervalMs;
}

/** Records an answer to `key` at `now`. */
export function recordReply(limiter: ReplyLimiter, key: string, now: number): void {
  limiter.recent[limiter.next] = now;
  limiter.next = (limiter.next + 1) % limiter.recent.length;
  limiter.bySender.delete(key);
  limiter.bySender.set(key, now);
  if (limiter.bySender.size > SENDERS_REMEMBERED) {
    const oldest = limiter.bySender.keys().next();
    if (!oldest.done) limiter.bySender.delete(oldest.value);
  }
}
