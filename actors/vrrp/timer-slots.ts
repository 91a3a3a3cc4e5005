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
 * same order (bench/machine-equivalence.ts checks it). A clock that can
 * make re-armable timers (SlotClock.createTimer) gives each named slot one,
 * so a re-arm allocates nothing.
 */
import type { AnyActorRef, EventObject } from 'xstate';

/**
 * A timer made once for one callback and re-armed in place. Every start
 * replaces the one before; the callback runs only for the latest start.
 */
export interface ReusableTimer {
  start(ms: number): void;
  /** No firing until the next start (the host timer may stay set, to be re-armed in place). */
  cancel(): void;
  /** Cancels and releases the host timer: the actor stopped. */
  dispose(): void;
  /** Optional: when it next wakes the loop (clock ms), which may be before it fires; Infinity when not running. */
  nextWake?(): number;
  /**
   * Optional: moves the wake-up on to `until` (clock ms), the due time left
   * as it is, for a `soon` that will re-arm the timer by then. False when
   * nothing was moved.
   */
  postpone?(until: number): boolean;
}

/** A named slot's wake-up, as TimerSlots.beforeFire gives it. */
export interface SlotWake {
  /** When the slot's timer next wakes the loop (clock ms): Infinity when not armed, NaN when the timer cannot say. */
  next(): number;
  /** Moves that wake-up on to `until` (ReusableTimer.postpone): false when the slot is not armed or its timer cannot. */
  postpone(until: number): boolean;
}

interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  /**
   * Optional: a re-armable timer for `fire`, used for named slots instead of
   * a timeout per arm. A timer that waits out its last stretch (precise ones)
   * calls `soon` before it does, so that a slot's check can re-arm it first.
   */
  createTimer?(fire: () => void, soon?: () => void): ReusableTimer;
}

/** The part of the instance clock the slots use. */
export interface SlotClock extends Timers {
  /** Used for the ids given as precise, when present (VrrpClock.precise). */
  precise?: Timers;
}

interface Slot {
  /** The clock's precise timers or its plain ones: fixed by the slot's id. */
  readonly timers: Timers;
  handle: unknown;
  /** The slot's re-armable timer when the clock makes them (then `handle` is unused). */
  timer: ReusableTimer | null;
  armed: boolean;
  target: AnyActorRef | null;
  event: EventObject | null;
  /** Runs before the slot fires (TimerSlots.beforeFire). */
  check: (() => void) | null;
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
    arm(this.slots.get(key) ?? this.createSlot(key, id), target, event, delay);
  }

  /**
   * Re-arms the named slot `id` as `schedule` would, through a function that
   * keeps the slot: a Backup re-arms Master_Down_Timer on every advert, and
   * the lookup by name (twice, with the cancel before) was part of that cost.
   */
  rearmer(id: string): (target: AnyActorRef, event: EventObject, delay: number) => void {
    let slot: Slot | undefined;
    return (target, event, delay) => {
      slot ??= this.slots.get(id) ?? this.createSlot(id, id);
      arm(slot, target, event, delay);
    };
  }

  /**
   * Runs `check` before the named slot `id` fires, and when its timer says
   * the firing is near: a check that re-arms the slot stops the firing. The
   * runner applies there the repeats of a Backup's advert that the addon
   * absorbed (wire/socket RepeatAbsorber), which re-arms Master_Down_Timer.
   * Returns the slot's wake-up (kept: the runner asks per advert): when its
   * timer next wakes the loop, and a way to move that on when the check
   * will re-arm the slot by then anyway.
   */
  beforeFire(id: string, check: () => void): SlotWake {
    const slot = this.slots.get(id) ?? this.createSlot(id, id);
    slot.check = check;
    return {
      next: () => {
        if (!slot.armed) return Infinity;
        return slot.timer?.nextWake ? slot.timer.nextWake() : NaN;
      },
      postpone: (until) => slot.armed && slot.timer?.postpone !== undefined && slot.timer.postpone(until),
    };
  }

  private createSlot(key: string, id: string | undefined): Slot {
    const timers = id !== undefined && this.preciseIds.has(id) && this.clock.precise ? this.clock.precise : this.clock;
    const created: Slot = {
      timers,
      handle: undefined,
      timer: null,
      armed: false,
      target: null,
      event: null,
      check: null,
      fire: () => {
        created.handle = undefined;
        created.armed = false;
        if (created.check !== null) {
          created.check();
          if (created.armed) return;
        }
        const { target: to, event: what } = created;
        if (id === undefined) this.slots.delete(key);
        if (to && what) to.send(what);
      },
    };
    // Anonymous slots live for one firing: a re-armable timer would not be re-armed.
    if (id !== undefined && timers.createTimer) created.timer = timers.createTimer(created.fire, () => created.check?.());
    this.slots.set(key, created);
    return created;
  }

  cancel(_source: AnyActorRef, id: string): void {
    const slot = this.slots.get(id);
    if (!slot || !slot.armed) return;
    slot.armed = false;
    if (slot.timer) {
      slot.timer.cancel();
      return;
    }
    slot.timers.clearTimeout(slot.handle);
    slot.handle = undefined;
  }

  cancelAll(_actorRef: AnyActorRef): void {
    for (const [id, slot] of this.slots) {
      if (slot.armed) this.cancel(_actorRef, id);
      // The actor stopped: nothing of it stays on the host's loop.
      slot.timer?.dispose();
    }
  }
}

/** Arms `slot`, replacing what it had armed (a re-armable timer's start replaces its last one). */
function arm(slot: Slot, target: AnyActorRef, event: EventObject, delay: number): void {
  if (slot.timer === null && slot.handle !== undefined) slot.timers.clearTimeout(slot.handle);
  slot.target = target;
  slot.event = event;
  slot.armed = true;
  if (slot.timer) slot.timer.start(delay);
  else slot.handle = slot.timers.setTimeout(slot.fire, delay);
}

/**
 * Gives a freshly created actor (its own system) timer slots on `clock`,
 * before it starts; the timers named in `preciseIds` use `clock.precise` when it has one.
 */
export function useTimerSlots(actor: { system: { scheduler: unknown } }, clock: SlotClock, preciseIds?: ReadonlySet<string>): void {
  actor.system.scheduler = new TimerSlots(clock, preciseIds);
}
