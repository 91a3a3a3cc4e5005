/**
 * The VRRP instance state machine (RFC 5798 §6.4, updated by RFC 9568), with the
 * keepalived behaviours vipflow must reproduce to interoperate: tracked-object
 * weights and Fault, preempt_delay, `state MASTER` as a hint, re-announcing on a
 * lower-priority advert (garp_lower_prio, lower_prio_no_advert), v2 interval checks;
 * and a rate limit on a Master's immediate answers (reply-limit.ts).
 *
 * Pure: the machine only emits commands (send-advert, add-addresses, ...). Timers
 * are `after` transitions on the actor's clock, with durations from `delays` below
 * and the formulas in timing.ts.
 *
 * Reading guide: the `states` block at the bottom is the event table: for every
 * state, every event it reacts to and the ordered list of guarded reactions.
 * Anything not listed is ignored in that state. The two reactions every
 * instance repeats once per advert interval are also taken without XState's
 * interpreter (see `hotTransition` at the end), to the same effect.
 */
import { and, assign, cancel, emit, enqueueActions, not, raise, setup, stateIn } from 'xstate';
import { isOwner, initialContext, withBasePriority, withTrack, type PriorityInputs } from './context.js';
import { centisecondsToMs, compareAddresses, formatAddress, initialMasterHintMs, masterDownIntervalMs, PRIORITY_STOP, skewTimeMs } from './timing.js';
import { unusableAdvert } from './receive.js';
import { recordReply, replyAllowed, senderKey } from './reply-limit.js';
import { TimerSlots } from './timer-slots.js';
import type { AdvertEvent, TransitionReason, VrrpCommand, VrrpContext, VrrpEvent, VrrpMachineInput, VrrpStateName } from './types.js';

const PREEMPT_HOLD_ID = 'preemptHold';
const ADVER_TIMER_ID = 'adverTimer';
export const MASTER_DOWN_TIMER_ID = 'masterDownTimer';
/**
 * The timers whose expiry makes a Backup Master: Master_Down_Timer, and
 * Skew_Time after a priority-0 advert (XState names an `after` timer
 * `xstate.after.<delay>.<state id>`). A clock that can fire some timers more
 * precisely than others spends that on these (VrrpClock.precise).
 */
export const TAKEOVER_TIMER_IDS: ReadonlySet<string> = new Set([MASTER_DOWN_TIMER_ID, 'xstate.after.skew.vrrp.backup.skewing']);

/**
 * Adver_Timer and Master_Down_Timer expiring. They are what an `after` transition
 * raises, made explicit so that the two most frequent events (a Master's
 * Adver_Timer, a Backup accepting its master's advert) re-arm the timer with a
 * targetless transition: re-entering a state, as `after` needs, costs XState's
 * exit and entry set computation on every advert (measured: bench/actors.ts).
 * Same delays, same cancel-then-schedule order, same times as `after`.
 */
type TimerEvent = { type: 'ADVER_TIMER' } | { type: 'MASTER_DOWN_TIMER' };

/** The events the timers raise: one object each, shared by every instance (they carry nothing else). */
const ADVER_TIMER_EVENT = { type: 'ADVER_TIMER' } as const;
const MASTER_DOWN_TIMER_EVENT = { type: 'MASTER_DOWN_TIMER' } as const;

interface TransitionParams {
  from: VrrpStateName;
  to: VrrpStateName;
  reason: TransitionReason;
}

/**
 * The reason a sync-group order gives: a Backup the group lets become Master
 * keeps its own (its timer expired), a member whose fault cleared last says
 * so; every other member moved because of the group.
 */
function syncReason(ctx: VrrpContext, event: VrrpEvent | TimerEvent): TransitionReason {
  if (event.type === 'SYNC_MASTER') return ctx.wantMaster ?? 'sync-group';
  if (event.type === 'SYNC_BACKUP') return event.reason ?? 'sync-group';
  return 'sync-group';
}

function advertOf(event: VrrpEvent | TimerEvent): AdvertEvent | null {
  return event.type === 'ADVERT' ? event : null;
}

function adverTimerMs(ctx: VrrpContext): number {
  return centisecondsToMs(ctx.cfg.advertIntervalCs);
}

function masterDownMs(ctx: VrrpContext): number {
  return Math.max(0, ctx.masterDownDeadline - ctx.cfg.now());
}

function timingOf(ctx: VrrpContext, priority = ctx.effectivePriority) {
  return { version: ctx.cfg.version, priority, masterAdvertIntervalCs: ctx.masterAdvertIntervalCs };
}

/** The priority inputs a TRACK or SET_PRIORITY event would produce (null: nothing to apply). */
function priorityInputsAfter(ctx: VrrpContext, event: VrrpEvent | TimerEvent): PriorityInputs | null {
  if (event.type === 'TRACK') return withTrack(ctx, event.id, event.up, event.offset);
  if (event.type === 'SET_PRIORITY') return withBasePriority(ctx, event.priority);
  return null;
}

/**
 * RFC 5798 §6.4.2: a Backup accepts (resets its Master_Down_Timer on) an advert
 * of priority ≥ its own, or any advert when preempt is off. keepalived's
 * preempt_delay also accepts lower-priority adverts until the hold-off expires.
 */
function backupAccepts(ctx: VrrpContext, ad: AdvertEvent): boolean {
  return !ctx.cfg.preempt || ad.priority >= ctx.effectivePriority || (ctx.cfg.preemptDelayMs > 0 && ctx.preemptHold !== 'expired');
}

/** Rare duties on an accepted advert: preempt_delay bookkeeping, reporting a new interval. */
function hasSideDuties(ctx: VrrpContext, ad: AdvertEvent): boolean {
  if (ctx.cfg.preemptDelayMs > 0) return true;
  return ad.intervalCs !== ctx.cfg.advertIntervalCs && ctx.lastMismatchCs !== ad.intervalCs;
}

/**
 * The Backup's common case: the advert that the `backup` state's ADVERT list
 * would give to its last, plain accepting branch (usable, not priority 0,
 * accepted, no group wish, no side duties).
 */
