/**
 * One vrrp_script as an XState v5 actor: it asks for a check every `interval`
 * (the first at once, as keepalived runs a script as soon as it starts), counts the
 * results with keepalived's rise/fall rules (counter.ts) and emits `health` when the
 * script turns up or down. Running the program, its timeout and killing it are the
 * caller's I/O (infra/track/scripts.ts); the actor only sees results.
 *
 * A tick that finds the previous check still running is skipped, not queued: a slow
 * script must not pile up processes (keepalived skips the same way).
 */
import { createActor, enqueueActions, setup, type Actor } from 'xstate';
import { carriedCounter, countResult, initialCounter, type Counter, type ScriptHealth } from './counter.js';

export interface TrackScriptInput {
  name: string;
  intervalMs: number;
  rise: number;
  fall: number;
  initFail: boolean;
  /** The health of the script this one replaces (a reload changed its definition): kept instead of starting afresh. */
  carried?: 'up' | 'down';
}

export type TrackScriptEvent = { type: 'RESULT'; ok: boolean; detail?: string } | { type: 'STOP' };

export type TrackScriptCommand =
  | { type: 'run-check'; name: string }
  | { type: 'check-skipped'; name: string }
  | { type: 'health'; name: string; health: Exclude<ScriptHealth, 'unknown'>; previous: ScriptHealth; detail?: string };

interface Context {
  cfg: TrackScriptInput;
  counter: Counter;
  running: boolean;
}

export const trackScriptMachine = setup({
  types: {
    context: {} as Context,
    events: {} as TrackScriptEvent,
    input: {} as TrackScriptInput,
    emitted: {} as TrackScriptCommand,
  },
  delays: {
    interval: ({ context }) => context.cfg.intervalMs,
  },
}).createMachine({
  id: 'track-script',
  context: ({ input }) => ({
    cfg: input,
    counter: input.carried ? carriedCounter(input, input.carried) : initialCounter(input, input.initFail),
    running: false,
  }),
  initial: 'ticking',
  states: {
    ticking: {
      // Re-entered every interval; the timer restarts at each entry, so ticks keep a
      // fixed rate from the start whatever the scripts take.
      entry: enqueueActions(({ context, enqueue }) => {
        const name = context.cfg.name;
        if (context.running) {
          enqueue.emit({ type: 'check-skipped', name });
          return;
        }
        enqueue.assign({ running: true });
        enqueue.emit({ type: 'run-check', name });
      }),
      after: { interval: { target: 'ticking', reenter: true } },
      on: {
        RESULT: {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const before = context.counter;
            const after = countResult(context.cfg, before, event.ok);
            enqueue.assign({ running: false, counter: after });
            if (after.health !== before.health && after.health !== 'unknown') {
              enqueue.emit({
                type: 'health',
                name: context.cfg.name,
                health: after.health,
                previous: before.health,
                ...(event.detail !== undefined ? { detail: event.detail } : {}),
              });
            }
          }),
        },
        STOP: 'stopped',
      },
    },
    stopped: { type: 'final' },
  },
});

export type TrackScriptActor = Actor<typeof trackScriptMachine>;

/** The clock that drives the actor (xstate's Clock): real timers, or a simulated clock in tests. */
export interface TrackScriptClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

/**
 * Creates (not starts) the actor. Subscribe with `actor.on('run-check' | 'health' | ...)`
 * before `actor.start()`: the first `run-check` is emitted on start.
 *
 * @throws TypeError on settings the config layer should have refused (programmer error).
 */
export function createTrackScript(input: TrackScriptInput, clock: TrackScriptClock): TrackScriptActor {
  if (!(input.intervalMs > 0) || !Number.isInteger(input.rise) || input.rise < 1 || !Number.isInteger(input.fall) || input.fall < 1) {
    throw new TypeError(`track script ${input.name}: interval must be > 0, rise and fall integers >= 1`);
  }
  return createActor(trackScriptMachine, { input, clock });
}
