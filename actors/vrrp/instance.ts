/**
 * Creating a running VRRP instance actor on a given clock.
 */
import { createActor, type Actor } from 'xstate';
import type { Logger } from '../../core/logger.js';
import { validateInput } from './context.js';
import { TAKEOVER_TIMER_IDS, vrrpMachine } from './machine.js';
import { formatAddress } from './timing.js';
import { useTimerSlots, type ReusableTimer } from './timer-slots.js';
import type { VrrpInput } from './types.js';

/**
 * The clock that drives an instance: XState's Clock plus a reading. xstate's
 * SimulatedClock and sim/'s VirtualClock both fit; {@link systemClock} is real time.
 */
export interface VrrpClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
  now(): number;
  /**
   * Optional: a timer made once and re-armed in place, for the machine's
   * named timers (timer-slots.ts), when the clock can do that without an
   * allocation per arm (the daemon's real-time clock).
   */
  createTimer?(fire: () => void, soon?: () => void): ReusableTimer;
  /**
   * Timers for the waits a takeover ends (Master_Down_Timer, Skew_Time), when
   * the clock can fire them closer to their due time than `setTimeout` (the
   * daemon's real-time clock: daemon/precise-timer.ts). Without it they use
   * `setTimeout` like every other timer; a simulated clock needs none.
   */
  precise?: {
    setTimeout(fn: () => void, timeout: number): unknown;
    clearTimeout(id: unknown): void;
    createTimer?(fire: () => void, soon?: () => void): ReusableTimer;
  };
}

/** Real time (monotonic ms) with the host's timers. */
export const systemClock: VrrpClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
  now: () => performance.now(),
};

export type VrrpActor = Actor<typeof vrrpMachine>;

export interface VrrpInstanceOptions {
  clock: VrrpClock;
  /** When given, transitions and warnings are logged on a child logger ({ instance, vrid }). */
  logger?: Logger;
}

/**
 * Creates (but does not start) an instance actor. Call `actor.start()` to run the
 * machine, then send `{ type: 'START' }` to leave Initialize. Subscribe to commands
 * with `actor.on('send-advert', ...)` etc. before sending START.
 *
 * Throws a TypeError on an input the configuration layer should have rejected
 * (a programmer error, not a runtime condition).
 */
export function createVrrpInstance(input: VrrpInput, options: VrrpInstanceOptions): VrrpActor {
  const problems = validateInput(input);
  if (problems.length > 0) throw new TypeError(`vrrp instance ${input.name}: ${problems.join('; ')}`);
  const clock = options.clock;
  const actor = createActor(vrrpMachine, { clock, input: { ...input, now: () => clock.now() } });
  useTimerSlots(actor, clock, TAKEOVER_TIMER_IDS);
  if (options.logger) {
    const log = options.logger.child({ instance: input.name, vrid: input.vrid });
    actor.on('transition', (e) =>
      log.info(
        {
          from: e.from,
          to: e.to,
          reason: e.reason,
          effectivePriority: e.effectivePriority,
          basePriority: e.basePriority,
          master: e.masterSeen ? formatAddress(e.masterSeen) : undefined,
          at: e.at,
        },
        'vrrp transition',
      ),
    );
    actor.on('warning', (e) => log.warn({ code: e.code, ...e.detail }, e.message));
  }
  return actor;
}

/** What a started actor keeps in place of its creation options. */
const STARTED_OPTIONS = Object.freeze({});

/**
 * Starts the actor and lets go of the options it was created with. XState
 * keeps them for the actor's life, input included: a copy of the instance's
 * whole input, and with the options a hidden class of their own each (~1.6
 * KiB an instance). xstate 5 reads them only while constructing the actor
 * and in `start()`; test/actors/vrrp/instance.test.ts checks that they are
 * gone and that the actor runs on.
 */
export function startVrrpInstance(actor: VrrpActor): void {
  actor.start();
  (actor as unknown as { options: object }).options = STARTED_OPTIONS;
}