function acceptsPlainAdvert(ctx: VrrpContext, ad: AdvertEvent): boolean {
  return (
    unusableAdvert(ctx.cfg, ad) === null &&
    ad.priority !== PRIORITY_STOP &&
    backupAccepts(ctx, ad) &&
    ctx.wantMaster === null &&
    !ctx.heardUnaccepted &&
    !hasSideDuties(ctx, ad)
  );
}

/** Counters for every advert that passed the screen (plain mutation: see VrrpContext.stats). */
function countReceived(ctx: VrrpContext, ad: AdvertEvent): void {
  const n = ad.copies ?? 1;
  ctx.stats.advertsReceived += n;
  if (ad.priority === PRIORITY_STOP) ctx.stats.priorityZeroReceived += n;
  if (ad.intervalCs !== ctx.cfg.advertIntervalCs) ctx.stats.intervalMismatches += n;
}

/**
 * When a Backup's timers count from for this advert: its arrival (the
 * kernel's receive stamp, AdvertEvent.receivedAt), not when the machine got
 * to it, so time the event loop spent elsewhere does not push a takeover
 * past Master_Down_Interval (RFC 5798 §6.4.2 resets the timer on receipt).
 * Credited at most one advert interval before it was read: an advert read
 * late after a stall then never expires its own timer while a newer one
 * still waits in the socket queue behind it. (Read is now, but for repeats
 * the addon absorbed, which were read when they came: AdvertEvent.readAt.)
 */
function arrivalOf(ctx: VrrpContext, ad: AdvertEvent | null, intervalCs: number): number {
  const now = ctx.cfg.now();
  const at = ad?.receivedAt;
  if (at === undefined || !(at < now)) return now;
  const readAt = ad!.readAt;
  const read = readAt !== undefined && readAt < now ? readAt : now;
  return Math.max(at, read - centisecondsToMs(intervalCs));
}

/** The timing input acceptMaster fills in place (the machine runs one event at a time), so the per-advert path builds none. */
const ACCEPT_TIMING: { version: 2 | 3; priority: number; masterAdvertIntervalCs: number } = { version: 3, priority: 0, masterAdvertIntervalCs: 0 };

/** Master_Down_Interval (ms) with `learned` as Master_Adver_Interval, at `from`'s version and priority. */
function masterDownWithLearned(from: VrrpContext, learned: number): number {
  ACCEPT_TIMING.version = from.cfg.version;
  ACCEPT_TIMING.priority = from.effectivePriority;
  ACCEPT_TIMING.masterAdvertIntervalCs = learned;
  return masterDownIntervalMs(ACCEPT_TIMING);
}

/**
 * The Master_Down_Interval (ms) that accepting a Master's advert with this
 * interval (cs) sets: v3 learns the interval (RFC 5798 §6.4.2), v2 keeps its
 * own. The runner moves an absorbed repeat's wake-up by it.
 */
export function acceptedMasterDownIntervalMs(from: VrrpContext, advertIntervalCs: number): number {
  return masterDownWithLearned(from, from.cfg.version === 3 ? advertIntervalCs : from.masterAdvertIntervalCs);
}

/** Accepting a master, written into `ctx`: Master_Adver_Interval (v3 learns it, RFC 5798 §6.4.2) and the Master_Down deadline. */
function acceptMasterInto(ctx: { masterAdvertIntervalCs: number; masterDownDeadline: number }, from: VrrpContext, ad: AdvertEvent | null): void {
  const learned = from.cfg.version === 3 && ad ? ad.intervalCs : from.masterAdvertIntervalCs;
  const deadline = arrivalOf(from, ad, learned) + masterDownWithLearned(from, learned);
  ctx.masterAdvertIntervalCs = learned;
  ctx.masterDownDeadline = deadline;
}

/** What accepting a master sets, as a new object (for `assign`). */
function masterAccepted(ctx: VrrpContext, ad: AdvertEvent | null): { masterAdvertIntervalCs: number; masterDownDeadline: number } {
  const accepted = { masterAdvertIntervalCs: 0, masterDownDeadline: 0 };
  acceptMasterInto(accepted, ctx, ad);
  return accepted;
}

function noteMaster(ctx: VrrpContext, ad: AdvertEvent): void {
  // The same master's address is kept: each advert's own copy, held for an
  // interval, outlived the young generation and became old-space garbage.
  const last = ctx.stats.lastMasterAddress;
  if (last === null || compareAddresses(last, ad.source) !== 0) ctx.stats.lastMasterAddress = ad.source;
  ctx.stats.lastMasterPriority = ad.priority;
}

function transitionCommand(context: VrrpContext, params: TransitionParams): VrrpCommand {
  const masterSeen = params.to === 'master' ? context.cfg.primaryAddress : params.to === 'backup' ? context.stats.lastMasterAddress : null;
  return {
    type: 'transition',
    from: params.from,
    to: params.to,
    reason: params.reason,
    effectivePriority: context.effectivePriority,
    basePriority: context.basePriority,
    ...(masterSeen ? { masterSeen } : {}),
    at: context.cfg.now(),
  };
}

