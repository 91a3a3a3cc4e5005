/**
 * An exact discrete-event clock for simulations with many actors.
 *
 * Same surface as xstate's SimulatedClock (setTimeout, clearTimeout, now,
 * increment, set), with two differences that matter for a virtual LAN:
 * - each timer fires with `now()` equal to its own due time, not the end of the
 *   increment, so a 3609.375 ms Master_Down_Timer fires at 3609.375 whatever the step;
 * - timers live in a binary heap (O(log n) per timer). SimulatedClock sorts every
 *   pending timer on each increment and again whenever a callback schedules one,
 *   which is quadratic with thousands of instances.
 * Timers due at the same time fire in the order they were set (FIFO).
 */

interface Timer {
  due: number;
  seq: number;
  fn: ((...args: unknown[]) => void) | null;
}

export class VirtualClock {
  private heap: Timer[] = [];
  private _now = 0;
  private seq = 0;
  private live = 0;

  now(): number {
    return this._now;
  }

  /** Number of pending (not cancelled) timers. */
  get pending(): number {
    return this.live;
  }

  setTimeout(fn: (...args: unknown[]) => void, timeout: number): Timer {
    const delay = Number.isFinite(timeout) && timeout > 0 ? timeout : 0;
    const t: Timer = { due: this._now + delay, seq: this.seq++, fn };
    this.push(t);
    this.live++;
    return t;
  }

  clearTimeout(id: unknown): void {
    const t = id as Timer | undefined;
    if (t && t.fn) {
      t.fn = null;
      this.live--;
      // Cancelled timers are dropped lazily; compact when they dominate the heap.
      if (this.heap.length > 1024 && this.live * 4 < this.heap.length) this.compact();
    }
  }

  /** Runs every timer due within the next `ms`, each at its own time, then sets now += ms. */
  increment(ms: number): void {
    this.set(this._now + ms);
  }

  /** Runs every timer due up to `time` (inclusive), each at its own time, then sets now = time. */
  set(time: number): void {
    if (time < this._now) throw new Error('VirtualClock: cannot go back in time');
    for (;;) {
      const top = this.heap[0];
      if (!top || top.due > time) break;
      this.pop();
      const fn = top.fn;
      if (!fn) continue;
      top.fn = null;
      this.live--;
      this._now = top.due;
      fn();
    }
    this._now = time;
  }

  /** Due time of the next pending timer, or null. */
  nextDue(): number | null {
    while (this.heap[0] && !this.heap[0].fn) this.pop();
    return this.heap[0]?.due ?? null;
  }

  private less(a: Timer, b: Timer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    this.siftDown(0);
  }

  private siftDown(start: number): void {
    const h = this.heap;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }

  private compact(): void {
    this.heap = this.heap.filter((t) => t.fn !== null);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }
}
