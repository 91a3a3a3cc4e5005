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
  const actor = createVrrpInstance(understudyInput(input), { clock });
  const advert = rivalAdverts(input, clock);
  const masterDown = understudyMasterDownMs(input);
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

/**
 * A throwaway copy of an instance kept as a Backup, to take the one step a
 * takeover runs (Master_Down_Timer fires, Backup to Master) just before a
 * real takeover does. The rehearsals keep that code compiled, but a daemon
 * that has been idle meets a takeover with the code and the machine's data
 * out of the CPU's caches: measured in the daemon at 0.01 s adverts (two
 * pairs of 30 crash takeovers), the real step took 0.28-0.30 ms (medians),
 * and 0.18-0.20 ms right after the copy had taken it; the copy's own step
 * took 0.3-0.45 ms, on the loop's time before the due time.
 */
export class TakeoverUnderstudy {
  private readonly clock = new SimulatedClock();
  private readonly actor: ReturnType<typeof createVrrpInstance>;
  private readonly advert: (priority: number) => AdvertEvent;
  private readonly masterDownMs: number;

  constructor(input: VrrpInput) {
    this.actor = createVrrpInstance(understudyInput(input), { clock: this.clock });
    this.advert = rivalAdverts(input, this.clock);
    this.masterDownMs = understudyMasterDownMs(input);
    this.actor.start();
    this.actor.send({ type: 'START' });
    // A Backup that has heard its Master, so that its Master_Down_Timer is the interval `step` moves past.
    this.actor.send(this.advert(200));
  }

  /** A Backup, ready to step. */
  get ready(): boolean {
    return isBackup(this.actor.getSnapshot().value);
  }

  /**
   * Master_Down_Timer fires on the copy: Backup to Master. False, with
   * nothing run, when it is not a Backup (it stepped, and was not reset).
   */
  step(): boolean {
    if (!this.ready) return false;
    this.clock.increment(this.masterDownMs);
    return isMaster(this.actor.getSnapshot().value);
  }

  /** Back to Backup: the rival's higher-priority advert. Off any takeover's path. */
  reset(): void {
    if (this.ready) return;
    this.actor.send(this.advert(200));
  }

  stop(): void {
    this.actor.stop();
  }
}

/** The copy rehearsals run: a lone instance of priority 100, preempting, whose rival has 200. */
function understudyInput(input: VrrpInput): VrrpInput {
  return {
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
}

/** The rival's adverts: the daemon's own kind of event (its shape is what V8 optimizes for), stamped with its arrival as the daemon's are. */
function rivalAdverts(input: VrrpInput, clock: SimulatedClock): (priority: number) => AdvertEvent {
  const rival = Uint8Array.from(input.primaryAddress);
  const last = rival.length - 1;
  rival[last] = rival[last]! ^ 1;
  return (priority) => new ScreenedAdvert(priority, input.advertIntervalCs, rival, input.version, clock.now());
}

/** Just past the copy's Master_Down_Interval: moving the clock on by it fires Master_Down_Timer. */
function understudyMasterDownMs(input: VrrpInput): number {
  return masterDownIntervalMs({ version: input.version, priority: 100, masterAdvertIntervalCs: input.advertIntervalCs }) + 1;
}

function isBackup(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'backup' in value;
}

function isMaster(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'master' in value;
}
