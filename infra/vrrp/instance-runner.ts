/**
 * Runs one VRRP instance on a real network: the pure machine (actors/vrrp)
 * in the middle, the wire hub feeding it screened adverts, and its commands
 * carried out here (send adverts, add/remove VIPs, announce them).
 *
 * Nothing on this path waits for anything slower than a syscall: events for
 * the outside world leave through `onTransition` listeners, which must not
 * block (the event bus queues).
 */
import {
  createVrrpInstance,
  startVrrpInstance,
  MASTER_DOWN_TIMER_ID,
  acceptedMasterDownIntervalMs,
  masterDownIntervalMs,
  plainAdvertSteps,
  sendHotAdvertsTo,
  adverTimerOutsideStep,
  type AdvertEvent,
  type VrrpEvent,
  type VrrpActor,
  type VrrpClock,
  type VrrpCommand,
  type VrrpStateName,
  type TransitionRecord,
} from '../../actors/vrrp/index.js';
import type { SyncGroup } from '../../actors/sync-group/index.js';
import { encodeVrrp, formatAddress, noAuthData, parseAddress, type VrrpAdvert } from '../../wire/codec/index.js';
import type { Logger } from '../../core/logger.js';
import { Announcer, type AnnounceIo, type AnnouncerStats } from './announcer.js';
import { advertised, SOURCE_TRACK, type InstancePlan } from './plan.js';
import { advertEvent, emptyDropCounters, repeatedAdvert, screenDrop, type DropCounters, type DropReason, type PacketMeta } from '../../actors/vrrp/receive.js';
import { TimerSlots, type SlotWake } from '../../actors/vrrp/timer-slots.js';
import type { VipAddressOps } from '../host/vip-addresses.js';
import type { Channel, HubPacket, WireHub } from '../../wire/hub/vrid-hub.js';
import { addressText, holdForIntervalMs, REPEATS_KEPT, takenRepeats } from '../../wire/socket/index.js';
import { AUTH_DROP_CAUSE, AuthHmacState, type AuthHmacPlan } from './auth-hmac.js';
import { AdvertTiming, type AdvertTimingSink } from './advert-timing.js';
import { HandoverDrain, HandoverForwarder, type HandoverTarget, type NftRun } from './handover-nft.js';

export interface InstanceStatus {
  name: string;
  vrid: number;
  family: 4 | 6;
  version: 2 | 3;
  interface: string;
  /** use_vmac: the macvlan carrying the VIPs. */
  vmac?: string;
  mode: 'multicast' | 'unicast';
  source: string;
  state: VrrpStateName;
  /** Why the instance is in FAULT when that is not a tracked object (dynamic_interfaces: its interface does not exist). */
  fault?: string;
  basePriority: number;
  effectivePriority: number;
  advertIntervalCs: number;
  masterAdvertIntervalCs: number;
  lastMaster: string | null;
  lastMasterPriority: number | null;
  masterDownInMs: number | null;
  peerChecksumVariant: string | null;
  counters: Record<string, number>;
  drops: DropCounters;
  /** auth_hmac in effect (key ids only, never key material); null without it. */
  authHmac: { mode: string; activeKey: number; keyIds: number[] } | null;
  announcements: AnnouncerStats;
  vips: string[];
}

export interface InstanceRunnerDeps {
  hub: WireHub;
  vipOps: VipAddressOps;
  announceIo: AnnounceIo;
  clock: VrrpClock;
  log: Logger;
  /** Wall clock in ms for auth_hmac timestamps (default Date.now); the VRRP clock may be monotonic or simulated. */
  realtimeMs?: () => number;
  /** Takeover time and advert jitter samples (the daemon's histograms). */
  timing?: AdvertTimingSink;
  /** Runs nft: with it, a plan's handoverDrainMs keeps connections alive across a planned handover. */
  nft?: NftRun;
}

type StartResult = { ok: true } | { ok: false; code: string; message: string };

/**
 * How long a Master that hands over keeps its VIPs after the new Master's
 * first advert. The new Master added them and sent its gratuitous ARP / NA
 * before that advert, but a client may still process that announcement a
 * moment after we hear the advert (measured in test/lab/handover-client: 1 of
 * 80 handovers lost a SYN without this overlap). Short, because two holders
 * would both answer a client's ARP request.
 */
export const HANDOVER_OVERLAP_MS = 20;

/** The instance's VIPs of its own family, as handover_drain's tables name them. */
function vipsOfFamily(plan: InstancePlan): string[] {
  return plan.vips.filter((v) => v.address.includes(':') === (plan.family === 6)).map((v) => v.address);
}

/**
 * How long a new Master hands unknown flows to the old one: three quarters of
 * the old Master's drain, so it stops before the old Master drops the VIPs and
 * arms its own forward table. Were both forwarding at once, a packet neither
 * saw start would bounce between them (netdev fwd does not decrement the TTL),
 * and a router that forwards IP would route what reaches it without the VIP
 * back to the holder.
 */
export function forwardWindowMs(drainMs: number): number {
  return Math.round(drainMs * 0.75);
}

/**
 * Where every runner takes its absorbed repeats: a take is read in full
 * before the machine's step, which may have another runner take its own
 * (a sync group's orders), so one serves all (a Float64Array each was ~300
 * bytes per instance).
 */
const TAKEN = takenRepeats();

type EncodedAdvert = { payload: Buffer; destination: string; destinationBytes: Uint8Array };

/** InstanceRunner.advertCache: the adverts of the last priority encoded. */
class AdvertCache {
  private priority = -1;
  private adverts: EncodedAdvert[] | null = null;

  get(priority: number): EncodedAdvert[] | undefined {
    return priority === this.priority && this.adverts !== null ? this.adverts : undefined;
  }

  set(priority: number, adverts: EncodedAdvert[]): void {
    this.priority = priority;
    this.adverts = adverts;
  }

  clear(): void {
    this.priority = -1;
    this.adverts = null;
  }
}

/** The names the stranger reports use for the receive checks' drop reasons (the others keep theirs). */
const STRANGER_REASON: Partial<Record<DropReason, string>> = { 'bad-ttl': 'ttl', 'address-list-mismatch': 'address-list' };

