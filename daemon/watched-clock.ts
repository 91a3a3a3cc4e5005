/**
 * Real time for the VRRP machines, with a watch on late timers. Node's event
 * loop can stall (GC, a busy callback); a Master whose Adver_Timer fires late
 * risks a spurious takeover by its Backups. This is vipflow's counterpart of
 * keepalived's "thread timer expired" warning: count and log every timer that
 * fires late by more than a quarter of its own duration (and at least 2 ms).
 */
import type { ReusableTimer, VrrpClock } from '../actors/vrrp/index.js';
import type { Logger } from '../core/logger.js';
import { nodeHost, PreciseTimer, preciseTimeout, type PreciseTimeout, type PreciseTimerHost } from './precise-timer.js';

export interface LateTimerStats {
  late: number;
  worstLateMs: number;
}

/**
 * `takeover` hooks the precise timers (a takeover's): `beforeFire` runs just
 * before one fires (the daemon reads the sockets receive moderation holds),
 * `beforeWait` when one starts waiting out its last stretch (the daemon warms
 * the takeover's step up), `wake` / `cancelWake` sleep that stretch to the
 * microsecond (daemon/precise-wakeups.ts); see PreciseTimerHost. `noteDelay` gets how late each timer fired against the moment it was
 * meant to (the event loop's delay, daemon/loop-delay.ts): a grid timer's
 * moment is its grid point, so the grid reports those. `pacer` sleeps the
 * plain timers under {@link PACED_BELOW_MS} (a Master's Adver_Timer at
 * centisecond adverts) on the same wake timer.
 */
export function watchedClock(
  log: Logger,
  stats: LateTimerStats,
  takeover?: Pick<PreciseTimerHost, 'beforeFire' | 'beforeWait' | 'wake' | 'cancelWake'>,
  noteDelay?: (lateMs: number) => void,
  pacer: Pacer | null = null,
): VrrpClock {
  const host: PreciseTimerHost = takeover ? { ...nodeHost, ...takeover } : nodeHost;
  if (noteDelay) sharedGrid.noteDelay = noteDelay;
  let lastWarn = -Infinity;
  /** `gridded`: a grid timer, which fires on its grid point after `due` by design (the grid notes its own delay). */
  const checkLate = (due: number, ms: number, gridded = false) => {
    const late = performance.now() - due;
    if (noteDelay && !gridded) noteDelay(late);
    if (late > 2 && late > ms / 4) {
      stats.late++;
      if (late > stats.worstLateMs) stats.worstLateMs = late;
      const now = performance.now();
      // At most one line a second: a stalled loop would otherwise log on every timer.
      if (now - lastWarn > 1000) {
        lastWarn = now;
        log.warn({ lateMs: Math.round(late * 1000) / 1000, timerMs: ms, lateTimers: stats.late }, 'timer fired late: the event loop was blocked');
      }
    }
  };
  const watched = (fn: () => void, ms: number) => {
    const due = performance.now() + ms;
    return () => {
      checkLate(due, ms);
      fn();
    };
  };
  const watchedTimer = (fire: () => void, make: (onFire: () => void) => ReusableTimer, onGrid = false): ReusableTimer =>
    new WatchedTimer(fire, make, checkLate, onGrid);
  return {
    now: () => performance.now(),
    clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
    // Node keeps one timer list per distinct duration: a Master_Down_Timer
    // re-armed per advert with a fractional delay (deadline - now) built and
    // dropped a list, a heap entry and a number-keyed property each time.
    // Whole milliseconds let the instances share a few lists. Rounding up
    // moves no firing: Node compares its whole-ms loop time with start + delay
    // (that loop time is read once per turn, so any Node timer can fire early
    // by what the turn that armed it had run; the takeover timers below cannot).
    setTimeout: (fn, ms) => setTimeout(watched(fn, ms), Math.ceil(ms)),
    createTimer: (fire) => watchedTimer(fire, (onFire) => new GridTimer(onFire, sharedGrid, pacer), true),
    // The takeover timers: to the tens of microseconds rather than the
    // millisecond (precise-timer.ts); their host timers are whole ms too.
    precise: {
      setTimeout: (fn, ms) => preciseTimeout(watched(fn, ms), ms, host),
      clearTimeout: (id) => (id as PreciseTimeout).cancel(),
      createTimer: (fire, soon) => watchedTimer(fire, (onFire) => new PreciseTimer(onFire, host, soon)),
    },
  };
}