export const vrrpMachine = setup({
  types: {
    context: {} as VrrpContext,
    events: {} as VrrpEvent | TimerEvent,
    input: {} as VrrpMachineInput,
    emitted: {} as VrrpCommand,
  },
  delays: {
    /** Adver_Timer: the local Advertisement_Interval. */
    adverTimer: ({ context }) => adverTimerMs(context),
    /** Master_Down_Timer: armed as an absolute deadline so a priority change can move it (keepalived does). */
    masterDown: ({ context }) => masterDownMs(context),
    /** Master_Down_Timer after a priority-0 advert (RFC 5798 §6.4.2), counted from its arrival. */
    skew: ({ context, event }) => {
      const now = context.cfg.now();
      return Math.max(0, skewTimeMs(timingOf(context)) - (now - arrivalOf(context, advertOf(event), context.masterAdvertIntervalCs)));
    },
    /** keepalived's preempt_delay hold-off. */
    preemptDelay: ({ context }) => context.cfg.preemptDelayMs,
  },
  guards: {
    hasFault: ({ context }) => context.faultCount > 0,
    isGrouped: ({ context }) => context.cfg.syncGroup !== undefined,
    isWantingMaster: ({ context }) => context.wantMaster !== null,
    /** RFC 5798 §6.4.1: the address owner goes straight to Master, unless keepalived's `state BACKUP` says otherwise. */
    startsAsOwner: ({ context }) => isOwner(context) && context.cfg.initialState !== 'BACKUP' && context.cfg.syncGroup === undefined,
    hintsMaster: ({ context }) => context.cfg.initialState === 'MASTER',
    isUnusableAdvert: ({ context, event }) => {
      const ad = advertOf(event);
      return ad !== null && unusableAdvert(context.cfg, ad) !== null;
    },
    isPriorityZero: ({ event }) => advertOf(event)?.priority === PRIORITY_STOP,
    /** A Master's immediate answer to this advert's sender is within the rate limit (reply-limit.ts). */
    replyAllowed: ({ context, event }) => {
      const ad = advertOf(event);
      return ad !== null && replyAllowed(context.replies, senderKey(ad.source), context.cfg.now(), centisecondsToMs(context.cfg.advertIntervalCs));
    },
    backupAccepts: ({ context, event }) => {
      const ad = advertOf(event);
      return ad !== null && backupAccepts(context, ad);
    },
    hasSideDuties: ({ context, event }) => {
      const ad = advertOf(event);
      return ad !== null && hasSideDuties(context, ad);
    },
    /**
     * The Backup's common case in one guard: the advert that the `backup` state's
     * ADVERT list would give to its last, plain accepting branch (usable, not
     * priority 0, accepted, no group wish, no side duties).
     */
    acceptsPlainAdvert: ({ context, event }) => {
      const ad = advertOf(event);
      return ad !== null && acceptsPlainAdvert(context, ad);
    },
    /** RFC 5798 §6.4.3: higher priority, or equal priority from a higher primary address. */
    peerWinsElection: ({ context, event }) => {
      const ad = advertOf(event);
      if (!ad) return false;
      if (ad.priority !== context.effectivePriority) return ad.priority > context.effectivePriority;
      return compareAddresses(ad.source, context.cfg.primaryAddress) > 0;
    },
    isOwnAddressAdvert: ({ context, event }) => {
      const ad = advertOf(event);
      return ad !== null && ad.priority === context.effectivePriority && compareAddresses(ad.source, context.cfg.primaryAddress) === 0;
    },
    trackEntersFault: ({ context, event }) => {
      const next = priorityInputsAfter(context, event);
      return next !== null && context.faultCount === 0 && next.faultCount > 0;
    },
    trackClearsFault: ({ context, event }) => {
      const next = priorityInputsAfter(context, event);
      return next !== null && context.faultCount > 0 && next.faultCount === 0;
    },
    isListening: stateIn('#vrrp.backup.listening'),
  },
  actions: {
    /**
     * Adver_Timer's duty, once per advert interval on every Master: a counter and
     * one emit, kept apart (not one enqueueActions) because enqueueActions builds
     * its helper closures on every call (measured: bench/actors.ts).
     */
    countAdvertSent: ({ context }) => {
      context.stats.advertsSent++;
    },
    sendAdvert: emit(({ context }) => ({ type: 'send-advert' as const, priority: context.effectivePriority, intervalCs: context.cfg.advertIntervalCs })),
    /** RFC 5798 §6.4.3 shutdown / keepalived leaving Master for Fault: tell backups to take over after Skew_Time. */
    sendPriorityZero: enqueueActions(({ context, enqueue }) => {
      enqueue(({ context: c }) => {
        c.stats.advertsSent++;
        c.stats.priorityZeroSent++;
      });
      enqueue.emit({ type: 'send-advert', priority: PRIORITY_STOP, intervalCs: context.cfg.advertIntervalCs });
    }),
    addAddresses: enqueueActions(({ context, enqueue }) => {
      enqueue(({ context: c }) => {
        c.stats.becameMaster++;
      });
      enqueue.emit({ type: 'add-addresses', addresses: context.cfg.virtualAddresses });
    }),
    /** Gratuitous ARP / unsolicited NA for the VIPs: raw frames, which need no address added first. */
    announceAddresses: emit(({ context }) => ({ type: 'announce' as const, addresses: context.cfg.virtualAddresses, reason: 'became-master' as const })),
    /**
     * `handover`: a better Master was heard, so it holds the addresses already
     * (it adds them before its first advert, or right after it when it took
     * over after silence) and the host may overlap briefly.
     */
    removeAddresses: enqueueActions(({ context, enqueue }, params?: { handover: boolean }) => {
      enqueue(({ context: c }) => {
        c.stats.releasedMaster++;
      });
      enqueue.emit({ type: 'remove-addresses', addresses: context.cfg.virtualAddresses, handover: params?.handover === true });
    }),
    /** Plain mutation, as for stats: the limiter is bounded bookkeeping (reply-limit.ts). */
    recordReply: ({ context, event }) => {
      const ad = advertOf(event);
      if (ad) recordReply(context.replies, senderKey(ad.source), context.cfg.now());
    },
    /**
     * A lower-priority master exists (split brain, or a Backup that took over
     * briefly): assert ourselves now rather than at the next Adver_Timer, unless
     * keepalived's lower_prio_no_advert, and re-announce the addresses because
     * ARP/ND caches may point at it (keepalived's garp_lower_prio_repeat).
     */
    answerLowerPriority: enqueueActions(({ context, enqueue }) => {
      if (context.cfg.lowerPrioNoAdvert) {
        enqueue(({ context: c }) => {
          c.stats.lowerPriorityDiscarded++;
        });
      } else {
        enqueue(({ context: c }) => {
          c.stats.advertsSent++;
        });
        enqueue.emit({ type: 'send-advert', priority: context.effectivePriority, intervalCs: context.cfg.advertIntervalCs });
      }
      enqueue.emit({ type: 'announce', addresses: context.cfg.virtualAddresses, reason: 'lower-priority-advert' });
    }),
    suppressLowerPriorityReply: ({ context }) => {
      context.stats.lowerPriorityRepliesSuppressed++;
      context.stats.lowerPriorityDiscarded++;
    },
    suppressPriorityZeroReply: ({ context }) => {
      context.stats.priorityZeroRepliesSuppressed++;
    },
    /** See countReceived. */
    countAdvert: ({ context, event }) => {
      const ad = advertOf(event);
      if (ad) countReceived(context, ad);
    },
    /**
     * v3 accepts and learns another interval (RFC 5798 §6.4.2) but SHOULD report the
     * mismatch; each new value is reported once instead of once per advert.
     */
    reportIntervalMismatch: enqueueActions(({ context, event, enqueue }) => {
      const ad = advertOf(event);
      if (!ad || ad.intervalCs === context.cfg.advertIntervalCs || context.lastMismatchCs === ad.intervalCs) return;
      enqueue.assign({ lastMismatchCs: ad.intervalCs });
      enqueue.emit({
        type: 'warning',
        code: 'interval-mismatch',
        message: `advert interval ${ad.intervalCs} cs from ${formatAddress(ad.source)} differs from ours ${context.cfg.advertIntervalCs} cs`,
        detail: { received: ad.intervalCs, local: context.cfg.advertIntervalCs, source: formatAddress(ad.source) },
      });
    }),
    discardAdvert: enqueueActions(({ context, event, enqueue }) => {
      const ad = advertOf(event);
      const why = ad && unusableAdvert(context.cfg, ad);
      if (!ad || !why) return;
      const repeat = why.code === 'interval-mismatch' && context.lastMismatchCs === ad.intervalCs;
      enqueue(({ context: c }) => {
        c.stats.advertsDiscarded++;
        if (why.code === 'interval-mismatch') c.stats.intervalMismatches++;
      });
      if (repeat) return;
      if (why.code === 'interval-mismatch') enqueue.assign({ lastMismatchCs: ad.intervalCs });
      enqueue.emit({
        type: 'warning',
        code: why.code,
        message: why.message,
        detail: { source: formatAddress(ad.source), priority: ad.priority, intervalCs: ad.intervalCs },
      });
    }),
    noteUnaccepted: enqueueActions(({ context, enqueue }) => {
      if (!context.heardUnaccepted) enqueue.assign({ heardUnaccepted: true });
    }),
    forgetUnaccepted: enqueueActions(({ context, enqueue }) => {
      if (context.heardUnaccepted) enqueue.assign({ heardUnaccepted: false });
    }),
    countLowerPriorityDiscarded: ({ context, event }) => {
      context.stats.lowerPriorityDiscarded++;
      const ad = advertOf(event);
      if (ad) context.stats.lastMasterAddress = ad.source;
    },
    /** countAdvert then noteMaster, as one action for the Backup's hot path. */
    countMasterAdvert: ({ context, event }) => {
      const ad = advertOf(event);
      if (!ad) return;
      countReceived(context, ad);
      noteMaster(context, ad);
    },
    noteMaster: ({ context, event }) => {
      const ad = advertOf(event);
      if (ad) noteMaster(context, ad);
    },
    /**
     * Accepting a master: v3 learns Master_Adver_Interval from it (RFC 5798 §6.4.2;
     * v2 keeps the local one), then the Master_Down_Timer is armed with it.
     * (A Backup's plain advert does this in `hotTransition`, in place.)
     */
    acceptMaster: assign(({ context, event }) => masterAccepted(context, advertOf(event))),
    resetMasterInterval: assign(({ context }) => ({ masterAdvertIntervalCs: context.cfg.advertIntervalCs })),
    armMasterDown: assign(({ context }) => ({ masterDownDeadline: context.cfg.now() + masterDownIntervalMs(timingOf(context)) })),
    armMasterHint: assign(({ context }) => ({ masterDownDeadline: context.cfg.now() + initialMasterHintMs(timingOf(context)) })),
    /**
     * keepalived's preempt_delay: the first lower-priority advert a Backup accepts
     * starts the hold-off; an advert of priority ≥ ours ends it.
     */
    updatePreemptHold: enqueueActions(({ context, event, enqueue }) => {
      const ad = advertOf(event);
      if (!ad || context.cfg.preemptDelayMs <= 0) return;
      if (ad.priority >= context.effectivePriority) {
        if (context.preemptHold !== 'idle') {
          enqueue.cancel(PREEMPT_HOLD_ID);
          enqueue.assign({ preemptHold: 'idle' });
        }
      } else if (context.preemptHold === 'idle') {
        enqueue.assign({ preemptHold: 'holding' });
        enqueue.raise({ type: 'PREEMPT_HOLD_EXPIRED' }, { delay: 'preemptDelay', id: PREEMPT_HOLD_ID });
      }
    }),
    expirePreemptHold: assign({ preemptHold: 'expired' as const }),
    startAdverTimer: raise(ADVER_TIMER_EVENT, { delay: 'adverTimer', id: ADVER_TIMER_ID }),
    stopAdverTimer: cancel(ADVER_TIMER_ID),
    startMasterDownTimer: raise(MASTER_DOWN_TIMER_EVENT, { delay: 'masterDown', id: MASTER_DOWN_TIMER_ID }),
    stopMasterDownTimer: cancel(MASTER_DOWN_TIMER_ID),
    /**
     * A grouped Backup's timer expired: it asks its group instead of becoming
     * Master, and waits a full Master_Down_Interval before asking again
     * (keepalived's vrrp_sync_can_goto_master re-arms the timer the same way).
     */
    wantMaster: enqueueActions(({ context, enqueue }, params: { reason: TransitionReason }) => {
      enqueue.assign({ wantMaster: params.reason, masterDownDeadline: context.cfg.now() + masterDownIntervalMs(timingOf(context)) });
      enqueue.emit({ type: 'sync-want-master', want: true, reason: params.reason });
    }),
    /** keepalived: a Backup that accepts a Master's advert no longer wants to be Master. */
    dropWantMaster: enqueueActions(({ context, enqueue }) => {
      if (context.wantMaster === null) return;
      enqueue.emit({ type: 'sync-want-master', want: false, reason: context.wantMaster });
      enqueue.assign({ wantMaster: null });
    }),
    forgetWantMaster: enqueueActions(({ context, enqueue }) => {
      if (context.wantMaster !== null) enqueue.assign({ wantMaster: null });
    }),
    clearPreemptHold: enqueueActions(({ context, enqueue }) => {
      if (context.preemptHold === 'idle') return;
      enqueue.cancel(PREEMPT_HOLD_ID);
      enqueue.assign({ preemptHold: 'idle' });
    }),
    /**
     * Applies TRACK / SET_PRIORITY. With `shiftDeadline` (Backup waiting for the
     * master) the Master_Down deadline moves by the change of Master_Down_Interval,
     * as keepalived moves its timer.
     */
    applyPriorityInputs: enqueueActions(({ context, event, enqueue }, params: { shiftDeadline: boolean }) => {
      const next = priorityInputsAfter(context, event);
      if (next === null) {
        if (event.type === 'TRACK')
          enqueue.emit({ type: 'warning', code: 'unknown-track', message: `unknown tracked object ${event.id}`, detail: { id: event.id } });
        if (event.type === 'SET_PRIORITY')
          enqueue.emit({
            type: 'warning',
            code: 'invalid-priority',
            message: `priority ${event.priority} is not 1..255: ignored`,
            detail: { priority: event.priority },
          });
        return;
      }
      if (next === context) return;
      const from = context.effectivePriority;
      const update: Partial<VrrpContext> = {
        basePriority: next.basePriority,
        tracks: next.tracks,
        effectivePriority: next.effectivePriority,
        faultCount: next.faultCount,
      };
      if (params.shiftDeadline && next.effectivePriority !== from) {
        const delta = masterDownIntervalMs(timingOf(context, next.effectivePriority)) - masterDownIntervalMs(timingOf(context, from));
        update.masterDownDeadline = context.masterDownDeadline + delta;
      }
      enqueue.assign(update);
      if (context.cfg.syncGroup !== undefined && context.faultCount > 0 !== next.faultCount > 0)
        enqueue.emit({ type: 'sync-health', faulty: next.faultCount > 0 });
      if (next.effectivePriority !== from) enqueue.emit({ type: 'priority-changed', from, to: next.effectivePriority, basePriority: next.basePriority });
    }),
    reportConfigWarnings: enqueueActions(({ context, enqueue }) => {
      for (const message of context.cfg.configWarnings) enqueue.emit({ type: 'warning', code: 'config', message });
    }),
    warnOwnAddress: enqueueActions(({ enqueue }) => {
      enqueue.emit({ type: 'warning', code: 'own-address-advert', message: 'equal-priority advert carrying our own primary address' });
    }),
    recordSyncTransition: enqueueActions(({ context, event, enqueue }, params: Omit<TransitionParams, 'reason'>) => {
      enqueue(({ context: c }) => {
        c.stats.transitions++;
      });
      enqueue.emit(transitionCommand(context, { ...params, reason: syncReason(context, event) }));
    }),
    recordTransition: enqueueActions(({ context, enqueue }, params: TransitionParams) => {
      enqueue(({ context: c }) => {
        c.stats.transitions++;
      });
      enqueue.emit(transitionCommand(context, params));
    }),
  },
}).createMachine({
  id: 'vrrp',
  context: ({ input }) => initialContext(input),
  initial: 'initialize',
  on: {
    // Any state: the address is the tie-break key and an advert's source, read only
    // in Backup and Master, and the runner sends it while the instance waits in Fault.
    SET_PRIMARY_ADDRESS: {
      guard: ({ context, event }) => event.address.length === context.cfg.primaryAddress.length,
      actions: assign(({ context, event }) => ({ cfg: { ...context.cfg, primaryAddress: event.address } })),
    },
  },
  states: {
    // RFC 5798 §6.4.1
    initialize: {
      on: {
        START: [
          {
            guard: 'hasFault',
            target: 'fault',
            actions: ['reportConfigWarnings', { type: 'recordTransition', params: { from: 'initialize', to: 'fault', reason: 'startup-fault' } }],
          },
          {
            guard: 'startsAsOwner',
            target: 'master',
            actions: ['reportConfigWarnings', { type: 'recordTransition', params: { from: 'initialize', to: 'master', reason: 'address-owner' } }],
          },
          {
            guard: 'hintsMaster',
            target: 'backup',
            actions: ['reportConfigWarnings', 'armMasterHint', { type: 'recordTransition', params: { from: 'initialize', to: 'backup', reason: 'startup' } }],
          },
          {
            target: 'backup',
            actions: ['reportConfigWarnings', 'armMasterDown', { type: 'recordTransition', params: { from: 'initialize', to: 'backup', reason: 'startup' } }],
          },
        ],
        TRACK: { actions: { type: 'applyPriorityInputs', params: { shiftDeadline: false } } },
        SET_PRIORITY: { actions: { type: 'applyPriorityInputs', params: { shiftDeadline: false } } },
        // A sync group with a faulty member starts every member in Fault (keepalived's vrrp_init_state).
        SYNC_FAULT: {
          target: 'fault',
          actions: ['reportConfigWarnings', { type: 'recordSyncTransition', params: { from: 'initialize', to: 'fault' } }],
        },
        SHUTDOWN: { target: 'stopped' },
      },
    },

    // RFC 5798 §6.4.2
    backup: {
      initial: 'listening',
      entry: ['forgetWantMaster'],
      exit: ['clearPreemptHold'],
      states: {
        listening: {
          entry: ['forgetUnaccepted', 'startMasterDownTimer'],
          exit: 'stopMasterDownTimer',
          on: {
            MASTER_DOWN_TIMER: [
              { guard: 'isGrouped', target: 'listening', reenter: true, actions: { type: 'wantMaster', params: { reason: 'master-down-timer' } } },
              {
                target: '#vrrp.master',
                actions: [{ type: 'recordTransition', params: { from: 'backup', to: 'master', reason: 'master-down-timer' } }],
              },
            ],
            // The hot path: what the backup-level list below does for this advert
            // (re-entering listening), as a targetless restart of the timer;
            // hotTransition takes it without the interpreter.
            ADVERT: {
              guard: 'acceptsPlainAdvert',
              actions: ['countMasterAdvert', 'acceptMaster', 'stopMasterDownTimer', 'startMasterDownTimer'],
            },
          },
        },
        skewing: {
          after: {
            skew: [
              { guard: 'isGrouped', target: 'listening', actions: { type: 'wantMaster', params: { reason: 'priority-zero-skew' } } },
              {
                target: '#vrrp.master',
                actions: [{ type: 'recordTransition', params: { from: 'backup', to: 'master', reason: 'priority-zero-skew' } }],
              },
            ],
          },
        },
      },
      on: {
        ADVERT: [
          { guard: 'isUnusableAdvert', actions: ['discardAdvert', 'noteUnaccepted'] },
          { guard: 'isPriorityZero', target: '.skewing', actions: ['countAdvert', 'reportIntervalMismatch'] },
          // Accepted: reset the Master_Down_Timer. The three branches are the same reaction;
          // the first two add the rare duties so the common one stays cheap.
          {
            guard: and(['backupAccepts', 'isWantingMaster']),
            target: '.listening',
            actions: ['countAdvert', 'reportIntervalMismatch', 'updatePreemptHold', 'noteMaster', 'acceptMaster', 'dropWantMaster'],
          },
          {
            guard: and(['backupAccepts', 'hasSideDuties']),
            target: '.listening',
            actions: ['countAdvert', 'reportIntervalMismatch', 'updatePreemptHold', 'noteMaster', 'acceptMaster'],
          },
          { guard: 'backupAccepts', target: '.listening', actions: ['countAdvert', 'noteMaster', 'acceptMaster'] },
          // Preempting: ignore the lower-priority master; the running timer makes us Master.
          { actions: ['countAdvert', 'reportIntervalMismatch', 'countLowerPriorityDiscarded', 'noteUnaccepted'] },
        ],
        PREEMPT_HOLD_EXPIRED: { actions: 'expirePreemptHold' },
        TRACK: [
          {
            guard: 'trackEntersFault',
            target: 'fault',
            actions: [
              { type: 'applyPriorityInputs', params: { shiftDeadline: false } },
              { type: 'recordTransition', params: { from: 'backup', to: 'fault', reason: 'track-fault' } },
            ],
          },
          { guard: 'isListening', target: '.listening', actions: { type: 'applyPriorityInputs', params: { shiftDeadline: true } } },
          { actions: { type: 'applyPriorityInputs', params: { shiftDeadline: false } } },
        ],
        SET_PRIORITY: [
          { guard: 'isListening', target: '.listening', actions: { type: 'applyPriorityInputs', params: { shiftDeadline: true } } },
          { actions: { type: 'applyPriorityInputs', params: { shiftDeadline: false } } },
        ],
        SYNC_MASTER: { target: 'master', actions: { type: 'recordSyncTransition', params: { from: 'backup', to: 'master' } } },
        SYNC_FAULT: { target: 'fault', actions: { type: 'recordSyncTransition', params: { from: 'backup', to: 'fault' } } },
        SHUTDOWN: {
          target: 'stopped',
          actions: [{ type: 'recordTransition', params: { from: 'backup', to: 'stopped', reason: 'shutdown' } }],
        },
      },
    },

    // RFC 5798 §6.4.3
    master: {
      // The order of the takeover's first frames. A Master that is alive
      // releases the VIPs when it hears our first advert (preemption, a
      // priority-0 handover, a Master whose adverts this Backup discards), so
      // the VIPs must already be here and clients pointed here, or the
      // handover has a gap: addresses, gratuitous ARP / unsolicited NA, then
      // the advert. When the Master_Down_Timer fires and nothing was heard
      // since the last accepted advert, the Master is gone, or this Backup
      // cannot hear it: the advert need not wait for the VIP add, which takes
      // the kernel's rtnl lock (global to all namespaces) and may wait for it
      // or for a CPU in the kernel. keepalived sends its advert first
      // (vrrp_state_master_tx); here the burst still goes before it, so that
      // after a brief takeover the old Master's answer to that advert lands
      // after our burst and clients end on its MAC
      // (test/lab/arp-repair.test.ts), and the VIP is added right after the
      // advert. Clients the burst reaches before that were sending to a dead
      // Master until then.
      entry: enqueueActions(({ context, event, enqueue }) => {
        if (event.type === 'MASTER_DOWN_TIMER' && !context.heardUnaccepted) {
          enqueue('announceAddresses');
          enqueue('countAdvertSent');
          enqueue('sendAdvert');
          enqueue('addAddresses');
        } else {
          enqueue('addAddresses');
          enqueue('announceAddresses');
          enqueue('countAdvertSent');
          enqueue('sendAdvert');
        }
      }),
      initial: 'advertising',
      states: {
        advertising: {
          entry: 'startAdverTimer',
          exit: 'stopAdverTimer',
          // The timer that fired needs no cancel: re-arming is all that re-entering did.
          on: { ADVER_TIMER: { actions: ['countAdvertSent', 'sendAdvert', 'startAdverTimer'] } },
        },
      },
      on: {
        ADVERT: [
          { guard: 'isUnusableAdvert', actions: 'discardAdvert' },
          // A backup's master left: answer at once so backups do not time out (and reset Adver_Timer),
          // within the reply rate limit so a flood of them is not echoed to the LAN.
          {
            guard: and(['isPriorityZero', 'replyAllowed']),
            target: '.advertising',
            actions: ['countAdvert', 'reportIntervalMismatch', 'recordReply', 'countAdvertSent', 'sendAdvert'],
          },
          { guard: 'isPriorityZero', actions: ['countAdvert', 'reportIntervalMismatch', 'suppressPriorityZeroReply'] },
          {
            guard: 'peerWinsElection',
            target: 'backup',
            actions: [
              'countAdvert',
              'reportIntervalMismatch',
              'noteMaster',
              { type: 'removeAddresses', params: { handover: true } },
              'acceptMaster',
              { type: 'recordTransition', params: { from: 'master', to: 'backup', reason: 'higher-priority-advert' } },
            ],
          },
          { guard: 'isOwnAddressAdvert', actions: ['countAdvert', 'warnOwnAddress'] },
          // A lower-priority master exists (RFC 9568, keepalived garp_lower_prio): answered
          // within the reply rate limit, so a flood gets a bounded number of answers.
          { guard: 'replyAllowed', actions: ['countAdvert', 'reportIntervalMismatch', 'recordReply', 'answerLowerPriority'] },
          { actions: ['countAdvert', 'reportIntervalMismatch', 'suppressLowerPriorityReply'] },
        ],
        TRACK: [
          {
            guard: 'trackEntersFault',
            target: 'fault',
            actions: [
              { type: 'applyPriorityInputs', params: { shiftDeadline: false } },
              'sendPriorityZero',
              'removeAddresses',
              { type: 'recordTransition', params: { from: 'master', to: 'fault', reason: 'track-fault' } },
            ],
          },
          // A new effective priority goes out with the next advert.
          { actions: { type: 'applyPriorityInputs', params: { shiftDeadline: false } } },
        ],
        SET_PRIORITY: { actions: { type: 'applyPriorityInputs', params: { shiftDeadline: false } } },
        // Another member went Backup: leave without priority 0 (keepalived's vrrp_sync_backup).
        SYNC_BACKUP: {
          target: 'backup',
          actions: ['removeAddresses', 'resetMasterInterval', 'armMasterDown', { type: 'recordSyncTransition', params: { from: 'master', to: 'backup' } }],
        },
        // Another member is in Fault: tell the backups at once, as on our own fault.
        SYNC_FAULT: {
          target: 'fault',
          actions: ['sendPriorityZero', 'removeAddresses', { type: 'recordSyncTransition', params: { from: 'master', to: 'fault' } }],
        },
        SHUTDOWN: {
          target: 'stopped',
          actions: ['sendPriorityZero', 'removeAddresses', { type: 'recordTransition', params: { from: 'master', to: 'stopped', reason: 'shutdown' } }],
        },
      },
    },

    // keepalived: a weight-0 tracked object is down. Adverts are ignored.
    fault: {
      on: {
        TRACK: [
          // A grouped member leaves Fault only when its group says every member is healthy.
          { guard: and(['isGrouped', 'trackClearsFault']), actions: { type: 'applyPriorityInputs', params: { shiftDeadline: false } } },
          {
            // Like Initialize: the owner goes back to Master at once, others through Backup.
            guard: and(['trackClearsFault', 'startsAsOwner']),
            target: 'master',
            actions: [
              { type: 'applyPriorityInputs', params: { shiftDeadline: false } },
              'resetMasterInterval',
              { type: 'recordTransition', params: { from: 'fault', to: 'master', reason: 'fault-cleared' } },
            ],
          },
          {
            guard: 'trackClearsFault',
            target: 'backup',
            actions: [
              { type: 'applyPriorityInputs', params: { shiftDeadline: false } },
              'resetMasterInterval',
              'armMasterDown',
              { type: 'recordTransition', params: { from: 'fault', to: 'backup', reason: 'fault-cleared' } },
            ],
          },
          { actions: { type: 'applyPriorityInputs', params: { shiftDeadline: false } } },
        ],
        SET_PRIORITY: { actions: { type: 'applyPriorityInputs', params: { shiftDeadline: false } } },
        SYNC_BACKUP: {
          guard: not('hasFault'),
          target: 'backup',
          actions: ['resetMasterInterval', 'armMasterDown', { type: 'recordSyncTransition', params: { from: 'fault', to: 'backup' } }],
        },
        SHUTDOWN: {
          target: 'stopped',
          actions: [{ type: 'recordTransition', params: { from: 'fault', to: 'stopped', reason: 'shutdown' } }],
        },
      },
    },

    stopped: { type: 'final' },
  },
});

