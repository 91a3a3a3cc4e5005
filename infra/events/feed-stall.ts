/**
 * When a feed (a stream read through an ordered consumer) is stuck, judged from
 * the stream rather than from the consumer (pure; fleet-hub.ts does the I/O).
 *
 * Why the stream: nats.js's ordered consumers have one copy. When the hub server
 * holding it dies, nats-server 2.9 leaves the consumer assigned there and never
 * answers for it: its info requests time out, and nats.js, which recreates an
 * ordered consumer only once the server says it is gone, keeps asking forever.
 * Missed heartbeats cannot tell this apart either (2.9.10 reports them for an idle
 * healthy pull). The stream, an R3 mirror, re-elects a leader that answers for it;
 * when it holds messages past the last one the feed delivered, and the feed makes
 * no progress while that lag lasts, the consumer is stuck.
 */

export interface FeedProgress {
  /** Stream sequence the feed has covered: the last message delivered, or the stream's end when nothing was left to deliver. */
  position: number;
  /** When the feed last delivered a message (or was opened). */
  progressAt: number;
  /** When the stream was first seen holding messages past `position`, since the last time it was not; null when it was not. */
  lagSince: number | null;
}

export interface StallVerdict {
  progress: FeedProgress;
  /** Messages the stream holds past the feed's position (0 when none). */
  lag: number;
  stuck: boolean;
}

export const openedProgress = (position: number, now: number): FeedProgress => ({ position, progressAt: now, lagSince: null });

/** A message with stream sequence `seq` delivered at `now`; sequences at or below the position are repeats and change nothing. */
export function delivered(p: FeedProgress, seq: number, now: number): FeedProgress {
  if (seq <= p.position) return p;
  return { ...p, position: seq, progressAt: now };
}

/**
 * The stream's last sequence as read at `now`, judged: stuck when the stream has
 * held messages past the feed's position for `stallMs`, and the feed delivered
 * nothing for `stallMs` either. A lag just appeared is not stuck yet (the message
 * may be on its way), nor is a slow feed that keeps delivering.
 */
export function judgeFeed(p: FeedProgress, streamLastSeq: number, now: number, stallMs: number): StallVerdict {
  const lag = Math.max(0, streamLastSeq - p.position);
  if (lag === 0) return { progress: p.lagSince === null ? p : { ...p, lagSince: null }, lag, stuck: false };
  const lagSince = p.lagSince ?? now;
  const progress = p.lagSince === null ? { ...p, lagSince } : p;
  const stuck = now - lagSince >= stallMs && now - p.progressAt >= stallMs;
  return { progress, lag, stuck };
}
