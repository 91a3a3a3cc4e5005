/**
 * Takeover rehearsal: the VRRP machine's takeover steps run on a throwaway
 * actor on a simulated clock, so that V8 has compiled and optimized the code
 * a real takeover runs before one is due.
 *
 * A daemon's instances spend their life on the hot path (an advert accepted,
 * an Adver_Timer fired) and reach XState's general interpreter only when the
 * state changes: a few times in their life. That code then runs as
 * bytecode. Measured at 0.01 s adverts, a Backup's step from its
 * Master_Down_Timer firing to its transition took 0.23-0.56 ms in the daemon,
 * about half the time a takeover takes beyond Master_Down_Interval; the same
 * step on a warmed-up machine takes about 0.03 ms.
 *
 * Pure: the actor has no listeners and its own simulated clock; nothing of
 * it reaches the wire, the host or an event.
 */
import { SimulatedClock } from 'xstate';
import { createVrrpInstance } from './instance.js';
import { masterDownIntervalMs } from './timing.js';
import { ScreenedAdvert } from './receive.js';
import type { AdvertEvent, VrrpInput } from './types.js';

/** Rounds a daemon's start rehearses: enough for V8's optimizing tier on the interpreter's functions. */
export const REHEARSAL_ROUNDS = 200;

/**
 * Runs `rounds` takeovers, and the steps back, on a throwaway copy of
 * `input` (a lone instance of priority 100 with one rival at 200): Backup to
 * Master by Master_Down_Timer and by Skew_Time after a priority-0 advert,
 * and Master to Backup on a higher-priority advert.
 * @returns how many rounds ended in Master (every one, unless the machine changed).
 */
export function rehearseTakeovers(input: VrrpInput, rounds: number = REHEARSAL_ROUNDS): number {
  const clock = new SimulatedClock();
  const copy: VrrpInput = {
    name: `${input.name} (rehearsal)`,
    vrid: input.vrid,
    family: input.family,
    version: input.version,
    priority: 100,
    advertIntervalCs: input.advertIntervalCs,
    preempt: true,
    preemptDelayMs: 0,
    primaryAddress: input.primaryAddress,
    virtualAddresses: input.virtualAddresses,
  };
  const actor = createVrrpInstance(copy, { clock });
  const rival = Uint8Array.from(input.primaryAddress);
  const last = rival.length - 1;
  rival[last] = rival[last]! ^ 1;
  // The daemon's own kind of event (its shape is what V8 optimizes for), stamped with its arrival as the daemon's are.
  const advert = (priority: number): AdvertEvent => new ScreenedAdvert(priority, input.advertIntervalCs, rival, input.version, clock.now());
  const masterDown = masterDownIntervalMs({ version: input.version, priority: 100, masterAdvertIntervalCs: input.advertIntervalCs }) + 1;
  let masters = 0;
  actor.start();
  try {
    actor.send({ type: 'START' });
    for (let i = 0; i < rounds; i++) {
      actor.send(advert(200));
      clock.increment(1);
      actor.send(advert(200));
      // Every other round the rival leaves with a priority-0 advert (Skew_Time) rather than falling silent.
      if (i % 2 === 1) actor.send(advert(0));
      clock.increment(masterDown);
      if (isMaster(actor.getSnapshot().value)) masters++;
    }
  } finally {
    actor.stop();
  }
  return masters;
}

function isMaster(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'master' in value;
}
