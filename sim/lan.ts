/**
 * A deterministic, in-process virtual LAN for VRRP instance actors.
 *
 * Every instance runs on one shared clock. A `send-advert` command becomes an
 * ADVERT event at every other live instance on the same link, VRID and family,
 * after `delayMs`, unless a partition separates them or the seeded loss drops it.
 * The LAN also plays the host: it executes add/remove-addresses (recording who
 * holds the virtual addresses), and can kill (crash), stop (graceful shutdown)
 * and restart instances. Nothing here touches the network.
 *
 * Determinism: timers and deliveries run on the clock in (due time, creation order);
 * loss draws come from one seeded PRNG in that order. Same inputs, same run.
 */
import type { Logger } from '../core/logger.js';
import { createVrrpInstance, type VrrpActor, type VrrpClock, type VrrpInput, type VrrpStateName } from '../actors/vrrp/index.js';
import { SyncGroup, type GroupTransition } from '../actors/sync-group/index.js';
import { VirtualClock } from './clock.js';
import { mulberry32 } from './prng.js';

/** A clock the LAN can drive: VirtualClock (exact) or xstate's SimulatedClock (fires at tick ends). */
export interface LanClock extends VrrpClock {
  increment(ms: number): void;
}

export interface LanOptions {
  /** Defaults to a new VirtualClock. */
  clock?: LanClock;
  /** One-way delivery delay of an advert, ms (default 0: delivered at the send time, after the sender's own actions). */
  delayMs?: number;
  /** Probability that one delivery (one sender → one receiver) is lost, 0..1 (default 0). */
  lossRate?: number;
  /** Seed of the loss PRNG (default 1). */
  seed?: number;
  /**
   * Step of runFor/runUntil, ms (default 1). With VirtualClock every timer fires at
   * its exact time whatever the step; the step only bounds how often runUntil's
   * predicate is checked. With SimulatedClock it is the timer resolution.
   */
  tickMs?: number;
  /** Keep a log of every delivered advert in `deliveries` (default false; memory grows with the run). */
  recordDeliveries?: boolean;
  logger?: Logger;
}

export interface AddNodeOptions {
  /** Broadcast domain (an interface/VLAN): only instances on the same link hear each other. Default 'lan0'. */
  link?: string;
}

export type NodeStatus = VrrpStateName | 'dead';

export interface TimelineEntry {
  at: number;
  node: string;
  from: NodeStatus;
  to: NodeStatus;
  reason: string;
  priority?: number;
}

export interface AddressEvent {
  at: number;
  node: string;
  vrid: number;
  action: 'add' | 'remove' | 'lost';
  addresses: readonly string[];
}

export interface Delivery {
  at: number;
  from: string;
  to: string;
  priority: number;
}

export interface LanStats {
  advertsSent: number;
  delivered: number;
  lost: number;
  /** Deliveries prevented by a partition. */
  blocked: number;
}

interface Node {
  readonly name: string;
  readonly input: VrrpInput;
  readonly domain: string;
  actor: VrrpActor | null;
  /** Bumped on every (re)start so deliveries addressed to an older incarnation are dropped. */
  incarnation: number;
  holdsAddresses: boolean;
  group: number;
  lastAdvertAt: number | null;
  /** The vrrp_sync_group coordinating this instance, if any. */
  syncGroup: SyncGroup | null;
}

export class VirtualLan {
  readonly clock: LanClock;
  readonly timeline: TimelineEntry[] = [];
  readonly addressLog: AddressEvent[] = [];
  readonly stats: LanStats = { advertsSent: 0, delivered: 0, lost: 0, blocked: 0 };
  readonly deliveries: Delivery[] = [];
  /** Sync-group transitions, in order. */
  readonly groupTimeline: GroupTransition[] = [];

  private readonly nodes = new Map<string, Node>();
  private readonly domains = new Map<string, Node[]>();
  private readonly delayMs: number;
  private readonly lossRate: number;
  private readonly random: () => number;
  private readonly tickMs: number;
  private readonly recordDeliveries: boolean;
  private readonly logger: Logger | undefined;

  constructor(options: LanOptions = {}) {
    this.clock = options.clock ?? new VirtualClock();
    this.delayMs = options.delayMs ?? 0;
    this.lossRate = options.lossRate ?? 0;
    this.random = mulberry32(options.seed ?? 1);
    this.tickMs = options.tickMs ?? 1;
    this.recordDeliveries = options.recordDeliveries ?? false;
    this.logger = options.logger;
  }