export class InstanceRunner {
  readonly drops: DropCounters = emptyDropCounters();
  /** The sum of `drops`: a periodic report looks at the counters only when it moved. */
  dropTotal = 0;
  private readonly log: Logger;
  private readonly actor: VrrpActor;
  private announcer: Announcer;
  private channel: Channel | null = null;
  /** vmac_xmit_base: adverts leave through the base interface's socket instead of `channel`'s. */
  private sendChannel: Channel | null = null;
  /** Replaced, not pushed to: an array grown by push keeps room for 17 (152 bytes) for the one or two listeners an instance has. */
  private listeners: readonly ((t: TransitionRecord) => void)[] = [];
  /**
   * The encoded adverts for one priority, one per destination: only the
   * priority changes between sends, so a Master's advert is a lookup, not an
   * encode (and no per-send array of destinations). One priority is kept: a
   * Master sends at one until it changes (a Map cost ~350 bytes per instance).
   */
  private readonly advertCache = new AdvertCache();
  /** Screened adverts for our VRID with a lower priority (> 0) received while Master: another router claims Master. */
  private lowerPriorityWhileMaster = 0;
  private peerChecksumVariant: string | null = null;
  private handover: { resolve: () => void; timer: unknown } | null = null;
  private holdingVipsForHandover = false;
  /** A release deferred by HANDOVER_OVERLAP_MS after a better Master was heard. */
  private pendingRelease: unknown = null;
  private stopped: Promise<void> | null = null;
  /** Set by finishStop; whenStopped's callbacks wait for it. */
  private stopFinished = false;
  private stopWaiters: (() => void)[] = [];
  private sendErrors = 0;
  /**
   * Clock time of the last screened advert from another router with priority
   * > 0 (split-brain fencing asks); NaN before the first. A number field only,
   * so V8 writes it in place: a field that also held null took a new heap
   * number per advert, which lived an interval and ended in old space.
   */
  private lastPeerAdvertAt = NaN;
  /** The snapshot `state` last named, and its name. */
  private namedSnapshot: unknown = null;
  private namedState: VrrpStateName = 'initialize';
  /** What receive hands screenDrop and advertEvent, filled per advert. */
  private readonly meta: PacketMeta = { ttl: 0, ifindex: 0, expectedIfindex: -1, source: new Uint8Array(0), multicastDestination: false, receivedAt: 0 };
  /**
   * The last advert screenDrop passed and the plan it passed under. The hub
   * hands the same decoded advert for the same bytes from the same sender
   * (its flood gate's memo), and the meta the screen reads is compared here,
   * so a Master's next advert skips a screen whose answer cannot change.
   */
  private passedAdvert: unknown = null;
  private passedPlan: unknown = null;
  private readonly passedMeta: PacketMeta = { ttl: 0, ifindex: 0, expectedIfindex: -1, source: new Uint8Array(0), multicastDestination: false };
  private readonly timing = new AdvertTiming();
  /**
   * Becoming Master, what waits for the end of the machine's step, after the
   * first advert left: the transition's report (see afterStep).
   */
  private heldReport: TransitionRecord | null = null;

  private currentPlan: InstancePlan;
  private auth: AuthHmacState | null = null;
  private reportedSkew = false;
  /** handover_drain: the new Master's forward table and the old Master's drain (handover-nft.ts). */
  private forwarder: HandoverForwarder | null = null;
  private drain: HandoverDrain | null = null;
  private draining = false;
  /** The Master heard while draining: the forward table is aimed at it once the drain ends. */
  private masterHeardWhileDraining: string | null = null;
  /**
   * Repeat absorption (wire/socket RepeatAbsorber): whether the addon absorbs
   * repeats of `repeatOf`, the last plain advert the machine took, for this
   * VRID. The machine takes the repeats (one event standing for all) before
   * any other event, before Master_Down_Timer fires, and when status is read.
   */
  private absorbing = false;
  private repeatOf: AdvertEvent | null = null;
  /** plainAdvertSteps as of the last step, and whether that step was one. */
  private plainSteps = 0;
  private lastStepPlain = false;
  /** The receive hold this instance allows its socket (setReceiveHold): the socket's is at most this. */
  private holdMs = 0;
  /**
   * How many more absorbed repeats need no look at Master_Down_Timer: their
   * reads come before its wake-up. A look per advert (the timer, the clock)
   * took three heap numbers, about half of what a Backup allocated at 0.1 s
   * adverts. Zero (look) once anything that moves the wake-up or the reads
   * happened: a step of the machine, a new repeat, a new hold.
   */
  private quietRepeats = 0;
  /** The Master_Down_Interval taking `repeatOf` would set: NaN until asked after the last step or new repeat. */
  private repeatMdiMs = Number.NaN;
  /** Master_Down_Timer's wake-up (TimerSlots.beforeFire): when it comes (NaN when that cannot be known), and moving it on. */
  private readonly masterDownWake: SlotWake;
  /** The actor's own send: `actor.send` takes the absorbed repeats first (see the constructor). */
  private readonly sendToMachine: (event: VrrpEvent) => void;
  /** How many sends to the actor are on the stack: at 0 it is between steps. */
  private sending = 0;

