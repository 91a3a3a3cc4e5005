/**
 * What one probe result does to a checker, as a pure function: keepalived's
 * retry counting (tcp_epilog in check_tcp.c, misc_check_child_thread in
 * check_misc.c), its next delay, and whether the checker turns up or down.
 *
 * Exact for TCP_CHECK (and checkers sharing tcp_epilog's shape) and MISC_CHECK.
 * Not modelled yet, so only approximated by the TCP rule: HTTP_GET/SSL_GET's
 * epilog (check_http.c) walks its URLs one by one, goes down when retry_it
 * exceeds retry, and while a URL is failed waits max(delay_before_retry,
 * delay_loop); PING_CHECK (check_ping.c) retries a down checker every
 * delay_before_retry without ever returning to delay_loop.
 */

/** The part of a checker's plan the verdict needs. */
export interface VerdictRules {
  retry: number;
  delayLoopMs: number;
  delayBeforeRetryMs: number;
  alpha: boolean;
  /** tcp_epilog retries even a checker already down; misc_check_child_thread does not */
  retriesWhileDown: boolean;
}

export interface CheckerCounters {
  /** checker->is_up */
  up: boolean;
  /** checker->has_run: a result has been seen since start */
  hasRun: boolean;
  /** checker->retry_it: failures counted toward `retry` */
  retryIt: number;
}

/**
 * validate_check_config: a checker starts up unless alpha, and retry_it starts at
 * `retry`, so that before the first success one failure is enough to go down.
 */
export function initialCounters(r: VerdictRules): CheckerCounters {
  return { up: !r.alpha, hasRun: false, retryIt: r.retry };
}

export interface Verdict {
  counters: CheckerCounters;
  /** how long until the next probe */
  delayMs: number;
  /**
   * 'up' / 'down' when update_svr_checker_state would be called with a new
   * state; 'down' also for an alpha checker's first failure, which keepalived
   * reports (do_rs_notifies) although the checker was already down.
   */
  transition: 'up' | 'down' | undefined;
}

export function judge(r: VerdictRules, c: CheckerCounters, ok: boolean): Verdict {
  const firstAlphaFailure = !ok && !c.hasRun && r.alpha;
  if (ok) {
    // A success always clears the retry count and, from down (or first), brings it up.
    const transition = !c.up ? 'up' : undefined;
    return { counters: { up: true, hasRun: true, retryIt: 0 }, delayMs: r.delayLoopMs, transition };
  }
  const counting = c.up || !c.hasRun || r.retriesWhileDown;
  if (!counting) return { counters: { ...c, hasRun: true }, delayMs: r.delayLoopMs, transition: undefined };
  if (c.retryIt < r.retry) {
    return { counters: { ...c, hasRun: true, retryIt: c.retryIt + 1 }, delayMs: r.delayBeforeRetryMs, transition: undefined };
  }
  // Retries exhausted: declared down (if it was up, or on the first result), back to delay_loop.
  const transition = c.up || firstAlphaFailure ? 'down' : undefined;
  return { counters: { up: false, hasRun: true, retryIt: 0 }, delayMs: r.delayLoopMs, transition };
}