export type VrrpMachine = typeof vrrpMachine;

type VrrpSnapshot = ReturnType<VrrpMachine['transition']>;
type VrrpScope = Parameters<VrrpMachine['transition']>[2];

/**
 * The two reactions every instance repeats once per advert interval, done as
 * the statechart does them but without XState's general interpreter (its
 * macrostep builds sets, action records and, for the `assign`, a new snapshot
 * per event: about half of a daemon's CPU at 150 instances, measured with
 * perf). A Backup in `listening` accepting a plain advert, and a Master's
 * Adver_Timer in `advertising`: the same guard, the same context values
 * (written in place, as the counters are: nothing holds an older snapshot),
 * and the same deferred effects in the same order as the `listening` ADVERT
 * and `advertising` ADVER_TIMER transitions (XState runs emits and timer
 * changes after the step, in action order). Everything else, and these two
 * whenever the guard says no, goes through the interpreter.
 * bench/machine-equivalence.ts and test/actors/vrrp/hot-path.test.ts compare
 * it with the interpreter alone. Returns null when not taken.
 */
function hotTransition(snapshot: VrrpSnapshot, event: VrrpEvent | TimerEvent, scope: VrrpScope): VrrpSnapshot | null {
  if (snapshot.status !== 'active') return null;
  const value = snapshot.value as { backup?: string; master?: string } | string;
  if (typeof value !== 'object') return null;
  const ctx = snapshot.context;
  if (event.type === 'ADVERT') {
    if (value.backup !== 'listening' || !acceptsPlainAdvert(ctx, event)) return null;
    // countMasterAdvert, acceptMaster, stopMasterDownTimer, startMasterDownTimer
    countReceived(ctx, event);
    noteMaster(ctx, event);
    acceptMasterInto(ctx, ctx, event);
    const fx = hotEffectsOf(scope);
    fx.plainAdverts++;
    fx.masterDownDelay = masterDownMs(ctx);
    scope.defer(fx.restartMasterDown);
    return snapshot;
  }
  if (event.type === 'ADVER_TIMER') {
    if (value.master !== 'advertising') return null;
    const fx = hotEffectsOf(scope);
    masterAdverTimer(ctx, fx);
    scope.defer(fx.advertise);
    return snapshot;
  }
  return null;
}