  now(): number {
    return this.clock.now();
  }

  /**
   * Adds an instance (named by `input.name`, which must be unique) and starts it
   * at the current time. Throws on a duplicate name or an invalid input.
   */
  addNode(input: VrrpInput, options: AddNodeOptions = {}): void {
    this.boot(this.register(input, options, null));
  }

  /**
   * Adds instances that form one sync group (named `name`; each input gets
   * `syncGroup: name`) and starts them together, as keepalived starts a group.
   * Returns the group, for inspection.
   */
  addSyncGroup(name: string, inputs: readonly VrrpInput[], options: AddNodeOptions = {}): SyncGroup {
    const group = new SyncGroup(name, { now: () => this.now(), ...(this.logger ? { logger: this.logger } : {}) });
    group.onTransition((t) => this.groupTimeline.push(t));
    const nodes = inputs.map((input) => this.register({ ...input, syncGroup: name }, options, group));
    for (const node of nodes) this.boot(node);
    group.start();
    return group;
  }

  private register(input: VrrpInput, options: AddNodeOptions, syncGroup: SyncGroup | null): Node {
    if (this.nodes.has(input.name)) throw new Error(`VirtualLan: node ${input.name} already exists`);
    const domain = `${options.link ?? 'lan0'}/${input.family}/${input.vrid}`;
    const node: Node = { name: input.name, input, domain, actor: null, incarnation: 0, holdsAddresses: false, group: 0, lastAdvertAt: null, syncGroup };
    this.nodes.set(input.name, node);
    let peers = this.domains.get(domain);
    if (!peers) this.domains.set(domain, (peers = []));
    peers.push(node);
    return node;
  }

  /** Crash: the instance vanishes without a priority-0 advert; its host's addresses go with it. */
  kill(name: string): void {
    const node = this.node(name);
    const actor = node.actor;
    if (!actor) return;
    const from = this.statusOf(node);
    node.actor = null;
    node.incarnation++;
    node.syncGroup?.detach(name);
    actor.stop();
    if (node.holdsAddresses) {
      node.holdsAddresses = false;
      this.addressLog.push({ at: this.now(), node: name, vrid: node.input.vrid, action: 'lost', addresses: node.input.virtualAddresses });
    }
    this.timeline.push({ at: this.now(), node: name, from, to: 'dead', reason: 'killed' });
  }

  /** Graceful stop: SHUTDOWN (a Master sends priority 0 and removes its addresses). */
  stop(name: string): void {
    this.node(name).actor?.send({ type: 'SHUTDOWN' });
  }

  /** Starts a killed or stopped instance again, from Initialize, with its original input. */
  restart(name: string): void {
    const node = this.node(name);
    if (node.actor && node.actor.getSnapshot().status === 'active') this.kill(name);
    const from = this.statusOf(node);
    node.actor = null;
    this.timeline.push({ at: this.now(), node: name, from, to: 'initialize', reason: 'restarted' });
    this.boot(node);
  }

  /** Reports a tracked object's health to an instance. */
  track(name: string, id: string, up: boolean): void {
    this.node(name).actor?.send({ type: 'TRACK', id, up });
  }

  setPriority(name: string, priority: number): void {
    this.node(name).actor?.send({ type: 'SET_PRIORITY', priority });
  }

  /**
   * Splits the LAN: each listed group hears only itself; nodes not listed form one
   * more group together. Replaces any earlier partition.
   */
  partition(groups: readonly (readonly string[])[]): void {
    for (const n of this.nodes.values()) n.group = 0;
    groups.forEach((g, i) => {
      for (const name of g) this.node(name).group = i + 1;
    });
  }

  heal(): void {
    for (const n of this.nodes.values()) n.group = 0;
  }

  /** Advances simulated time by `ms` (in tickMs steps). */
  runFor(ms: number): void {
    const end = this.now() + ms;
    while (this.now() < end) this.clock.increment(Math.min(this.tickMs, end - this.now()));
  }

  /**
   * Advances until `pred` holds (checked before the first and after every step) or
   * `maxMs` has passed. Returns the time it held, or null.
   */
  runUntil(pred: () => boolean, maxMs: number): number | null {
    const end = this.now() + maxMs;
    for (;;) {
      if (pred()) return this.now();
      if (this.now() >= end) return null;
      this.clock.increment(Math.min(this.tickMs, end - this.now()));
    }
  }