/**
 * A re-armable timer whose firing is watched like `watched`'s, with no
 * allocation per start. A class: every instance has two, and as an object of
 * closures each cost ~350 bytes more.
 */
class WatchedTimer implements ReusableTimer {
  private due = 0;
  private ms = 0;
  private readonly inner: ReusableTimer;

  constructor(
    private readonly fire: () => void,
    make: (onFire: () => void) => ReusableTimer,
    private readonly checkLate: (due: number, ms: number, gridded: boolean) => void,
    /** A grid timer, which fires on its grid point after `due` by design (the grid notes its own delay). */
    private readonly onGrid: boolean,
  ) {
    this.inner = make(() => this.fired());
  }

  start(delay: number): void {
    this.ms = delay;
    this.due = performance.now() + delay;
    this.inner.start(delay);
  }

  cancel(): void {
    this.inner.cancel();
  }

  dispose(): void {
    this.inner.dispose();
  }

  nextWake(): number {
    return this.inner.nextWake ? this.inner.nextWake() : Number.NaN;
  }

  postpone(until: number): boolean {
    return this.inner.postpone ? this.inner.postpone(until) : false;
  }

  private fired(): void {
    this.checkLate(this.due, this.ms, this.onGrid && gridMs(Math.ceil(this.ms)) > 0);
    this.fire();
  }
}

/**
 * The grid a plain timer of `ms` fires on (0: none): a fiftieth of its delay,
 * for delays of 500 ms and more (a Master's Adver_Timer at 1 s: 20 ms).
 * Each wake-up of the daemon costs far more than the advert it sends (perf:
 * about 160 µs against tens), and instances that became Master at scattered
 * times would each wake it once an interval: 1,000 Masters woke it about 210
 * times a second. On a common grid their Adver_Timers fire on one turn of the
 * loop. A timer re-armed from its own firing counts its delay from the grid
 * point it fired on, so the interval stays exact on average; the first
 * advert after becoming Master still leaves at once (the machine sends it)
 * and the second comes up to one grid step late, well inside a Backup's
 * Master_Down_Interval (three intervals and more). Shorter timers keep their
 * exact delay: each grid point costs a Node timeout of its own, and at 0.1 s
 * adverts (a 2 ms grid) that made a Master of 150 twice as costly (4.2% of a
 * core against 8.1%, footprint.ts --interval 0.1).
 */
export function gridMs(ms: number): number {
  return ms >= 500 ? Math.floor(ms / 50) : 0;
}

/**
 * Plain timers shorter than this sleep on the daemon's wake timer (a
 * timerfd, daemon/precise-wakeups.ts) when the clock has one: in practice a
 * Master's Adver_Timer below 0.1 s adverts. On a Node timeout, counted from
 * the loop's whole-ms time after the advert went out, a 10 ms Adver_Timer
 * averaged 10.2 ms (29,400-29,500 adverts in the 5-minute soak against
 * keepalived's 29,750) and each interval carried up to a millisecond of
 * rounding on top of whatever the scheduler added. Slept to the microsecond
 * and counted from the due time it fired for, the interval is exact on
 * average and only the wake-up's own latency varies. Longer intervals keep
 * Node's timeouts: a millisecond is little against them, and at 0.1 s a
 * Master of 1,000 instances would put 10,000 waits a second through the
 * wake timer's sorted queue.
 */
export const PACED_BELOW_MS = 100;

/**
 * The wake timer as the short plain timers use it: `wake` runs `fn` `ms`
 * from now, or up to {@link PACE_SLACK_MS} earlier on a wake-up for
 * something else (PreciseWakeups.after's slack).
 */
export interface Pacer {
  wake(fn: () => void, ms: number): unknown;
  cancelWake(handle: unknown): void;
}