  constructor(
    plan: InstancePlan,
    private readonly deps: InstanceRunnerDeps,
  ) {
    this.currentPlan = plan;
    this.log = deps.log.child({ instance: plan.name, vrid: plan.vrid });
    if (plan.authHmac) this.auth = new AuthHmacState(plan.authHmac, plan.peers.length);
    this.actor = createVrrpInstance(plan.machine, { clock: deps.clock });
    // Every event reaches the machine after the repeats absorbed before it:
    // the runner's, a sync group's and the timers' (timer-slots.ts sends
    // through actor.send), so the machine sees adverts and events in order.
    const actor = this.actor;
    const send = actor.send.bind(actor) as (event: VrrpEvent) => void;
    const counted = (event: VrrpEvent): void => {
      this.sending++;
      try {
        send(event);
      } finally {
        this.sending--;
      }
    };
    this.sendToMachine = counted;
    actor.send = ((event: VrrpEvent) => {
      if (this.repeatOf !== null) this.takeRepeats();
      // A Master's advert, between steps, skips XState's send (machine.ts adverTimerOutsideStep).
      // The timer's event comes from the slots: it is not one of VrrpEvent's.
      if (this.sending === 0 && (event as { type: string }).type === 'ADVER_TIMER' && adverTimerOutsideStep(actor)) this.afterStep();
      else counted(event);
    }) as typeof actor.send;
    const slots = actor.system.scheduler as unknown;
    this.masterDownWake =
      slots instanceof TimerSlots ? slots.beforeFire(MASTER_DOWN_TIMER_ID, () => this.takeRepeats()) : { next: () => Number.NaN, postpone: () => false };
    this.announcer = new Announcer(plan.vips, plan.garp, deps.announceIo, this.log);
    if (plan.handoverDrainMs && deps.nft) {
      const target: HandoverTarget = {
        instance: plan.name,
        family: plan.family,
        device: plan.interface,
        // Flows are seen on the instance's interface (a VMAC's frames too: ingress runs before the macvlan).
        vips: vipsOfFamily(plan),
      };
      const log = this.log.child({ component: 'handover' });
      this.forwarder = new HandoverForwarder(target, forwardWindowMs(plan.handoverDrainMs), deps.nft, deps.clock, log);
      this.drain = new HandoverDrain(target, deps.nft, log);
    }
    // Transitions get their own listener, registered before a sync group's
    // (start() attaches the group): xstate calls listeners of the event's type
    // before '*' ones, so with the transition under '*' a group's orders moved
    // the other members, and their transitions were reported, before the
    // transition that caused them.
    this.actor.on('transition', (cmd) => this.onMachineTransition(cmd));
    this.actor.on('*', (cmd) => {
      if (cmd.type !== 'transition') this.execute(cmd as VrrpCommand);
    });
    sendHotAdvertsTo(this.actor, (cmd) => this.execute(cmd));
    // Observers run once a step's commands have all been carried out.
    this.actor.subscribe(() => this.afterStep());
  }

  onTransition(listener: (t: TransitionRecord) => void): void {
    this.listeners = [...this.listeners, listener];
  }

  /**
   * Joins the wire and starts the machine (Initialize → Backup, or Master for
   * an owner). A member of a sync group is handed to `group` instead, which
   * starts it with the other members (or at once if the group already runs).
   */
  start(group?: SyncGroup): StartResult {
    // A pending IPv6 source joins the wire once it has an address
    // (resolveSource): the socket's sends leave from it.
    if (!this.plan.sourcePending) {
      const joined = this.joinWire();
      if (!joined.ok) return joined;
    }
    startVrrpInstance(this.actor);
    if (group) group.attach(this.plan.name, this.actor);
    else this.actor.send({ type: 'START' });
    return { ok: true };
  }

  /** Whether this IPv6 instance still waits (in Fault) for a usable link-local source. */
  get sourcePending(): boolean {
    return this.plan.sourcePending === true;
  }

  /**
   * Gives a pending instance its source address (a usable link-local one):
   * joins the wire with it and clears the Fault it was held in. Fails (as a
   * value, the instance staying in Fault) when the socket cannot be opened.
   */
  resolveSource(address: string): StartResult {
    const bytes = parseAddress(address);
    if (!this.plan.sourcePending || !bytes || bytes.length !== 16) return { ok: false, code: 'EINVAL', message: `not a pending IPv6 source: ${address}` };
    const pending = this.currentPlan;
    this.endRepeats();
    const { sourcePending: _pending, ...rest } = pending;
    this.currentPlan = { ...rest, source: address, sourceBytes: bytes };
    const joined = this.joinWire();
    if (!joined.ok) {
      this.currentPlan = pending;
      return joined;
    }
    this.actor.send({ type: 'SET_PRIMARY_ADDRESS', address: bytes });
    this.advertCache.clear();
    this.log.info({ source: address }, 'IPv6 link-local source usable: leaving the fault it was held in');
    this.track(SOURCE_TRACK, true);
    return { ok: true };
  }

  /**
   * Sends from another address of the interface (the one it sent from was
   * deleted, another is left): rejoins the wire with it, as keepalived moves
   * an instance's source to the interface's next address. Fails as a value,
   * keeping the old source, when the socket cannot be had.
   */
  moveSource(address: string): StartResult {
    const bytes = parseAddress(address);
    if (!bytes || bytes.length !== this.plan.sourceBytes.length)
      return { ok: false, code: 'EINVAL', message: `not an IPv${this.plan.family} source: ${address}` };
    const before = this.currentPlan;
    this.endRepeats();
    // The hub holds one membership per VRID: leave before joining with the new source.
    this.channel?.leave();
    this.channel = null;
    this.sendChannel?.leave();
    this.sendChannel = null;
    this.currentPlan = { ...before, source: address, sourceBytes: bytes };
    const joined = this.joinWire();
    if (!joined.ok) {
      this.currentPlan = before;
      this.joinWire();
      return joined;
    }
    this.actor.send({ type: 'SET_PRIMARY_ADDRESS', address: bytes });
    this.advertCache.clear();
    return { ok: true };
  }

  /**
   * With a VMAC, adverts are received on it: the private macvlan is where the
   * kernel delivers frames sent from our own virtual MAC (the other router's
   * VMAC), and it gets a copy of every other multicast too. They leave from
   * it as well, unless vmac_xmit_base sends them from the base interface.
   */
  private joinWire(): StartResult {
    const key = { family: this.plan.family, mode: this.plan.mode, source: this.plan.source };
    const vmac = this.plan.vmac;
    const joined = this.deps.hub.join({ ...key, interface: vmac?.name ?? this.plan.interface }, this.plan.vrid, (p) => this.receive(p));
    if (!joined.ok) return joined;
    this.channel = joined.channel;
    this.channel.repeats?.onAbsorbed(() => this.absorbedOne());
    if (vmac?.xmitBase) {
      // Send-only: what the base hears also reaches the VMAC, where it is screened once.
      const base = this.deps.hub.join({ ...key, interface: this.plan.interface }, this.plan.vrid, () => {});
      if (!base.ok) {
        this.channel.leave();
        this.channel = null;
        return base;
      }
      this.sendChannel = base.channel;
    }
    return { ok: true };
  }