  /** Current state of an instance ('dead' after kill). */
  stateOf(name: string): NodeStatus {
    return this.statusOf(this.node(name));
  }

  /** Names of the instances in Master, optionally for one VRID. */
  masters(vrid?: number): string[] {
    const out: string[] = [];
    for (const n of this.nodes.values()) if ((vrid === undefined || n.input.vrid === vrid) && this.statusOf(n) === 'master') out.push(n.name);
    return out;
  }

  /** Names of the instances that currently hold their virtual addresses, optionally for one VRID. */
  addressHolders(vrid?: number): string[] {
    const out: string[] = [];
    for (const n of this.nodes.values()) if ((vrid === undefined || n.input.vrid === vrid) && n.holdsAddresses) out.push(n.name);
    return out;
  }

  /** When the instance last sent an advert (any priority), or null. */
  lastAdvertAt(name: string): number | null {
    return this.node(name).lastAdvertAt;
  }

  /** The live actor of an instance (null after kill), for inspection. */
  actorOf(name: string): VrrpActor | null {
    return this.node(name).actor;
  }

  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  /** Timeline entries in [since, until), optionally for one node. */
  transitions(filter: { node?: string; since?: number; until?: number } = {}): TimelineEntry[] {
    return this.timeline.filter(
      (e) =>
        (filter.node === undefined || e.node === filter.node) &&
        (filter.since === undefined || e.at >= filter.since) &&
        (filter.until === undefined || e.at < filter.until),
    );
  }

  /** Stops every instance (kill, no adverts): for cleanup. */
  dispose(): void {
    for (const n of this.nodes.values()) {
      n.actor?.stop();
      n.actor = null;
    }
  }

  private node(name: string): Node {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`VirtualLan: no node ${name}`);
    return n;
  }

  private statusOf(node: Node): NodeStatus {
    if (!node.actor) return 'dead';
    const v = node.actor.getSnapshot().value;
    return (typeof v === 'string' ? v : Object.keys(v)[0]) as VrrpStateName;
  }

  private boot(node: Node): void {
    node.incarnation++;
    const actor = createVrrpInstance(node.input, this.logger ? { clock: this.clock, logger: this.logger } : { clock: this.clock });
    node.actor = actor;
    actor.on('send-advert', (e) => this.broadcast(node, e.priority, e.intervalCs));
    actor.on('transition', (e) => {
      this.timeline.push({ at: e.at, node: node.name, from: e.from, to: e.to, reason: e.reason, priority: e.effectivePriority });
    });
    actor.on('add-addresses', (e) => {
      node.holdsAddresses = true;
      this.addressLog.push({ at: this.now(), node: node.name, vrid: node.input.vrid, action: 'add', addresses: e.addresses });
    });
    actor.on('remove-addresses', (e) => {
      node.holdsAddresses = false;
      this.addressLog.push({ at: this.now(), node: node.name, vrid: node.input.vrid, action: 'remove', addresses: e.addresses });
    });
    actor.start();
    // A grouped instance is started by its group (at once if the group already runs).
    if (node.syncGroup) node.syncGroup.attach(node.name, actor);
    else actor.send({ type: 'START' });
  }

  private broadcast(from: Node, priority: number, intervalCs: number): void {
    this.stats.advertsSent++;
    from.lastAdvertAt = this.now();
    const peers = this.domains.get(from.domain)!;
    const source = from.input.primaryAddress;
    const version = from.input.version;
    for (const to of peers) {
      if (to === from || !to.actor) continue;
      if (to.group !== from.group) {
        this.stats.blocked++;
        continue;
      }
      if (this.lossRate > 0 && this.random() < this.lossRate) {
        this.stats.lost++;
        continue;
      }
      const target = to.incarnation;
      this.clock.setTimeout(() => {
        // The sender may have died in flight; the packet still arrives. The receiver must be the same incarnation.
        if (to.incarnation !== target || !to.actor || to.actor.getSnapshot().status !== 'active') return;
        this.stats.delivered++;
        if (this.recordDeliveries) this.deliveries.push({ at: this.now(), from: from.name, to: to.name, priority });
        to.actor.send({ type: 'ADVERT', priority, intervalCs, source, version });
      }, this.delayMs);
    }
  }
}