/**
 * How early a paced timer may run to share a wake-up: Node's millisecond
 * timers fired up to this much early too. Without it, 1,000 Masters at 50
 * ms adverts would wake the daemon up to 20,000 times a second, each
 * instance on its own microsecond; with it, about 1,000 at most. A lone
 * instance has nothing to share with and fires at its due time.
 */
export const PACE_SLACK_MS = 1;

/** Node's timers fire on the loop's whole-millisecond time: up to 1 ms before a performance.now() deadline. */
const LOOP_SLACK_MS = 1;

/** The timers of one grid point, in the order they were added, linked through the timers themselves. */
interface GridList {
  head: GridTimer | null;
  tail: GridTimer | null;
  count: number;
}

function append(list: GridList, timer: GridTimer): void {
  timer.gridList = list;
  timer.gridPrev = list.tail;
  timer.gridNext = null;
  if (list.tail) list.tail.gridNext = timer;
  else list.head = timer;
  list.tail = timer;
  list.count++;
}

function unlink(list: GridList, timer: GridTimer): void {
  if (timer.gridPrev) timer.gridPrev.gridNext = timer.gridNext;
  else list.head = timer.gridNext;
  if (timer.gridNext) timer.gridNext.gridPrev = timer.gridPrev;
  else list.tail = timer.gridPrev;
  timer.gridList = null;
  timer.gridPrev = null;
  timer.gridNext = null;
  list.count--;
}

/**
 * The grid's timers, by the grid point they fire on, behind one Node timeout
 * for the earliest point: every timer of a point fires on the same turn. A
 * point's timers are a list linked through the timers: a Set per point grew
 * its table at every few adds, and those tables, kept until the point's turn
 * a second later, were most of a Master's old-space garbage.
 */
class TimerGrid {
  private readonly points = new Map<number, GridList>();
  /** The point whose timers are firing now (already out of `points`). */
  private firing: GridList | null = null;
  private handle: NodeJS.Timeout | null = null;
  private handleAt = Infinity;
  /** Timers waiting: with none, no Node timeout is left to hold the loop open. */
  private waiting = 0;
  /** Gets how late each firing came after its grid point (watchedClock's noteDelay; the grid is the process's). */
  noteDelay: ((lateMs: number) => void) | null = null;

  add(timer: GridTimer, at: number): void {
    this.waiting++;
    let list = this.points.get(at);
    if (!list) {
      list = { head: null, tail: null, count: 0 };
      this.points.set(at, list);
    }
    append(list, timer);
    if (at < this.handleAt) this.armFor(at);
  }

  remove(timer: GridTimer): void {
    const list = timer.gridList;
    if (list === null) return;
    unlink(list, timer);
    // The firing point's timers were already taken off the count.
    if (list !== this.firing) this.waiting--;
    // An empty point stays until its turn (re-arming the Node timeout is not worth it), unless nothing waits at all.
    if (this.waiting === 0 && this.handle !== null) {
      clearTimeout(this.handle);
      this.handle = null;
      this.handleAt = Infinity;
      this.points.clear();
    }
  }

  private readonly onTimeout = (): void => {
    this.handle = null;
    this.handleAt = Infinity;
    const now = performance.now();
    const due = [...this.points.keys()].filter((at) => at <= now + LOOP_SLACK_MS).sort((a, b) => a - b);
    if (this.noteDelay !== null && due.length > 0) this.noteDelay(now - due[0]!);
    for (const at of due) {
      const list = this.points.get(at)!;
      this.points.delete(at);
      this.waiting -= list.count;
      // Taken from the head one at a time: a firing may cancel or re-arm
      // timers later in the list, which unlinks them from it.
      this.firing = list;
      try {
        for (let timer = list.head; timer !== null; timer = list.head) {
          unlink(list, timer);
          timer.fireAt(at);
        }
      } finally {
        this.firing = null;
      }
    }
    let next = Infinity;
    for (const at of this.points.keys()) if (at < next) next = at;
    if (next < this.handleAt) this.armFor(next);
  };