/** The context writes of a Master's Adver_Timer in `advertising`, and the advert and delay its effects use. */
function masterAdverTimer(ctx: VrrpContext, fx: HotEffects): void {
  // countAdvertSent, sendAdvert, startAdverTimer
  ctx.stats.advertsSent++;
  // The command is kept while priority and interval stay (emitted commands are never written to).
  const { advert } = fx;
  if (advert === null || advert.priority !== ctx.effectivePriority || advert.intervalCs !== ctx.cfg.advertIntervalCs)
    fx.advert = { type: 'send-advert', priority: ctx.effectivePriority, intervalCs: ctx.cfg.advertIntervalCs };
  fx.adverDelay = adverTimerMs(ctx);
}

/**
 * Takes a Master's Adver_Timer as the hot path does (the same guard, context
 * writes and effects, in the same order) without XState's send, for a caller
 * that knows the actor is between steps: its own send is not on the stack.
 * For a step that changes only counters, XState's send allocated a mailbox
 * entry and two inspection events, 152 bytes per advert (measured), and ran
 * the observers: the caller runs its own. False, with nothing done, when the
 * hot path would not take it (the actor has not taken an Adver_Timer through
 * XState yet, or is not advertising, or stopped): send the event then.
 */
export function adverTimerOutsideStep(actor: { getSnapshot(): unknown }): boolean {
  const fx = (actor as { [HOT_EFFECTS]?: HotEffects })[HOT_EFFECTS];
  if (fx === undefined) return false;
  const snapshot = actor.getSnapshot() as VrrpSnapshot;
  if (snapshot.status !== 'active') return false;
  const value = snapshot.value as { master?: string } | string;
  if (typeof value !== 'object' || value.master !== 'advertising') return false;
  masterAdverTimer(snapshot.context, fx);
  fx.advertise();
  return true;
}

