/**
 * One health checker (TCP_CHECK, HTTP_GET, MISC_CHECK, ...) as an XState v5
 * actor on an injectable clock. It decides when to probe and what a result
 * means; the probe itself (a connection, a script) is the runner's I/O.
 *
 * Timing, after keepalived 2.2.7:
 * - register_checkers_thread: the first probe comes BOOTSTRAP_DELAY (1 s) plus a
 *   random part of `warmup` after start (randomness injected);
 * - then every delay_loop, or delay_before_retry while failures are being
 *   retried (verdict.ts);
 * - while suspended (ha_suspend with the VIP absent) a due probe is not run and
 *   the next one is due a delay_loop later, as the *_connect_thread functions
 *   do when !checker->enabled.
 *
 * A watchdog bounds every probe: a result that has not come within probeBoundMs
 * is reported as `probe-stalled` and counted as a failure, so a hung probe can
 * never freeze a checker in its last state. Results carry the probe number they
 * answer; a late result for an older probe is ignored.
 */
import { createActor, enqueueActions, setup, type Actor } from 'xstate';
import { initialCounters, judge, type CheckerCounters, type VerdictRules } from './verdict.js';

/** keepalived's BOOTSTRAP_DELAY (lib/scheduler.h): TIMER_HZ, one second. */
export const BOOTSTRAP_DELAY_MS = 1000;

export interface CheckerInput extends VerdictRules {
  id: string;
  warmupMs: number;
  probeBoundMs: number;
  scheduleFrom: 'start' | 'result';
  /** false: start suspended (ha_suspend with the VIP not yet present) */
  enabled: boolean;
  /** uniform in [0, 1): keepalived's random() / RAND_MAX */
  random: () => number;
  /** the clock's current time, for scheduling from a probe's start */
  now: () => number;
}

export type CheckerEvent = { type: 'RESULT'; probe: number; ok: boolean; reason?: string } | { type: 'SUSPEND' } | { type: 'RESUME' } | { type: 'STOP' };

export type CheckerCommand =
  | { type: 'run-probe'; checker: string; probe: number; timeoutMs: number }
  | { type: 'probe-skipped'; checker: string; reason: 'suspended' }
  | { type: 'probe-stalled'; checker: string; probe: number; boundMs: number }
  | { type: 'up'; checker: string }
  | { type: 'down'; checker: string; reason: string };

interface Context {
  cfg: CheckerInput;
  counters: CheckerCounters;
  enabled: boolean;
  probe: number;
  startedAt: number;
  nextDelayMs: number;
  lastFailure: string;
}

/** One result applied: the verdict, the next delay and any up/down command. */
function settle(context: Context, ok: boolean, reason: string): { patch: Partial<Context>; commands: CheckerCommand[] } {
  const v = judge(context.cfg, context.counters, ok);
  let delay = v.delayMs;
  if (context.cfg.scheduleFrom === 'start') {
    // misc_check_child_thread: next = last_ran + delay, at least 1 us from now.
    delay = Math.max(0.001, delay - (context.cfg.now() - context.startedAt));
  }
  const lastFailure = ok ? context.lastFailure : reason;
  const commands: CheckerCommand[] = [];
  if (v.transition === 'up') commands.push({ type: 'up', checker: context.cfg.id });
  if (v.transition === 'down') commands.push({ type: 'down', checker: context.cfg.id, reason: lastFailure });
  return { patch: { counters: v.counters, nextDelayMs: delay, lastFailure }, commands };
}

export const checkerMachine = setup({
  types: {
    context: {} as Context,
    events: {} as CheckerEvent,
    input: {} as CheckerInput,
    emitted: {} as CheckerCommand,
  },
  delays: {
    next: ({ context }) => context.nextDelayMs,
    bound: ({ context }) => context.cfg.probeBoundMs,
  },
  guards: {
    suspended: ({ context }) => !context.enabled,
  },
}).createMachine({
  id: 'checker',
  context: ({ input }) => ({
    cfg: input,
    counters: initialCounters(input),
    enabled: input.enabled,
    probe: 0,
    startedAt: 0,
    // register_checkers_thread: BOOTSTRAP_DELAY + warmup * random() / RAND_MAX.
    nextDelayMs: BOOTSTRAP_DELAY_MS + (input.warmupMs > 0 ? input.warmupMs * input.random() : 0),
    lastFailure: 'not checked yet',
  }),
  initial: 'waiting',
  on: {
    SUSPEND: { actions: enqueueActions(({ enqueue }) => enqueue.assign({ enabled: false })) },
    RESUME: { actions: enqueueActions(({ enqueue }) => enqueue.assign({ enabled: true })) },
    STOP: '.stopped',
  },
  states: {
    waiting: {
      after: { next: 'due' },
    },
    due: {
      always: [
        {
          guard: 'suspended',
          target: 'waiting',
          actions: enqueueActions(({ context, enqueue }) => {
            enqueue.assign({ nextDelayMs: context.cfg.delayLoopMs });
            enqueue.emit({ type: 'probe-skipped', checker: context.cfg.id, reason: 'suspended' });
          }),
        },
        { target: 'probing' },
      ],
    },
    probing: {
      entry: enqueueActions(({ context, enqueue }) => {
        const probe = context.probe + 1;
        enqueue.assign({ probe, startedAt: context.cfg.now() });
        enqueue.emit({ type: 'run-probe', checker: context.cfg.id, probe, timeoutMs: context.cfg.probeBoundMs });
      }),
      after: {
        bound: {
          target: 'waiting',
          actions: enqueueActions(({ context, enqueue }) => {
            enqueue.emit({ type: 'probe-stalled', checker: context.cfg.id, probe: context.probe, boundMs: context.cfg.probeBoundMs });
            const s = settle(context, false, `probe stalled: no result within ${context.cfg.probeBoundMs} ms`);
            enqueue.assign(s.patch);
            for (const c of s.commands) enqueue.emit(c);
          }),
        },
      },
      on: {
        RESULT: {
          guard: ({ context, event }) => event.probe === context.probe,
          target: 'waiting',
          actions: enqueueActions(({ context, event, enqueue }) => {
            const s = settle(context, event.ok, event.reason ?? 'probe failed');
            enqueue.assign(s.patch);
            for (const c of s.commands) enqueue.emit(c);
          }),
        },
      },
    },
    stopped: { type: 'final' },
  },
});

export type CheckerActor = Actor<typeof checkerMachine>;

/** The clock that drives the actor (xstate's Clock): real timers, or a simulated clock in tests. */
export interface CheckerClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

export type CheckerSetupError = { kind: 'invalid-checker'; checker: string; message: string };

/**
 * Creates (not starts) the actor, or says why the settings cannot run.
 * Subscribe with `actor.on('run-probe' | 'up' | 'down' | ...)` before `actor.start()`.
 */
export function createChecker(input: CheckerInput, clock: CheckerClock): { actor: CheckerActor } | { error: CheckerSetupError } {
  const bad = (message: string) => ({ error: { kind: 'invalid-checker' as const, checker: input.id, message } });
  if (!(input.delayLoopMs > 0)) return bad('delay_loop must be > 0');
  if (!(input.probeBoundMs > 0)) return bad('the probe bound must be > 0');
  if (!Number.isInteger(input.retry) || input.retry < 0) return bad('retry must be an integer >= 0');
  if (!(input.delayBeforeRetryMs >= 0) || !(input.warmupMs >= 0)) return bad('delay_before_retry and warmup must be >= 0');
  return { actor: createActor(checkerMachine, { input, clock }) };
}
