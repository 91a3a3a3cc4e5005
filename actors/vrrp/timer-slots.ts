/**
 * The delayed events of one VRRP actor (Adver_Timer, Master_Down_Timer,
 * preempt_delay) as one slot per timer id, in place of XState's default
 * scheduler. That one builds a `${session}.${id}` key, a record, a
 * Date.now() reading and a closure per schedule, and keeps them in objects
 * whose keys come and go: a Backup re-arms Master_Down_Timer on every advert,
 * so that bookkeeping was a tenth of its CPU (bench/runner-path.ts). A slot
 * keeps its firing callback for the actor's life: re-arming is one
 * clearTimeout and one setTimeout on the clock, in the order XState's
 * scheduler makes them, so timers due at the same instant still fire in the
 * same order (bench/machine-equivalence.ts checks it).
 */
import type { AnyActorRef, EventObject } from 'xstate';

/** The part of the instance clock the slots use. */
export interface SlotClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  /** Used for the ids given as precise, when present (VrrpClock.precise). */
  precise?: {
    setTimeout(fn: () => void, ms: number): unknown;
    clearTimeout(id: unknown): void;
  };
}

type Timers = Pick<SlotClock, 'setTimeout' | 'clearTimeout'>;

interface Slot {
  /** The clock's precise timers or its plain ones: fixed by the slot's id. */
  readonly timers: Timers;
  handle: unknown;
  target: AnyActorRef | null;
  event: EventObject | null;
  readonly fire: () => void;
}

export class TimerSlots {
  private readonly slots = new Map<string, Slot>();
  private anonymous = 0;

  constructor(
    private readonly clock: SlotClock,
    private readonly preciseIds: ReadonlySet<string> = new Set(),
  ) {}

  /**
   * Arms the slot `id` to send `event` to `target` after `delay` ms. A slot
   * still armed is cleared first (XState's scheduler would leave the old timer
   * running; the VRRP machine always cancels before re-arming).
   */
  schedule(_source: AnyActorRef, target: AnyActorRef, event: EventObject, delay: number, id: string | undefined): void {
    const key = id ?? `#anonymous-${this.anonymous++}`;
    let slot = this.slots.get(key);
    if (!slot) {
      const created: Slot = {
        timers: id !== undefined && this.preciseIds.has(id) && this.clock.precise ? this.clock.precise : this.clock,
        handle: undefined,
        target: null,
        event: null,
        fire: () => {
          created.handle = undefined;
          const { target: to, event: what } = created;
          if (id === undefined) this.slots.delete(key);
          if (to && what) to.send(what);
        },
      };
      this.slots.set(key, created);
      slot = created;
    } else if (slot.handle !== undefined) slot.timers.clearTimeout(slot.handle);
    slot.target = target;
    slot.event = event;
    slot.handle = slot.timers.setTimeout(slot.fire, delay);
  }

  cancel(_source: AnyActorRef, id: string): void {
    const slot = this.slots.get(id);
    if (!slot || slot.handle === undefined) return;
    slot.timers.clearTimeout(slot.handle);
    slot.handle = undefined;
  }

  cancelAll(_actorRef: AnyActorRef): void {
    for (const [id, slot] of this.slots) {
      if (slot.handle !== undefined) this.cancel(_actorRef, id);
    }
  }
}

/**
 * Gives a freshly created actor (its own system) timer slots on `clock`,
 * before it starts; the timers named in `preciseIds` use `clock.precise` when it has one.
 */
export function useTimerSlots(actor: { system: { scheduler: unknown } }, clock: SlotClock, preciseIds?: ReadonlySet<string>): void {
  actor.system.scheduler = new TimerSlots(clock, preciseIds);
}
