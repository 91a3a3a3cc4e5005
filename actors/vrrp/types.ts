/**
 * Types of the VRRP instance machine: what it is created with (input), what it
 * remembers (context), what it reacts to (events) and what it asks the outside
 * world to do (commands, emitted with XState's `emit`).
 *
 * The machine never touches the network: an adapter turns received packets into
 * ADVERT events and executes the commands.
 */

import type { ReplyLimiter } from './reply-limit.js';

export type AddressFamily = 'ipv4' | 'ipv6';
export type VrrpVersion = 2 | 3;
/** keepalived's `state` keyword: only a hint, see {@link VrrpInput.initialState}. */
export type InitialStateHint = 'MASTER' | 'BACKUP';
export type VrrpStateName = 'initialize' | 'backup' | 'master' | 'fault' | 'stopped';

/** A tracked object (interface, script, ...) as keepalived weighs it. */
export interface TrackedObjectInput {
  id: string;
  /**
   * 0: the instance goes to Fault while the object is down.
   * > 0: added to the priority while the object is up.
   * < 0: added (so subtracted) while the object is down.
   */
  weight: number;
  /** Initial health; true when omitted. */
  up?: boolean;
  /**
   * A value-weighted object (keepalived's track_file: file value × weight).
   * When set, this many points are added to the priority while the object is
   * up, instead of `weight`, and the object down means Fault whatever its
   * weight (keepalived faults an instance whose file value × weight is <= -254).
   */
  offset?: number;
}

export interface TrackedObject {
  readonly id: string;
  readonly weight: number;
  readonly up: boolean;
  readonly offset?: number;
}

export interface VrrpInput {
  /** Instance name (keepalived's `vrrp_instance NAME`), for logs and events. */
  name: string;
  vrid: number;
  family: AddressFamily;
  version: VrrpVersion;
  /** Configured priority 1..255; 255 means address owner. */
  priority: number;
  /** Advertisement interval in centiseconds; for v2 a whole number of seconds × 100. */
  advertIntervalCs: number;
  /** false is keepalived's `nopreempt`. */
  preempt: boolean;
  /** keepalived's `preempt_delay`, in ms; 0 disables it. */
  preemptDelayMs: number;
  /** This node's own source address (4 or 16 bytes): decides ties between equal priorities. */
  primaryAddress: Uint8Array;
  virtualAddresses: readonly string[];
  /**
   * keepalived's `state MASTER|BACKUP`. As keepalived does: MASTER only makes a
   * non-owner take over after one advert interval (plus the minimal skew) instead of
   * the full Master_Down_Interval, and forces preempt on / preempt_delay off; BACKUP on
   * an address owner makes it wait a full Master_Down_Interval in Backup first.
   */
  initialState?: InitialStateHint;
  tracks?: readonly TrackedObjectInput[];
  /**
   * Name of the vrrp_sync_group this instance belongs to. A grouped instance
   * does not become Master, nor leave Fault, on its own: it reports
   * `sync-want-master` / `sync-health` and waits for the group's SYNC_*
   * orders (actors/sync-group). Absent: a lone instance, behaviour unchanged.
   */
  syncGroup?: string;
  /**
   * keepalived's `lower_prio_no_advert`: a Master does not answer a
   * lower-priority advert with an advert of its own (it still re-announces its
   * addresses, garp_lower_prio_repeat). false when omitted, as keepalived's default.
   */
  lowerPrioNoAdvert?: boolean;
}

/** Input of the raw machine: the public input plus the clock's reading. */
export interface VrrpMachineInput extends VrrpInput {
  /** Current clock time in ms (the same clock that drives the machine's timers). */
  now: () => number;
}