/**
 * The hot path's deferred effects, made once per actor and reading the values
 * of its latest step: a Backup's re-arm of Master_Down_Timer, and a Master's
 * advert with its re-arm of Adver_Timer. A closure (and a command object)
 * per advert were most of what each role allocated. Each step defers at most
 * one of them, and it runs before the next step.
 */
interface HotEffects {
  /** Plain Backup adverts taken so far (plainAdvertSteps). */
  plainAdverts: number;
  masterDownDelay: number;
  readonly restartMasterDown: () => void;
  advert: { type: 'send-advert'; priority: number; intervalCs: number } | null;
  adverDelay: number;
  readonly advertise: () => void;
}

/**
 * Kept on the scope object itself: a WeakMap from the actor, looked up per
 * step, was a measurable part of a Backup's advert under perf. A scope is
 * made once per actor (and once per pure transition() call), so the key is
 * added to few objects.
 */
const HOT_EFFECTS = Symbol('vipflow.hotEffects');
type ScopeWithEffects = VrrpScope & { [HOT_EFFECTS]?: HotEffects };

function hotEffectsOf(scope: VrrpScope): HotEffects {
  const held = scope as ScopeWithEffects;
  const known = held[HOT_EFFECTS];
  if (known !== undefined) return known;
  const self = scope.self;
  const { scheduler } = scope.system;
  // The daemon's slots re-arm in place (schedule replaces what is armed);
  // XState's own scheduler, as pure transition() has it, needs the cancel.
  const slots = scheduler instanceof TimerSlots ? scheduler : null;
  const rearmMasterDown = slots?.rearmer(MASTER_DOWN_TIMER_ID);
  const rearmAdver = slots?.rearmer(ADVER_TIMER_ID);
  const fx: HotEffects = {
    plainAdverts: 0,
    masterDownDelay: 0,
    restartMasterDown: () => {
      if (rearmMasterDown) return rearmMasterDown(self, MASTER_DOWN_TIMER_EVENT, fx.masterDownDelay);
      scheduler.cancel(self, MASTER_DOWN_TIMER_ID);
      scheduler.schedule(self, self, MASTER_DOWN_TIMER_EVENT, fx.masterDownDelay, MASTER_DOWN_TIMER_ID);
    },
    advert: null,
    adverDelay: 0,
    advertise: () => {
      const sink = (self as Sinked)[ADVERT_SINK];
      if (sink === undefined) scope.emit(fx.advert!);
      else deliver(sink, fx.advert!);
      if (rearmAdver) rearmAdver(self, ADVER_TIMER_EVENT, fx.adverDelay);
      else scheduler.schedule(self, self, ADVER_TIMER_EVENT, fx.adverDelay, ADVER_TIMER_ID);
    },
  };
  held[HOT_EFFECTS] = fx;
  // Also on the actor itself, for plainAdvertSteps.
  (self as unknown as { [HOT_EFFECTS]?: HotEffects })[HOT_EFFECTS] = fx;
  return fx;
}