  /** The top-level state (the machine nests sub-states under backup and master). */
  get state(): VrrpStateName {
    const snapshot = this.actor.getSnapshot();
    // Read per advert: the machine's hot path keeps its snapshot object, so
    // the name found for it last time is still the answer.
    if (snapshot === this.namedSnapshot) return this.namedState;
    const value = snapshot.value as unknown;
    let name: VrrpStateName | null = null;
    if (typeof value === 'string') name = value as VrrpStateName;
    // The one top-level state of a compound value.
    else for (const top in value as object) name ??= top as VrrpStateName;
    if (name === null) throw new Error('VRRP machine snapshot without a state');
    this.namedSnapshot = snapshot;
    this.namedState = name;
    return name;
  }

  /** Tracked object change (interface, script, process up/down; a track_file's new offset). */
  track(id: string, up: boolean, offset?: number): void {
    this.actor.send({ type: 'TRACK', id, up, ...(offset !== undefined ? { offset } : {}) });
  }

  /** Ms since another router's screened advert (priority > 0) was last heard, null if never. */
  peerAdvertAgoMs(): number | null {
    this.takeRepeats();
    return Number.isNaN(this.lastPeerAdvertAt) ? null : this.deps.clock.now() - this.lastPeerAdvertAt;
  }

  /** Ids of the tracked objects that are down now. */
  tracksDown(): string[] {
    return this.actor
      .getSnapshot()
      .context.tracks.filter((t) => !t.up)
      .map((t) => t.id);
  }

  get plan(): InstancePlan {
    return this.currentPlan;
  }

  setPriority(priority: number): void {
    this.actor.send({ type: 'SET_PRIORITY', priority });
    this.advertCache.clear();
  }

  /**
   * Reload with other auth_hmac keys or settings, without leaving the current
   * state: key rotation (receive with every configured key, send with the
   * active one). Replay marks and the send sequence carry over, so a peer's
   * adverts keep verifying across the change.
   */
  setAuthHmac(plan: AuthHmacPlan | undefined): void {
    this.endRepeats();
    const { authHmac: _old, ...rest } = this.currentPlan;
    this.currentPlan = plan ? { ...rest, authHmac: plan } : rest;
    if (!plan) this.auth = null;
    else if (this.auth) this.auth.plan = plan;
    else this.auth = new AuthHmacState(plan, this.currentPlan.peers.length);
    this.advertCache.clear();
  }

  /**
   * Reload with a new address list (and announcement settings) for the same
   * virtual router, without leaving the current state: a Master adds the new
   * VIPs before removing the dropped ones and announces them; a Backup only
   * advertises and screens with the new list from now on. The machine's own
   * copy of the addresses is not consulted: address commands use the plan.
   */
  replaceAddresses(next: InstancePlan): void {
    this.endRepeats();
    const before = this.currentPlan.vips;
    // The source stays ours: it may have been resolved (resolveSource) since
    // the reload planned `next` from the config.
    const { sourcePending: _pending, ...rest } = next;
    const { source, sourceBytes, sourcePending } = this.currentPlan;
    this.currentPlan = { ...rest, source, sourceBytes, ...(sourcePending ? { sourcePending } : {}) };
    this.setAuthHmac(next.authHmac);
    this.advertCache.clear();
    this.announcer.cancel();
    this.announcer = new Announcer(next.vips, next.garp, this.deps.announceIo, this.log);
    const handoverVips = vipsOfFamily(next);
    this.forwarder?.setVips(handoverVips);
    this.drain?.setVips(handoverVips);
    if (this.state !== 'master') return;
    const key = (v: { address: string; prefix: number; dev: string }) => `${v.address}/${v.prefix}%${v.dev}`;
    const oldKeys = new Set(before.map(key));
    const newKeys = new Set(next.vips.map(key));
    this.deps.vipOps.add(next.vips.filter((v) => !oldKeys.has(key(v))));
    this.deps.vipOps.remove(before.filter((v) => !newKeys.has(key(v))));
    this.announcer.becameMaster();
  }

  /**
   * Graceful stop. A Master sends priority 0 so a Backup takes over after
   * Skew_Time, and keeps its VIPs until the new Master's first advert is
   * heard (make-before-break), bounded by Master_Down_Interval, so clients
   * are served throughout the handover.
   */
  stop(): Promise<void> {
    // Idempotent: a reload and a shutdown may both stop the same instance,
    // and both must wait for the one handover.
    this.stopped ??= this.forwarder ? this.stopOnce().then(() => this.removeHandoverTables()) : this.stopOnce();
    return this.stopped;
  }

  /**
   * Every step of the handover runs inside a clock callback (no await between
   * them): the VIPs are released exactly HANDOVER_OVERLAP_MS after the new
   * Master was heard on whatever clock the runner is given, a simulated one
   * included, not whenever the microtask queue gets to a continuation.
   */
  private stopOnce(): Promise<void> {
    // A stopping Master waits for the new Master's first advert (make-before-break): every advert at once.
    this.setReceiveHold(false);
    const wasMaster = this.state === 'master';
    if (wasMaster) this.holdingVipsForHandover = true;
    this.actor.send({ type: 'SHUTDOWN' });
    this.announcer.cancel();
    if (!wasMaster || this.plan.vips.length === 0) {
      this.finishStop();
      return Promise.resolve();
    }
    const bound = masterDownIntervalMs({ version: this.plan.version, priority: 1, masterAdvertIntervalCs: this.plan.machine.advertIntervalCs });
    return new Promise<void>((resolve) => {
      const release = (heard: boolean) => {
        this.log.info(
          { newMasterHeard: heard, boundMs: bound },
          heard ? 'new master heard: releasing VIPs' : 'no new master within Master_Down_Interval: releasing VIPs',
        );
        this.holdingVipsForHandover = false;
        const done = () => {
          this.finishStop();
          resolve();
        };
        if (heard) this.releaseAfterOverlap(done);
        else {
          this.releaseNow();
          done();
        }
      };
      const timer = this.deps.clock.setTimeout(() => {
        this.handover = null;
        release(false);
      }, bound);
      this.handover = {
        timer,
        resolve: () => {
          this.deps.clock.clearTimeout(timer);
          this.handover = null;
          release(true);
        },
      };
    });
  }