export interface VrrpCounters {
  advertsSent: number;
  advertsReceived: number;
  /** Adverts dropped before any protocol decision (wrong version, malformed, v2 interval mismatch). */
  advertsDiscarded: number;
  priorityZeroSent: number;
  priorityZeroReceived: number;
  /**
   * Lower-priority adverts not acted on: ignored by a preempting Backup (RFC 5798 §6.4.2),
   * or left without an advert in answer by a Master (reply rate limit, lower_prio_no_advert).
   */
  lowerPriorityDiscarded: number;
  /** A Master's answers to lower-priority adverts withheld by the reply rate limit (actors/vrrp/reply-limit.ts). */
  lowerPriorityRepliesSuppressed: number;
  /** A Master's answers to priority-0 adverts withheld by the same limit. */
  priorityZeroRepliesSuppressed: number;
  intervalMismatches: number;
  transitions: number;
  becameMaster: number;
  releasedMaster: number;
  lastMasterAddress: Uint8Array | null;
  lastMasterPriority: number | null;
}

/** Where a Backup stands in keepalived's preempt_delay hold-off. */
export type PreemptHold = 'idle' | 'holding' | 'expired';

/**
 * What an instance was configured with: fixed for the actor's life (but for the
 * primary address of an IPv6 instance that started before its link-local address
 * was usable: SET_PRIMARY_ADDRESS), kept in one
 * shared object so that the mutable top level of the context stays small. (XState
 * copies the context on every assign; past ~19 properties V8 makes such copies
 * dictionary objects and one copy cost ~8 µs instead of ~0.3 µs, measured.)
 */
export interface VrrpConfig {
  readonly name: string;
  readonly vrid: number;
  readonly family: AddressFamily;
  readonly version: VrrpVersion;
  readonly primaryAddress: Uint8Array;
  readonly virtualAddresses: readonly string[];
  readonly advertIntervalCs: number;
  readonly preempt: boolean;
  readonly preemptDelayMs: number;
  readonly initialState: InitialStateHint | undefined;
  readonly syncGroup: string | undefined;
  readonly lowerPrioNoAdvert: boolean;
  readonly now: () => number;
  /** Warnings found in the input, reported once at START. */
  readonly configWarnings: readonly string[];
}

export interface VrrpContext {
  readonly cfg: VrrpConfig;
  basePriority: number;
  effectivePriority: number;
  /** Master_Adver_Interval (centiseconds): learned from the master in v3, the local one in v2. */
  masterAdvertIntervalCs: number;
  tracks: readonly TrackedObject[];
  /** Number of weight-0 tracked objects that are down: > 0 means Fault. */
  faultCount: number;
  /** Absolute clock time at which the Backup's Master_Down_Timer fires. */
  masterDownDeadline: number;
  preemptHold: PreemptHold;
  /** Last received interval reported as a mismatch (reports are rate-limited to changes). */
  lastMismatchCs: number | null;
  /**
   * Grouped Backup only: why it would be Master now (its timer expired) while
   * its sync group holds it back; null when it does not want to be Master.
   * keepalived's `wantstate == MASTER` for a Backup.
   */
  wantMaster: TransitionReason | null;
  /**
   * Backup only: an advert it did not accept (a lower priority while it
   * preempts, or one it discards) came since it last re-entered `listening`.
   * A router that sends such adverts is alive and hears ours, so a takeover
   * adds the VIPs before its first advert (see the `master` state).
   */
  heardUnaccepted: boolean;
  /**
   * Counters for status dumps. Mutated in place: they are monotonic statistics, not
   * state any transition depends on, and copying them on every advert would allocate
   * for nothing.
   */
  readonly stats: VrrpCounters;
  /** The Master's answer rate limit; mutated in place like `stats` (bounded, see reply-limit.ts). */
  readonly replies: ReplyLimiter;
}

export interface AdvertEvent {
  type: 'ADVERT';
  priority: number;
  intervalCs: number;
  /** Source address of the advert (the sender's primary address). */
  source: Uint8Array;
  version: VrrpVersion;
  /**
   * When it arrived, on the machine's clock (the kernel's receive stamp);
   * absent means now. A Backup's timers count from it (machine.ts arrivalOf).
   */
  receivedAt?: number;
  /**
   * When it was read off the socket, on the same clock; absent means now.
   * An advert is credited at most one interval before it was read (arrivalOf).
   */
  readAt?: number;
  /**
   * How many identical adverts this event stands for (absent: one): the
   * repeats the addon absorbed for a Backup (wire/socket RepeatAbsorber), the
   * latest of which this event is. Only the counters see the difference.
   */
  copies?: number;
}