type SendAdvert = Extract<VrrpCommand, { type: 'send-advert' }>;
const ADVERT_SINK = Symbol('vipflow.advertSink');
type Sinked = { [ADVERT_SINK]?: (cmd: SendAdvert) => void };

/**
 * Hands the adverts of the hot path (a Master's Adver_Timer) to `sink`
 * instead of emitting them. XState's emit copies the listeners of the type
 * and of '*' into a new array on every call: 256 bytes per advert, measured,
 * over half of what a Master's advert allocated, and what kept a daemon's
 * allocation rate too high for V8 to shrink its heap at 0.1 s adverts.
 * Listeners added with `on` do not see these adverts; the interpreter's (the
 * first after becoming Master, any after a change of priority or interval)
 * are still emitted. The runner, which carries the adverts out, is the only
 * caller.
 */
export function sendHotAdvertsTo(actor: object, sink: (cmd: SendAdvert) => void): void {
  (actor as Sinked)[ADVERT_SINK] = sink;
}

/** As XState's emit does with a listener's error: thrown outside the step, which goes on. */
function deliver(sink: (cmd: SendAdvert) => void, cmd: SendAdvert): void {
  try {
    sink(cmd);
  } catch (err) {
    setTimeout(() => {
      throw err;
    });
  }
}

/**
 * How many plain Backup adverts (the `listening` ADVERT transition) the
 * actor's hot path has taken: a step that moved it took one, any other step
 * did something else. The runner absorbs repeats of an advert only while its
 * steps are these (infra/vrrp/instance-runner.ts).
 */
export function plainAdvertSteps(actor: object): number {
  return (actor as { [HOT_EFFECTS]?: HotEffects })[HOT_EFFECTS]?.plainAdverts ?? 0;
}

/** The statechart alone, without the hot path (tests compare the two). */
export const interpretedVrrpMachine = vrrpMachine.provide({});

const interpret = vrrpMachine.transition.bind(vrrpMachine);
vrrpMachine.transition = (snapshot, event, scope) => hotTransition(snapshot, event, scope) ?? interpret(snapshot, event, scope);