  /** Nothing of ours stays in nftables after a stop. */
  private async removeHandoverTables(): Promise<void> {
    this.draining = false;
    await Promise.all([this.forwarder?.disarm(), this.drain?.end()]);
  }

  private finishStop(): void {
    // Stopped while a Backup waits out a handover overlap: release now.
    if (this.pendingRelease !== null) this.releaseNow();
    this.actor.stop();
    this.channel?.leave();
    this.channel = null;
    this.sendChannel?.leave();
    this.sendChannel = null;
    this.stopFinished = true;
    const waiters = this.stopWaiters;
    this.stopWaiters = [];
    for (const fn of waiters) fn();
  }

  /**
   * Runs `fn` inside the clock callback that finishes stop() (at once if it
   * has finished). A simulation advances its clock in one synchronous loop,
   * so a continuation of stop()'s promise would only run after it; this one
   * runs at the virtual time the VIPs were released (sim/lan.ts, a reload).
   */
  whenStopped(fn: () => void): void {
    if (this.stopFinished) fn();
    else this.stopWaiters.push(fn);
  }

  status(): InstanceStatus {
    this.takeRepeats();
    const snap = this.actor.getSnapshot();
    const ctx = snap.context;
    const state = this.state;
    const { lastMasterAddress, lastMasterPriority, ...numbers } = ctx.stats;
    return {
      name: this.plan.name,
      vrid: this.plan.vrid,
      family: this.plan.family,
      version: this.plan.version,
      interface: this.plan.interface,
      ...(this.plan.vmac ? { vmac: this.plan.vmac.name } : {}),
      mode: this.plan.mode,
      source: this.plan.source,
      state,
      basePriority: ctx.basePriority,
      effectivePriority: ctx.effectivePriority,
      advertIntervalCs: this.plan.machine.advertIntervalCs,
      masterAdvertIntervalCs: ctx.masterAdvertIntervalCs,
      lastMaster: state === 'master' ? this.plan.source : lastMasterAddress ? formatAddress(lastMasterAddress) : null,
      lastMasterPriority,
      masterDownInMs: state === 'backup' ? Math.max(0, ctx.masterDownDeadline - this.deps.clock.now()) : null,
      peerChecksumVariant: this.peerChecksumVariant,
      counters: { ...numbers, sendErrors: this.sendErrors, lowerPriorityWhileMaster: this.lowerPriorityWhileMaster },
      drops: { ...this.drops },
      authHmac: this.auth ? { mode: this.auth.plan.mode, activeKey: this.auth.plan.activeKey, keyIds: [...this.auth.plan.keys.keys()] } : null,
      announcements: { ...this.announcer.stats },
      vips: this.plan.vips.map((v) => `${v.address}/${v.prefix} dev ${v.dev}`),
    };
  }

  private receive(p: HubPacket): void {
    // The addon ends its absorption for a VRID when it hands a datagram for it over.
    this.absorbing = false;
    // screenDrop and advertEvent copy what they need out of the meta: one object per runner.
    const now = this.deps.clock.now();
    const meta = this.meta;
    meta.ttl = p.ttl;
    meta.ifindex = p.ifindex;
    meta.expectedIfindex = this.channel?.ifindex ?? -1;
    meta.source = p.source;
    meta.multicastDestination = p.multicastDestination;
    meta.receivedAt = now - p.ageUs / 1000;
    if (!this.passedBefore(p.advert, meta)) {
      const refused = screenDrop(this.plan, p.advert, meta);
      if (refused !== null) {
        this.drop(refused.reason, refused.detail, addressText(p.source), p);
        return;
      }
      this.notePassed(p.advert, meta);
    }
    const event = advertEvent(p.advert, meta);
    if (!this.authenticated(p)) return;
    if (p.advert.priority > 0) this.lastPeerAdvertAt = now;
    // Timed by arrival (the kernel's stamp), as absorbed repeats are: a read
    // late by a receive-moderation hold is not the Master's jitter.
    if (this.deps.timing) {
      const intervalMs = p.advert.version === 2 ? p.advert.advertIntervalSec * 1000 : p.advert.maxAdvertIntervalCs * 10;
      this.timeAdvert(now - p.ageUs / 1000, p.source, p.advert.priority, intervalMs);
    }
    this.noteRivalMaster(p);
    if (this.handover) {
      // Stopping: the machine is gone; we only wait for the next master. Only
      // a screened advert counts: a stray one (another cluster's, a wrong
      // password) would release the VIPs before anyone took them over.
      if (p.advert.priority > 0) this.handover.resolve();
      return;
    }
    // A draining old Master must not forward: what reaches it is the new Master's forwarding.
    if (this.forwarder && this.state === 'backup') {
      if (this.draining) this.masterHeardWhileDraining = addressText(p.source);
      else this.forwarder.heard(addressText(p.source));
    }
    if (this.plan.family === 4 && this.plan.version === 3 && this.peerChecksumVariant !== p.checksumVariant) {
      if (p.checksumVariant !== this.plan.checksumVariant)
        this.log.warn(
          { peer: addressText(p.source), peerVariant: p.checksumVariant, ours: this.plan.checksumVariant },
          'peer computes the VRRPv3 checksum differently (v3_checksum_as_v2): accepted, but it may reject ours',
        );
      this.peerChecksumVariant = p.checksumVariant;
    }
    this.lastStepPlain = false;
    this.actor.send(event);
    if (this.lastStepPlain && this.mayAbsorb()) {
      this.absorbing = this.channel!.repeats!.arm();
      if (this.absorbing) {
        this.repeatOf = event;
        this.quietRepeats = 0;
        this.repeatMdiMs = Number.NaN;
      }
    }
  }