export type VrrpEvent =
  | { type: 'START' }
  | { type: 'SHUTDOWN' }
  | AdvertEvent
  /** `offset` only for value-weighted objects (see TrackedObjectInput.offset); omitted keeps the current one. */
  | { type: 'TRACK'; id: string; up: boolean; offset?: number }
  | { type: 'SET_PRIORITY'; priority: number }
  /** The source address became known (an IPv6 link-local address usable after DAD). */
  | { type: 'SET_PRIMARY_ADDRESS'; address: Uint8Array }
  /** Internal: keepalived's preempt_delay has elapsed. */
  | { type: 'PREEMPT_HOLD_EXPIRED' }
  /** From the sync group: a Backup becomes Master (the group goes Master). */
  | { type: 'SYNC_MASTER' }
  /** From the sync group: a Master, or a healthy member held in Fault, becomes Backup. */
  | { type: 'SYNC_BACKUP'; reason?: 'fault-cleared' | 'sync-group' }
  /** From the sync group: another member is in Fault, so this one goes to Fault too (also from Initialize). */
  | { type: 'SYNC_FAULT' };

export type TransitionReason =
  | 'address-owner'
  | 'startup'
  | 'startup-fault'
  | 'master-down-timer'
  | 'priority-zero-skew'
  | 'higher-priority-advert'
  | 'track-fault'
  | 'fault-cleared'
  /** Ordered by the instance's sync group (another member moved). */
  | 'sync-group'
  | 'shutdown';

export type WarningCode =
  'interval-mismatch' | 'version-mismatch' | 'malformed-advert' | 'own-address-advert' | 'unknown-track' | 'invalid-priority' | 'config';

/** Commands and reports the machine emits; consumers use `actor.on(type, handler)`. */
export type VrrpCommand =
  | { type: 'send-advert'; priority: number; intervalCs: number }
  | { type: 'add-addresses'; addresses: readonly string[] }
  /** `handover`: a better Master was heard and holds the addresses already. */
  | { type: 'remove-addresses'; addresses: readonly string[]; handover: boolean }
  /** Gratuitous ARP (IPv4) or unsolicited NA (IPv6) for the virtual addresses. */
  | { type: 'announce'; addresses: readonly string[]; reason: 'became-master' | 'lower-priority-advert' }
  | {
      type: 'transition';
      from: VrrpStateName;
      to: VrrpStateName;
      reason: TransitionReason;
      effectivePriority: number;
      basePriority: number;
      masterSeen?: Uint8Array;
      at: number;
    }
  | { type: 'priority-changed'; from: number; to: number; basePriority: number }
  | { type: 'warning'; code: WarningCode; message: string; detail?: Record<string, unknown> }
  /**
   * Grouped instances only. `want: true`: the Backup's timer expired, it would
   * be Master; the group answers SYNC_MASTER when every member wants it, else
   * the Backup waits a new Master_Down_Interval (keepalived prefers Backup to
   * thrashing). `want: false`: it accepted a Master's advert and no longer wants.
   */
  | { type: 'sync-want-master'; want: boolean; reason: TransitionReason }
  /** Grouped instances only: its own weight-0 tracked objects went down (faulty) or all came back. */
  | { type: 'sync-health'; faulty: boolean };

export type VrrpCommandType = VrrpCommand['type'];

/**
 * One transition of one instance as the rest of vipflow sees it (events, notify
 * scripts, workflows): the machine's transition command with the instance's
 * identity added by its runner.
 */
export interface TransitionRecord {
  instance: string;
  vrid: number;
  /** Named as in the instance.transition event, which carries this record's fields under the same names. */
  family: AddressFamily;
  interface: string;
  from: VrrpStateName;
  to: VrrpStateName;
  reason: string;
  effectivePriority: number;
  basePriority: number;
  masterSeen: string | null;
  advertIntervalCs: number;
  /** Monotonic ms on the instance clock. */
  at: number;
}
