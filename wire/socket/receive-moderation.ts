/**
 * Receive moderation: a socket whose instances are all Backups stops being
 * watched for a few milliseconds after a datagram that came close behind
 * another, and is read in one batch when that time is up. A Backup's CPU is
 * mostly the cost of waking for each advert, not of handling it: measured
 * with 150 instances at 1 s adverts, the daemon woke 55 times a second for
 * about 290 µs each, where the same JavaScript handles an advert in under
 * 10 µs warm (bench/runner-path.ts). keepalived's Master sends the adverts
 * of instances that became Master together in one burst; ours are as spread
 * as its are, so batching has to happen on the receiving side.
 *
 * Why it is safe for a Backup: RFC 5798 §6.4.2 has a Backup act on an advert
 * only by resetting its Master_Down_Timer, and the machine counts that timer
 * from the kernel's receive stamp (actors/vrrp/machine.ts, arrivalOf), so an
 * advert read a few milliseconds late moves no deadline. The one thing a
 * late read could change is a takeover: before a takeover timer fires, the
 * daemon drains every held socket (drainAll, from PreciseTimer's beforeFire),
 * so the timer only fires if no advert that would have re-armed it is
 * waiting. A priority-0 advert (a Master leaving) is read up to one hold
 * later, which delays that handover by at most the hold: a tenth of an
 * advert interval, and never more than 100 ms.
 *
 * Holds end on a grid of whole multiples of their length, so every socket
 * held for the same length resumes on the same turn of the event loop: one
 * wake-up for all of them.
 */

/** What the moderator needs of a socket (vrrp-socket.ts gives it). */
export interface HeldSocket {
  /** Stop watching for datagrams (they wait in the kernel queue). */
  pause(): void;
  /** Watch again: what waits is read on this turn of the loop. False when the socket could not be watched again. */
  resume(): boolean;
  /** Read what waits now, handing each datagram to the socket's handler. */
  drain(): void;
}

export interface ModeratorHost {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Re-arms a timer that is set or has fired (not one cleared) for its same delay from now, as Node's `timeout.refresh()` does. */
  refresh(handle: unknown): void;
}

const nodeHost: ModeratorHost = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  refresh: (h) => void (h as NodeJS.Timeout).refresh(),
};

/** Holds allowed, longest first: each divides the ones before it, so their grids line up. */
const HOLD_STEPS_MS = [100, 50, 20, 10, 5] as const;

/**
 * How long a Backup's socket may be held, from the advert interval it
 * expects (the shorter of its own and the Master's): a tenth of it, rounded
 * down to a step of {@link HOLD_STEPS_MS}; 0 (no moderation) under 50 ms
 * adverts, where a hold would be too coarse to save a wake-up that matters.
 */
export function holdForIntervalMs(intervalMs: number): number {
  const tenth = intervalMs / 10;
  for (const step of HOLD_STEPS_MS) if (tenth >= step) return step;
  return 0;
}

/** Node's timers fire on the loop's whole-millisecond time: up to 1 ms before a performance.now() deadline. */
const TIMER_SLACK_MS = 1;

/**
 * A socket that could not be watched again stays held (drainAll still reads
 * it before a takeover timer acts) and is tried again this much later.
 */
const RESUME_RETRY_MS = 10;

export class ReceiveModerator {
  /** Held sockets and when each resumes. */
  private readonly held = new Map<HeldSocket, number>();
  /** The host timer, kept once it fired so that the next hold re-arms it; null when none or cleared. */
  private timer: unknown = null;
  /** The delay `timer` was made with: what a refresh re-arms it for. */
  private timerMs = -1;
  /** When the timer fires next; Infinity when it is not set. */
  private timerAt = Infinity;
  private readonly counts = { holds: 0, drains: 0 };

  constructor(private readonly host: ModeratorHost = nodeHost) {}

  get stats(): { held: number; holds: number; drains: number } {
    return { held: this.held.size, ...this.counts };
  }

  /** Pauses `socket` until the next multiple of `holdMs` (a no-op if it is held already). */
  hold(socket: HeldSocket, holdMs: number): void {
    if (this.held.has(socket) || !(holdMs > 0)) return;
    const now = this.host.now();
    const at = (Math.floor(now / holdMs) + 1) * holdMs;
    socket.pause();
    this.held.set(socket, at);
    this.counts.holds++;
    if (at < this.timerAt) this.arm(at, now);
  }

  /** Ends a hold now (the socket's instances need every advert at once again). */
  release(socket: HeldSocket): void {
    if (!this.held.has(socket)) return;
    if (socket.resume()) {
      this.held.delete(socket);
      return;
    }
    this.retryLater(socket, this.host.now());
  }

  /** Forgets a socket being closed, without touching it. */
  forget(socket: HeldSocket): void {
    this.held.delete(socket);
    if (this.held.size === 0) this.disarm();
  }

  /** Reads every held socket's queue now: before a takeover timer acts. */
  drainAll(): void {
    if (this.held.size === 0) return;
    this.counts.drains++;
    for (const socket of this.held.keys()) socket.drain();
  }

  private arm(at: number, now: number): void {
    const ms = Math.max(0, Math.ceil(at - now));
    // One host timer, re-armed in place while the delay stays the same. A
    // busy Backup holds its socket from just after one grid point to the
    // next, the same whole ms nearly every time: 100 times a second for
    // 1,000 instances at 0.1 s adverts, where a new Node timeout per hold
    // was about 85 KiB/s of garbage.
    if (this.timer !== null && this.timerMs === ms) this.host.refresh(this.timer);
    else {
      this.disarm();
      this.timer = this.host.setTimeout(this.onTimer, ms);
      this.timerMs = ms;
    }
    this.timerAt = at;
  }

  /** Clears the host timer: nothing is left on the loop. */
  private disarm(): void {
    if (this.timer !== null) this.host.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private readonly onTimer = (): void => {
    // The timer stays for the next hold to refresh.
    this.timerAt = Infinity;
    const now = this.host.now();
    let next = Infinity;
    for (const [socket, at] of this.held) {
      if (at <= now + TIMER_SLACK_MS) {
        if (socket.resume()) this.held.delete(socket);
        else {
          this.held.set(socket, now + RESUME_RETRY_MS);
          if (now + RESUME_RETRY_MS < next) next = now + RESUME_RETRY_MS;
        }
      } else if (at < next) next = at;
    }
    if (next < Infinity) this.arm(next, now);
  };

  private retryLater(socket: HeldSocket, now: number): void {
    const at = now + RESUME_RETRY_MS;
    this.held.set(socket, at);
    if (at < this.timerAt) this.arm(at, now);
  }
}