  /**
   * Whether repeats of a plain advert may be absorbed: not when something
   * here acts on every advert (handover_drain's forwarder, a stop waiting for
   * the new Master), nor with auth_hmac (its adverts never repeat). The
   * advert-jitter histogram gets each repeat's arrival (takeRepeats).
   */
  private mayAbsorb(): boolean {
    return this.channel?.repeats != null && this.forwarder === null && this.auth === null && this.handover === null;
  }

  private stopAbsorbing(): void {
    this.absorbing = false;
    this.channel?.repeats?.disarm();
  }

  /** One advert's sample for the advert-jitter histogram, by its arrival. */
  private timeAdvert(arrivedAt: number, source: Uint8Array, priority: number, intervalMs: number): void {
    const jitter = this.timing.heard(arrivedAt, source, priority, intervalMs);
    if (jitter !== null) this.deps.timing!.advertJitter(jitter);
  }

  /**
   * A repeat was absorbed (in a batch being read). When the next one may
   * come after Master_Down_Timer wakes the loop (its precise host timer is
   * set up to an eighth of its delay early), that wake-up is moved on to
   * where the latest repeat puts the deadline (postponeMasterDown), or,
   * where it cannot be, the machine takes the repeats now. Either way the
   * timer never wakes the daemon in steady state; moved on, the machine
   * does not step at all until something needs its state. A timer that
   * cannot say when it wakes (a simulated clock): every second repeat.
   */
  private absorbedOne(): void {
    if (this.repeatOf === null) return;
    // Counted, not timed: reading the clock per advert took a heap number each time.
    if (this.quietRepeats > 0) {
      this.quietRepeats--;
      return;
    }
    let wake = this.masterDownWake.next();
    if (Number.isNaN(wake)) {
      if (this.channel!.repeats!.pending() >= 2) this.takeRepeats();
      return;
    }
    const now = this.deps.clock.now();
    const intervalMs = this.repeatOf.intervalCs * 10;
    // The next read of this instance's repeat: an interval on, give or take a quarter, plus the socket's hold.
    const lead = intervalMs * 1.25 + this.holdMs + 2;
    if (now + lead >= wake) {
      if (!this.postponeMasterDown()) return this.takeRepeats();
      wake = this.masterDownWake.next();
    }
    // The repeats on schedule whose reads come before the wake-up need no look. Fewer than half the
    // ring, so the arrivals the timing histogram reads (REPEATS_KEPT) never overflow it. Repeats that
    // come early or stop only make the wake-up come first: it takes them (TimerSlots.beforeFire).
    this.quietRepeats = Math.max(0, Math.min(REPEATS_KEPT / 2 - 1, Math.floor((wake - now - lead) / intervalMs)));
  }

  /**
   * Moves Master_Down_Timer's wake-up on to the latest repeat's arrival plus
   * Master_Down_Interval: the deadline the machine will set when it takes
   * the repeats, or later (it counts from the arrival, or from an interval
   * before the read if that is later: machine.ts arrivalOf), so the wake-up
   * never comes after the deadline. The interval is the machine's
   * (acceptedMasterDownIntervalMs). Not with the advert-jitter
   * histogram once its ring of arrivals could overflow: the repeats are taken.
   */
  private postponeMasterDown(): boolean {
    const repeats = this.channel!.repeats!;
    // Taken by half the ring: the next check comes within three more adverts (Master_Down_Interval is under four intervals).
    if (this.deps.timing && repeats.pending() >= REPEATS_KEPT / 2) return false;
    const ago = repeats.latestAgoMs();
    if (!(ago >= 0)) return false;
    if (Number.isNaN(this.repeatMdiMs)) this.repeatMdiMs = acceptedMasterDownIntervalMs(this.actor.getSnapshot().context, this.repeatOf!.intervalCs);
    return this.masterDownWake.postpone(this.deps.clock.now() - ago + this.repeatMdiMs);
  }

  /** The machine takes the repeats absorbed since it last did, as one advert event. */
  private takeRepeats(): void {
    const last = this.repeatOf;
    const repeats = this.channel?.repeats;
    if (last === null || !repeats || repeats.pending() === 0) return;
    const taken = TAKEN;
    const copies = repeats.take(taken);
    const now = this.deps.clock.now();
    const readAt = now - taken.readAgoMs;
    // What receive() notes of each advert it hands on (a plain advert's priority is never 0).
    this.lastPeerAdvertAt = readAt;
    if (this.deps.timing) {
      if (copies > taken.recentCount) this.timing.lostTrack();
      for (let k = 0; k < taken.recentCount; k++) this.timeAdvert(now - taken.recentAgoMs[k]!, last.source, last.priority, last.intervalCs * 10);
    }
    this.sendToMachine(repeatedAdvert(last, copies, now - taken.arrivedAgoMs, readAt));
  }

  /** Takes what was absorbed and absorbs no more: the plan the repeats passed under is changing. */
  private endRepeats(): void {
    this.takeRepeats();
    if (this.absorbing) this.stopAbsorbing();
    this.repeatOf = null;
  }

  /** Whether screenDrop passed this very advert with this meta under this plan last time. */
  private passedBefore(advert: unknown, meta: PacketMeta): boolean {
    const was = this.passedMeta;
    return (
      advert === this.passedAdvert &&
      this.currentPlan === this.passedPlan &&
      meta.source === was.source &&
      meta.ttl === was.ttl &&
      meta.ifindex === was.ifindex &&
      meta.expectedIfindex === was.expectedIfindex &&
      meta.multicastDestination === was.multicastDestination
    );
  }

  private notePassed(advert: unknown, meta: PacketMeta): void {
    this.passedAdvert = advert;
    this.passedPlan = this.currentPlan;
    const was = this.passedMeta;
    was.source = meta.source;
    was.ttl = meta.ttl;
    was.ifindex = meta.ifindex;
    was.expectedIfindex = meta.expectedIfindex;
    was.multicastDestination = meta.multicastDestination;
  }

