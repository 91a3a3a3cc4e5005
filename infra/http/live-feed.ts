/**
 * A server-sent-events feed of one view (the daemon's status page, the fleet
 * page): the view at once to a new client, again after each change and every
 * tick. Nothing is rendered and no timer runs while no client is connected, so
 * an endpoint nobody looks at costs nothing.
 */
import type { HttpStream } from './endpoint.js';

export interface LiveFeedOptions {
  /** The view as the text of one message (JSON), rendered only when some client gets it. */
  render: () => string;
  /** A push this often even without changes (counters, ages and staleness move by themselves). */
  tickMs: number;
  /**
   * Least time between two pushes: a burst of changes becomes one push. 0: the
   * turn of the loop after the change (never inside the caller's call).
   */
  minGapMs?: number;
}

export class LiveFeed {
  private readonly clients = new Set<(data: string) => void>();
  private tick: NodeJS.Timeout | null = null;
  /** Cancels the push scheduled by changed(). */
  private pending: (() => void) | null = null;
  private lastPushAt = -Infinity;

  constructor(private readonly o: LiveFeedOptions) {}

  /** For HttpEndpoint's `streams`. */
  readonly stream: HttpStream = (send) => {
    this.clients.add(send);
    send(this.o.render());
    this.tick ??= setInterval(() => this.push(), this.o.tickMs);
    return () => {
      this.clients.delete(send);
      if (this.clients.size === 0) this.idle();
    };
  };

  /** Open clients (for logs and tests). */
  get size(): number {
    return this.clients.size;
  }

  /** The view changed: one push soon (at most one per minGapMs); ignored while no client is open. */
  changed(): void {
    if (this.clients.size === 0 || this.pending !== null) return;
    const gap = this.o.minGapMs ?? 0;
    const wait = Math.max(0, this.lastPushAt + gap - performance.now());
    if (gap === 0) {
      const i = setImmediate(() => this.push());
      this.pending = () => clearImmediate(i);
    } else {
      const t = setTimeout(() => this.push(), wait);
      this.pending = () => clearTimeout(t);
    }
  }

  /** Ends every timer (the clients' connections are the endpoint's to close). */
  close(): void {
    this.clients.clear();
    this.idle();
  }

  private push(): void {
    this.cancelPending();
    if (this.clients.size === 0) return;
    this.lastPushAt = performance.now();
    const data = this.o.render();
    for (const send of this.clients) send(data);
  }

  private idle(): void {
    if (this.tick !== null) clearInterval(this.tick);
    this.tick = null;
    this.cancelPending();
  }

  private cancelPending(): void {
    this.pending?.();
    this.pending = null;
  }
}
