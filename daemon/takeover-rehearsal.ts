/**
 * Keeps a takeover's code compiled (actors/vrrp/rehearsal.ts): a full
 * rehearsal before any instance runs, then two rounds every half minute;
 * and warms it up just before a takeover (`warm`, the understudy's step).
 * V8 lets the type feedback and bytecode of code that has not run for a
 * while age away at major GCs: after 30 of them a warmed-up takeover step
 * took 0.13-0.20 ms again, 0.06-0.10 ms with the periodic rounds, 0.8-1.0 ms
 * never rehearsed (node 20, measured with a throwaway actor).
 */
import type { Logger } from '../core/logger.js';
import { REHEARSAL_ROUNDS, rehearseTakeovers, TakeoverUnderstudy } from '../actors/vrrp/rehearsal.js';
import type { VrrpInput } from '../actors/vrrp/types.js';

/** Between the periodic rounds: a few major GCs' worth of an idle daemon. */
export const REHEARSAL_PERIOD_MS = 30_000;
const PERIODIC_ROUNDS = 2;
/**
 * After a warm-up, the understudy goes back to Backup this much later:
 * the takeovers that come with the one it warmed up for (many instances,
 * one failed router) find it stepped and run nothing.
 */
export const UNDERSTUDY_RESET_MS = 1000;

export class TakeoverRehearsal {
  private timer: NodeJS.Timeout | null = null;
  /** The copy `warm` steps; null before start, after stop, or once it failed. */
  private understudy: TakeoverUnderstudy | null = null;
  /** Set from a warm-up until the understudy is back to Backup. */
  private resetTimer: NodeJS.Timeout | null = null;

  constructor(private readonly log: Logger) {}

  /**
   * The full rehearsal of `input`'s copy, at once (it holds the loop for
   * some tens of ms, so only before the instances start, when no advert is
   * due), then the periodic rounds. Ignored while they run.
   */
  start(input: VrrpInput): void {
    if (this.timer !== null) return;
    const started = performance.now();
    if (!this.rehearse(input, REHEARSAL_ROUNDS)) return;
    this.log.debug({ rounds: REHEARSAL_ROUNDS, ms: Math.round(performance.now() - started) }, 'takeover path rehearsed');
    this.timer = setInterval(() => this.rehearse(input, PERIODIC_ROUNDS), REHEARSAL_PERIOD_MS);
    // Never what keeps the daemon running.
    this.timer.unref();
    try {
      this.understudy = new TakeoverUnderstudy(input);
    } catch (err) {
      this.warmUpFailed(err);
    }
  }

  /**
   * A takeover timer is about to fire (PreciseTimerHost.beforeWait): the
   * understudy takes the takeover's step now, so that the real one runs on
   * warm caches. At most once until the understudy is back to Backup
   * (UNDERSTUDY_RESET_MS later); nothing without one.
   */
  warm(): void {
    const u = this.understudy;
    if (u === null || this.resetTimer !== null) return;
    try {
      if (!u.step()) return this.warmUpFailed(new Error('the throwaway instance did not become Master'));
    } catch (err) {
      return this.warmUpFailed(err);
    }
    this.resetTimer = setTimeout(() => {
      this.resetTimer = null;
      try {
        u.reset();
        if (!u.ready) throw new Error('the throwaway instance did not go back to Backup');
      } catch (err) {
        if (this.understudy === u) this.warmUpFailed(err);
      }
    }, UNDERSTUDY_RESET_MS);
    this.resetTimer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.dropUnderstudy();
  }

  /** Logged once: warm-ups stop, and takeovers go on without them. */
  private warmUpFailed(err: unknown): void {
    this.log.warn({ err }, 'takeover warm-up failed; warm-ups stopped (takeovers still work, their step runs on cold caches)');
    this.dropUnderstudy();
  }

  private dropUnderstudy(): void {
    if (this.resetTimer !== null) clearTimeout(this.resetTimer);
    this.resetTimer = null;
    try {
      this.understudy?.stop();
    } catch {
      // A throwaway: nothing to keep from it.
    }
    this.understudy = null;
  }

  /** False, after one warning and with the rounds stopped, if the machine threw: a rehearsal must never take the daemon down. */
  private rehearse(input: VrrpInput, rounds: number): boolean {
    try {
      const masters = rehearseTakeovers(input, rounds);
      if (masters === rounds) return true;
      this.log.warn({ rounds, masters }, 'takeover rehearsal: the throwaway instance did not become Master every round; rehearsals stopped');
    } catch (err) {
      this.log.warn({ err }, 'takeover rehearsal failed; rehearsals stopped (takeovers still work, their first steps run slower)');
    }
    this.stop();
    return false;
  }
}