  /** auth_hmac verdict on a screened advert; false after counting and logging a drop. */
  private authenticated(p: HubPacket): boolean {
    const auth = this.auth;
    if (!auth) {
      if (!p.auth) return true;
      // keepalived without auth_hmac refuses the longer advert too (a length error).
      this.drop('hmac-unexpected', 'advert carries a 28-byte auth_hmac trailer', addressText(p.source));
      return false;
    }
    const ctx = { version: this.plan.version, vrid: this.plan.vrid, source: p.source };
    const r = auth.check(p.auth?.message, p.auth?.trailer, ctx, (this.deps.realtimeMs ?? Date.now)());
    if (!r.ok) {
      this.drop(r.reason, r.skewSec === null ? r.detail : `${r.detail} (clock skew ${r.skewSec} s)`, addressText(p.source));
      return false;
    }
    // keepalived warns when a peer's clock drifts past half the window.
    if (r.skewSec !== null && Math.abs(r.skewSec) > auth.plan.timeWindowSec / 2 && !this.reportedSkew) {
      this.reportedSkew = true;
      this.log.warn(
        { from: addressText(p.source), skewSec: r.skewSec, windowSec: auth.plan.timeWindowSec },
        'auth_hmac clock skew approaching the time window',
      );
    }
    return true;
  }

  private drop(reason: DropReason, detail: string, from: string, p?: HubPacket): void {
    this.drops[reason]++;
    this.dropTotal++;
    // Logged at most once a minute per (sender, reason), the rest at debug: a
    // misconfigured neighbour must be visible without flooding the log.
    const suppressed = this.sight(STRANGER_REASON[reason] ?? reason, from, p?.advert.priority ?? null, detail);
    if (suppressed !== null) {
      const message =
        reason === 'address-list-mismatch'
          ? 'advert for our VRID with a different address list: another cluster may use this VRID (VRID collision)'
          : reason.startsWith('hmac-')
            ? AUTH_DROP_CAUSE[reason as keyof typeof AUTH_DROP_CAUSE]
            : 'advert dropped';
      this.log.warn({ reason, from, detail, suppressed }, message);
    } else {
      this.log.debug({ reason, from, detail }, 'advert dropped');
    }
  }

  /**
   * A Master hearing another router's advert for its VRID: a lower priority
   * (a stranger, or a peer that has not yet heard us) is counted and named; a
   * higher one wins, as RFC 5798 says (only auth_hmac keeps a stranger out),
   * and its sender is named too.
   */
  private noteRivalMaster(p: HubPacket): void {
    const priority = p.advert.priority;
    if (priority === 0 || this.state !== 'master') return;
    const ours = this.actor.getSnapshot().context.effectivePriority;
    if (priority === ours) return;
    const lower = priority < ours;
    if (lower) this.lowerPriorityWhileMaster++;
    const from = addressText(p.source);
    const reason = lower ? 'lower-priority' : 'higher-priority';
    const suppressed = this.sight(reason, from, priority, `priority ${priority}, ours ${ours}`);
    if (suppressed === null) return;
    if (lower)
      this.log.info({ from, priority, ours, suppressed }, 'lower-priority adverts for our VRID while Master (reported at most once a minute per sender)');
    else this.log.warn({ from, priority, ours, suppressed }, 'a higher-priority advert takes Master from us (without auth_hmac any host on the LAN can)');
  }

  private sight(reason: string, from: string, priority: number | null, detail: string): number | null {
    const plan = this.plan;
    return this.deps.hub.strangers.sight({
      sender: from,
      reason,
      vrid: plan.vrid,
      priority,
      interface: plan.interface,
      family: plan.family,
      instance: plan.name,
      detail,
    });
  }

  private execute(cmd: VrrpCommand): void {
    switch (cmd.type) {
      case 'send-advert':
        this.sendAdvert(cmd.priority, cmd.intervalCs);
        return;
      case 'add-addresses':
        this.cancelPendingRelease();
        if (this.draining) {
          // Master again before the drain ended: answer ARP / ND for the VIPs again.
          this.draining = false;
          void this.drain?.end();
        }
        this.deps.vipOps.add(this.plan.vips);
        return;
      case 'remove-addresses':
        if (this.holdingVipsForHandover) return;
        if (cmd.handover) this.releaseAfterOverlap();
        else this.releaseNow();
        return;
      case 'announce':
        // The whole burst goes before the first advert. Sending only its first
        // round before the advert (0.2-0.4 ms sooner at 0.01 s adverts) made the
        // client's ARP repair after a brief takeover miss its 1 s bound in 2 of
        // 3 runs of test/lab/arp-repair.test.ts: the later rounds land inside
        // the client's locktime after the old Master's answer.
        if (cmd.reason === 'became-master') this.announcer.becameMaster();
        else this.announcer.lowerPriorityMaster();
        return;
      case 'priority-changed':
        this.advertCache.clear();
        this.log.info({ from: cmd.from, to: cmd.to, basePriority: cmd.basePriority }, 'effective priority changed');
        return;
      case 'warning':
        this.log.warn({ code: cmd.code, ...cmd.detail }, cmd.message);
        return;
    }
  }

  private cancelPendingRelease(): void {
    if (this.pendingRelease === null) return;
    this.deps.clock.clearTimeout(this.pendingRelease);
    this.pendingRelease = null;
  }

  /**
   * A better Master holds the VIPs: release ours HANDOVER_OVERLAP_MS from now
   * (with handover_drain, at the end of the drain, answering no ARP / ND for
   * them meanwhile), then run `then`.
   */
  private releaseAfterOverlap(then?: () => void): void {
    this.cancelPendingRelease();
    const drainMs = this.drain ? Math.max(HANDOVER_OVERLAP_MS, this.plan.handoverDrainMs ?? 0) : HANDOVER_OVERLAP_MS;
    if (this.drain) {
      this.draining = true;
      void this.forwarder?.disarm();
      this.drain.start();
    }
    this.pendingRelease = this.deps.clock.setTimeout(() => {
      this.releaseNow();
      then?.();
    }, drainMs);
  }

  /** Removes the VIPs now (a release waiting out its overlap included), then the drain's table. */
  private releaseNow(): void {
    this.cancelPendingRelease();
    this.deps.vipOps.remove(this.plan.vips);
    if (this.draining) {
      this.draining = false;
      void this.drain?.end();
      // Armed now rather than at the next advert: a handover may come before it.
      const master = this.masterHeardWhileDraining;
      this.masterHeardWhileDraining = null;
      if (master !== null && this.stopped === null && this.state === 'backup') this.forwarder?.heard(master);
    }
  }