  /** The one Node timeout, moved to the grid point `at`. */
  private armFor(at: number): void {
    if (this.handle !== null) clearTimeout(this.handle);
    this.handleAt = at;
    this.handle = setTimeout(this.onTimeout, Math.max(0, Math.ceil(at - performance.now())));
  }
}

const sharedGrid = new TimerGrid();

/**
 * A plain timer in whole ms (as `setTimeout` above), re-armed in place. Of
 * 500 ms and more (a Master's Adver_Timer at 1 s) it fires on the grid of
 * {@link gridMs}; under {@link PACED_BELOW_MS}, with a pacer, it sleeps on
 * the wake timer; otherwise it keeps one Node timeout and refreshes it while
 * the delay is the same. None allocates per start but the wake timer's
 * queue entry.
 */
class GridTimer implements ReusableTimer {
  private handle: NodeJS.Timeout | null = null;
  /** The delay the Node timeout was made with: what refresh() re-arms it for. */
  private hostMs = -1;
  /** The grid point it waits for; NaN when not on the grid. */
  private at = NaN;
  private running = false;
  /** The grid point (or paced due time) being fired: a start from inside the callback counts from it. */
  private firedAt = NaN;
  /** The wake timer's entry and the due time it is for, while paced. */
  private paced: unknown = null;
  private pacedDue = NaN;
  /** The grid point's list this timer is in, and its neighbours there (TimerGrid's). */
  gridList: GridList | null = null;
  gridPrev: GridTimer | null = null;
  gridNext: GridTimer | null = null;

  constructor(
    private readonly fire: () => void,
    private readonly grid: TimerGrid = sharedGrid,
    private readonly pacer: Pacer | null = null,
  ) {}

  start(delay: number): void {
    const ms = Math.ceil(delay);
    this.cancel();
    this.running = true;
    if (this.pacer !== null && ms < PACED_BELOW_MS) {
      const now = performance.now();
      // From the due time it fired for, so the interval is exact on average;
      // after a stall, no sooner than half an interval from now (no burst).
      // The wait is clamped itself, not rebuilt as due - now: (now + x) - now is not always x in floating point.
      const from = Number.isNaN(this.firedAt) ? now : this.firedAt;
      const wait = Math.max(from + ms - now, ms / 2);
      this.pacedDue = now + wait;
      this.paced = this.pacer.wake(this.onPaced, wait);
      return;
    }
    const step = gridMs(ms);
    if (step > 0) {
      const now = performance.now();
      // From the point it fired on (exact on average); never a point already past.
      const from = Number.isNaN(this.firedAt) ? now : this.firedAt;
      this.at = Math.max(Math.ceil((from + ms) / step) * step, Math.ceil(now / step) * step);
      this.grid.add(this, this.at);
      return;
    }
    // refresh() re-arms a pending or fired timeout, never a cleared one (handle is null then).
    if (this.handle !== null && this.hostMs === ms) {
      this.handle.refresh();
      return;
    }
    this.clearHost();
    this.handle = setTimeout(this.onTimeout, ms);
    this.hostMs = ms;
  }

  /** Off the grid at once; a Node timeout is left set for a start to refresh (if none comes it fires once for nothing). */
  cancel(): void {
    this.running = false;
    if (!Number.isNaN(this.at)) this.grid.remove(this);
    this.at = NaN;
    if (this.paced !== null) {
      this.pacer!.cancelWake(this.paced);
      this.paced = null;
    }
  }

  dispose(): void {
    this.cancel();
    this.clearHost();
  }

  /** The grid's turn for `at`. */
  fireAt(at: number): void {
    if (!this.running || this.at !== at) return;
    this.at = NaN;
    this.firedFor(at);
  }

  private readonly onPaced = (): void => {
    this.paced = null;
    if (this.running) this.firedFor(this.pacedDue);
  };

  private firedFor(due: number): void {
    this.running = false;
    this.firedAt = due;
    try {
      this.fire();
    } finally {
      this.firedAt = NaN;
    }
  }

  private clearHost(): void {
    if (this.handle === null) return;
    clearTimeout(this.handle);
    this.handle = null;
  }

  private readonly onTimeout = (): void => {
    if (!this.running) return;
    this.running = false;
    this.fire();
  };
}