  private onMachineTransition(cmd: Extract<VrrpCommand, { type: 'transition' }>): void {
    this.setReceiveHold(cmd.to === 'backup' && this.stopped === null);
    if (cmd.from === 'master') this.announcer.cancel();
    if (this.forwarder) {
      if (cmd.to === 'master') this.forwarder.becameMaster(this.actor.getSnapshot().context.masterAdvertIntervalCs * 10);
      else if (cmd.to !== 'backup') void this.forwarder.disarm();
    }
    this.timing.transition(cmd.from, cmd.to);
    const record: TransitionRecord = {
      instance: this.plan.name,
      vrid: this.plan.vrid,
      family: this.plan.family === 4 ? 'ipv4' : 'ipv6',
      interface: this.plan.interface,
      from: cmd.from,
      to: cmd.to,
      reason: cmd.reason,
      effectivePriority: cmd.effectivePriority,
      basePriority: cmd.basePriority,
      masterSeen: cmd.masterSeen ? formatAddress(cmd.masterSeen) : null,
      advertIntervalCs: this.plan.machine.advertIntervalCs,
      at: cmd.at,
    };
    if (this.heldReport) this.report(this.heldReport);
    this.heldReport = null;
    // Reporting (the log line, events, notify queues) cost 0.4-0.7 ms before
    // a new Master's first advert (measured at 0.01 s adverts): it waits for
    // the end of the step. A sync group member reports at once: its group's
    // orders to the other members follow from this transition, and their
    // transitions must be reported after it.
    if (cmd.to === 'master' && this.plan.machine.syncGroup === undefined) this.heldReport = record;
    else this.report(record);
  }

  /**
   * A Backup lets the hub hold its socket for a tenth of the advert interval
   * it expects (receive-moderation.ts: the cost of a wake-up per advert,
   * and why a late read moves no deadline); in any other state every advert
   * is read at once.
   */
  private setReceiveHold(allowed: boolean): void {
    if (!this.channel) return;
    if (!allowed) return this.channel.setReceiveHold(0);
    const learned = this.actor.getSnapshot().context.masterAdvertIntervalCs;
    const intervalCs = Math.min(this.plan.machine.advertIntervalCs, learned > 0 ? learned : Infinity);
    this.holdMs = holdForIntervalMs(intervalCs * 10);
    this.quietRepeats = 0;
    this.channel.setReceiveHold(this.holdMs);
  }

  /** After each machine step: what a new Master held back until its first advert had left. */
  private afterStep(): void {
    this.quietRepeats = 0;
    this.repeatMdiMs = Number.NaN;
    const plain = plainAdvertSteps(this.actor);
    this.lastStepPlain = plain !== this.plainSteps;
    this.plainSteps = plain;
    // A step of any other kind may have changed what a repeat would do.
    if (!this.lastStepPlain && this.absorbing) this.stopAbsorbing();
    const held = this.heldReport;
    if (held === null) return;
    this.heldReport = null;
    this.report(held);
  }

  private report(record: TransitionRecord): void {
    this.log.info(
      { from: record.from, to: record.to, reason: record.reason, priority: record.effectivePriority, master: record.masterSeen },
      `${record.from} -> ${record.to}`,
    );
    for (const l of this.listeners) {
      try {
        l(record);
      } catch (err) {
        this.log.error({ err }, 'transition listener failed');
      }
    }
  }

  private sendAdvert(priority: number, intervalCs: number): void {
    const channel = this.sendChannel ?? this.channel;
    if (!channel) return;
    if (priority > 0 && this.deps.timing) {
      const takeover = this.timing.sent(this.deps.clock.now());
      if (takeover !== null) this.deps.timing.takeover(this.plan.name, takeover);
    }
    let adverts = this.advertCache.get(priority);
    if (!adverts) {
      adverts = this.encodeAdverts(priority, intervalCs);
      this.advertCache.set(priority, adverts);
    }
    const payloads = this.auth?.signs ? this.signAdverts(this.auth, adverts) : null;
    for (let i = 0; i < adverts.length; i++) {
      const { destination } = adverts[i]!;
      const r = channel.send(payloads ? payloads[i]! : adverts[i]!.payload, destination);
      if (!r.ok) {
        this.sendErrors++;
        if (this.sendErrors === 1 || this.sendErrors % 100 === 0)
          this.log.warn({ code: r.code, destination, sendErrors: this.sendErrors }, 'advert send failed');
      }
    }
  }

  /** Each advert gets a fresh sequence and HMAC: only the plain message is cached. */
  private signAdverts(auth: AuthHmacState, adverts: readonly { payload: Buffer; destinationBytes: Uint8Array }[]): Buffer[] {
    const plan = this.plan;
    return auth.sign(adverts, { version: plan.version, vrid: plan.vrid, source: plan.sourceBytes }, (this.deps.realtimeMs ?? Date.now)());
  }

  private encodeAdverts(priority: number, intervalCs: number): { payload: Buffer; destination: string; destinationBytes: Uint8Array }[] {
    const plan = this.plan;
    const addresses = advertised(plan.vips, plan.family).map((v) => v.bytes);
    const advert: VrrpAdvert =
      plan.version === 2
        ? {
            version: 2,
            vrid: plan.vrid,
            priority,
            advertIntervalSec: Math.max(1, Math.round(intervalCs / 100)),
            authType: plan.auth.type,
            authData: plan.auth.type === 'simple' ? (plan.auth.password as Uint8Array) : noAuthData(),
            addresses,
          }
        : { version: 3, vrid: plan.vrid, priority, maxAdvertIntervalCs: intervalCs, addresses };
    const targets = plan.mode === 'unicast' ? plan.peers.map((p) => ({ text: p.address, bytes: p.bytes })) : [{ text: plan.group, bytes: plan.groupBytes }];
    return targets.map((t) => ({
      payload: encodeVrrp(advert, { source: plan.sourceBytes, destination: t.bytes }, { checksumVariant: plan.checksumVariant }),
      destination: t.text,
      destinationBytes: t.bytes,
    }));
  }
}
