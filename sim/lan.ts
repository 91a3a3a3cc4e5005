/**
 * A deterministic, in-process virtual LAN of vipflow routers, driving the
 * production host side on simulated time.
 *
 * Each node is a host (sim/host.ts) given a configuration (keepalived.conf
 * text or a typed config) and its interfaces as data. Its instances are
 * planned by infra/vrrp/plan.ts and run by infra/vrrp/instance-runner.ts
 * behind one wire/hub WireHub per node, whose sockets are virtual
 * (sim/wire.ts): adverts are real bytes from the codec, received through the
 * hub's decode and VRID routing and the RFC 5798 §7.1 receive checks. What
 * the runners do to the host is recorded: VIPs added and removed, gratuitous
 * ARP / NA sent, packets sent (`events`), state transitions (`timeline`).
 *
 * Instances are named `node/instance` (`ref`); a node with one instance may be
 * named by the node alone. kill (crash), stop (graceful, with priority 0 and
 * the runner's make-before-break handover) and restart act on a whole node or
 * on one instance.
 *
 * Determinism: every timer (the machines', the announcers', the wire's
 * deliveries) runs on one clock in (due time, creation order); loss draws
 * come from one seeded PRNG (sim/prng.ts) in send order. Same inputs, same run.
 */
import { isDeepStrictEqual } from 'node:util';
import { silentLogger, type Logger } from '../core/logger.js';
import { defineConfig } from '../config/define.js';
import { loadKeepalivedText } from '../config/keepalived/index.js';
import type { VipflowConfig, VipflowConfigInput } from '../config/model.js';
import type { TransitionRecord, VrrpClock, VrrpStateName } from '../actors/vrrp/index.js';
import type { GroupTransition } from '../actors/sync-group/index.js';
import type { ScriptHealth } from '../actors/track-script/index.js';
import type { WireHub } from '../wire/hub/vrid-hub.js';
import type { InstanceRunner } from '../infra/vrrp/instance-runner.js';
import type { AdvertTimingSink } from '../infra/vrrp/advert-timing.js';
import { liveChange } from '../infra/vrrp/reload-plan.js';
import { VirtualClock } from './clock.js';
import { mulberry32 } from './prng.js';
import { VirtualHost, type HostEvent, type HostInterfaceSpec } from './host.js';
import { VirtualWire, type Delivery, type InjectedPacket, type LossRule, type WireStats } from './wire.js';

/** A clock the LAN can drive: VirtualClock (exact) or xstate's SimulatedClock (fires at tick ends). */
export interface LanClock extends VrrpClock {
  increment(ms: number): void;
}

export interface LanOptions {
  /** Defaults to a new VirtualClock. */
  clock?: LanClock;
  /** One-way delivery delay of every packet, ms (default 0: delivered at the send time, after the sender's own actions). */
  delayMs?: number;
  /** Probability that one delivery (one packet to one receiver) is lost, 0..1 (default 0). */
  lossRate?: number;
  /** Seed of the loss PRNG (default 1). */
  seed?: number;
  /**
   * Step of runFor/runUntil, ms (default 1). With VirtualClock every timer fires at
   * its exact time whatever the step; the step only bounds how often runUntil's
   * predicate is checked. With SimulatedClock it is the timer resolution.
   */
  tickMs?: number;
  /** Keep a log of every delivered packet in `deliveries` (default false; memory grows with the run). */
  recordDeliveries?: boolean;
  /** Keep adverts and announcements in `events` (default true; address changes are always kept). */
  recordEvents?: boolean;
  logger?: Logger;
}

export interface NodeSpec {
  interfaces: readonly HostInterfaceSpec[];
  /** keepalived.conf text, or a typed configuration (validated by defineConfig). */
  config: string | VipflowConfigInput;
  /** An already loaded configuration (config/load.ts): used as is, `config` is then ignored. */
  model?: VipflowConfig;
  /** Health of vrrp_scripts at start (unknown when absent, as before a script's first result). */
  scripts?: Readonly<Record<string, ScriptHealth>>;
  /** Receives the node's takeover and advert-jitter samples, as the daemon's histograms do. */
  timing?: AdvertTimingSink;
}

export type NodeStatus = VrrpStateName | 'dead';

export interface TimelineEntry {
  at: number;
  node: string;
  instance: string;
  /** `node/instance` */
  ref: string;
  from: NodeStatus;
  to: NodeStatus;
  reason: string;
  priority?: number;
  /** The runner's own record (absent for kills and restarts, which the simulator writes). */
  record?: TransitionRecord;
}

export interface NodeGroupTransition extends GroupTransition {
  node: string;
}

export type LanStats = WireStats;

function parseConfig(config: string | VipflowConfigInput): VipflowConfig {
  if (typeof config !== 'string') return defineConfig(config);
  const r = loadKeepalivedText(config);
  if (!r.model) throw new Error(`VirtualLan: config rejected: ${r.diagnostics.map((d) => `${d.line}: ${d.message}`).join('; ')}`);
  return r.model;
}

export class VirtualLan {
  readonly clock: LanClock;
  readonly wire: VirtualWire;
  readonly timeline: TimelineEntry[] = [];
  /** Sync-group transitions, in order. */
  readonly groupTimeline: NodeGroupTransition[] = [];
  /** What the hosts did, in order: adverts sent, VIPs added / removed / lost, announcements sent. */
  readonly events: HostEvent[] = [];

  private readonly hosts = new Map<string, VirtualHost>();
  private readonly lastSent = new Map<string, number>();
  private readonly tickMs: number;
  private readonly recordEvents: boolean;
  private readonly logger: Logger;

  constructor(options: LanOptions = {}) {
    this.clock = options.clock ?? new VirtualClock();
    this.tickMs = options.tickMs ?? 1;
    this.recordEvents = options.recordEvents ?? true;
    this.logger = options.logger ?? silentLogger();
    this.wire = new VirtualWire(this.clock, {
      delayMs: options.delayMs ?? 0,
      lossRate: options.lossRate ?? 0,
      random: mulberry32(options.seed ?? 1),
      recordDeliveries: options.recordDeliveries ?? false,
    });
    this.wire.onSend((p) => {
      const vrid = p.payload[1] ?? 0;
      this.lastSent.set(`${p.node}|${p.interface}|${p.family}|${vrid}`, p.at);
      if (this.recordEvents)
        this.events.push({ at: p.at, node: p.node, kind: 'advert', interface: p.interface, vrid, priority: p.payload[2] ?? 0, destination: p.destination });
    });
  }

  get stats(): LanStats {
    return this.wire.stats;
  }

  get deliveries(): readonly Delivery[] {
    return this.wire.deliveries;
  }

  now(): number {
    return this.clock.now();
  }

  /**
   * Adds a host and starts its configuration at the current time. Throws on a
   * duplicate name, a rejected configuration, or an instance planInstance
   * cannot plan on the given interfaces.
   */
  addNode(name: string, spec: NodeSpec): void {
    if (this.hosts.has(name)) throw new Error(`VirtualLan: node ${name} already exists`);
    if (name.includes('/')) throw new Error(`VirtualLan: a node name cannot contain '/': ${name}`);
    const host = new VirtualHost(name, this.hosts.size + 1, spec.interfaces, spec.model ?? parseConfig(spec.config), {
      clock: this.clock,
      wire: this.wire,
      log: this.logger,
      scripts: spec.scripts ?? {},
      ...(spec.timing ? { timing: spec.timing } : {}),
      recordEvents: this.recordEvents,
      sink: {
        event: (e) => this.events.push(e),
        transition: (node, instance, t) =>
          this.timeline.push({
            at: t.at,
            node,
            instance,
            ref: `${node}/${instance}`,
            from: t.from,
            to: t.to,
            reason: t.reason,
            priority: t.effectivePriority,
            record: t,
          }),
        groupTransition: (node, t) => this.groupTimeline.push({ ...t, node }),
      },
    });
    this.hosts.set(name, host);
    host.boot();
  }

  /**
   * Crash. A node: the host dies (every instance silent at once, sockets
   * closed, its VIPs gone). One instance (`node/instance`): it alone vanishes
   * without a priority-0 advert, its VIPs go with it.
   */
  kill(ref: string): void {
    const { host, instance } = this.resolve(ref, true);
    const at = this.now();
    for (const name of instance ? [instance] : [...host.instances.keys()]) {
      const from = host.stateOf(name);
      if (from === 'dead') continue;
      if (instance) host.crashInstance(name);
      this.timeline.push({ at, node: host.name, instance: name, ref: `${host.name}/${name}`, from, to: 'dead', reason: 'killed' });
    }
    if (!instance && host.isAlive) host.powerOff();
  }

  /**
   * Graceful stop through InstanceRunner.stop(): a Master sends priority 0 and
   * keeps its VIPs until the new Master is heard (plus HANDOVER_OVERLAP_MS).
   * A node stops all its instances, as the daemon does on shutdown. The
   * promise resolves once the simulation has run past the handover.
   */
  stop(ref: string): Promise<void> {
    const { host, instance } = this.resolve(ref, true);
    const names = instance ? [instance] : [...host.instances.keys()];
    return Promise.all(
      names.map((n) => {
        const sim = host.instances.get(n)!;
        return sim.crashed || !host.isAlive ? undefined : sim.runner.stop();
      }),
    ).then(() => undefined);
  }

  /**
   * Starts again, from Initialize, with the node's configuration: a node
   * (killed first if alive: a reboot), or one instance (crashed first if it
   * still runs; a member rejoins its running sync group).
   */
  restart(ref: string): void {
    const { host, instance } = this.resolve(ref, true);
    if (!instance) {
      if (host.isAlive) this.kill(host.name);
      for (const name of host.instances.keys()) this.restarted(host, name);
      host.boot();
      return;
    }
    if (!host.isAlive) throw new Error(`VirtualLan: ${host.name} is down: restart the node`);
    const before = host.stateOf(instance);
    if (before !== 'stopped' && before !== 'dead') this.kill(`${host.name}/${instance}`);
    // A stopped runner may still hold its VIPs for a handover: it goes too.
    else host.crashInstance(instance);
    this.restarted(host, instance, before === 'stopped' ? 'stopped' : 'dead');
    host.startInstance(host.config.vrrpInstances.find((i) => i.name === instance)!);
  }

  private restarted(host: VirtualHost, instance: string, from: NodeStatus = host.stateOf(instance)): void {
    this.timeline.push({ at: this.now(), node: host.name, instance, ref: `${host.name}/${instance}`, from, to: 'initialize', reason: 'restarted' });
  }

  /** Sets the link of a node's interface (see VirtualHost.setLink). */
  setLink(node: string, iface: string, up: boolean): void {
    this.host(node).setLink(iface, up);
  }

  /** Adds a loss rule on the wire (see LossRule). */
  addLoss(rule: LossRule): void {
    this.wire.addLoss(rule);
  }

  clearLoss(): void {
    this.wire.clearLoss();
  }

  /** Forces a vrrp_script's result on a node (see VirtualHost.setScript); false when no instance tracks it. */
  setScript(node: string, script: string, health: 'up' | 'down'): boolean {
    return this.host(node).setScript(script, health);
  }

  /**
   * A configuration reload on a running node, as daemon/reload.ts does it,
   * instance by instance by the same rules (infra/vrrp/reload-plan.ts).
   * Unchanged instances keep running; a change of the priority, the
   * addresses and their gratuitous ARP / NA settings or the auth_hmac keys is
   * taken live; new instances start at once. Removed and otherwise changed
   * instances stop gracefully one after the other, in the old file's order
   * (a Master sends priority 0 and hands over first), and a changed one
   * starts again with its new configuration once its stop is done. A change
   * to the sync groups or vrrp_scripts restarts the whole node (a crash and a
   * boot: not what the daemon does). Returns what it did per instance.
   */
  reload(node: string, config: VipflowConfig | string | VipflowConfigInput): Record<string, 'kept' | 'priority' | 'live' | 'restarted' | 'added' | 'removed'> {
    const host = this.host(node);
    if (!host.isAlive) throw new Error(`VirtualLan: ${node} is down: it cannot reload`);
    const next = typeof config === 'object' && 'vrrpInstances' in config && 'vipflow' in config ? (config as VipflowConfig) : parseConfig(config);
    const old = host.config;
    const done: Record<string, 'kept' | 'priority' | 'live' | 'restarted' | 'added' | 'removed'> = {};
    if (!isDeepStrictEqual(old.vrrpSyncGroups, next.vrrpSyncGroups) || !isDeepStrictEqual(old.vrrpScripts, next.vrrpScripts)) {
      this.kill(node);
      host.config = next;
      host.instances.clear();
      for (const i of next.vrrpInstances) done[i.name] = 'restarted';
      for (const i of old.vrrpInstances) if (!(i.name in done)) done[i.name] = 'removed';
      host.boot();
      return done;
    }
    host.config = next;
    // The daemon awaits each stop before the next change: the same chain, in
    // virtual time. Each step runs in the clock callback that ends the stop
    // before it (whenStopped), not in a promise continuation, which the
    // synchronous clock loop would only reach after the run.
    const steps: (() => void)[] = [];
    const runNextStep = (): void => steps.shift()?.();
    const stopThen = (name: string, after: () => void) => () => {
      const sim = host.instances.get(name);
      if (!sim || sim.crashed || !host.isAlive) return after();
      void sim.runner.stop();
      sim.runner.whenStopped(after);
    };
    for (const was of old.vrrpInstances) {
      const want = next.vrrpInstances.find((i) => i.name === was.name);
      const ref = `${node}/${was.name}`;
      if (!want) {
        steps.push(stopThen(was.name, runNextStep));
        done[was.name] = 'removed';
        continue;
      }
      if (isDeepStrictEqual(was, want)) {
        done[was.name] = 'kept';
        continue;
      }
      const live = liveChange(was, want);
      if (live) {
        // As daemon/reload.ts applyLive: the running instance takes the new settings.
        const runner = this.liveRunner(ref);
        if (live.priority) runner?.setPriority(want.priority);
        if (live.addresses) runner?.replaceAddresses(host.planOf(want));
        else if (live.authHmac) runner?.setAuthHmac(host.planOf(want).authHmac);
        done[was.name] = live.addresses || live.authHmac ? 'live' : 'priority';
        continue;
      }
      steps.push(
        stopThen(was.name, () => {
          // A node that crashed meanwhile boots with host.config, the new file, anyway.
          if (host.isAlive && host.config === next) this.restart(ref);
          runNextStep();
        }),
      );
      done[was.name] = 'restarted';
    }
    runNextStep();
    for (const inst of next.vrrpInstances) {
      if (old.vrrpInstances.some((i) => i.name === inst.name)) continue;
      host.startInstance(inst);
      done[inst.name] = 'added';
    }
    return done;
  }

  /** Reports a tracked object's health to an instance (ids as planned: `interface:eth1`, `script:chk`, ...). */
  track(ref: string, id: string, up: boolean): void {
    this.liveRunner(ref)?.track(id, up);
  }

  setPriority(ref: string, priority: number): void {
    this.liveRunner(ref)?.setPriority(priority);
  }

  /**
   * Splits the LAN by node: each listed group hears only itself; nodes not
   * listed form one more group together. With `segment`, only that segment
   * (a VLAN) is split. Replaces the earlier partition of the same scope.
   */
  partition(groups: readonly (readonly string[])[], segment?: string): void {
    for (const g of groups) for (const n of g) this.host(n);
    this.wire.partition(groups, segment);
  }

  heal(segment?: string): void {
    this.wire.heal(segment);
  }

  /** Puts a crafted packet on a segment (see VirtualWire.inject). */
  inject(segment: string, packet: InjectedPacket): void {
    this.wire.inject(segment, packet);
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

  /** Current state of an instance ('dead' after a kill). */
  stateOf(ref: string): NodeStatus {
    const { host, instance } = this.resolve(ref, false);
    return host.stateOf(instance!);
  }

  /** Refs of every instance, in the order the nodes were added. */
  refs(): string[] {
    return [...this.hosts.values()].flatMap((h) => [...h.instances.keys()].map((i) => `${h.name}/${i}`));
  }

  nodeNames(): string[] {
    return [...this.hosts.keys()];
  }

  /** Refs of the instances in Master, optionally for one VRID. */
  masters(vrid?: number): string[] {
    return this.refs().filter((r) => this.stateOf(r) === 'master' && (vrid === undefined || this.runnerOf(r).plan.vrid === vrid));
  }

  /** Names of the nodes that hold `address` as a VIP now. */
  holders(address: string): string[] {
    return [...this.hosts.values()].filter((h) => h.isAlive && h.holds(address)).map((h) => h.name);
  }

  /** Refs of the live instances whose host holds all of their VIPs now, optionally for one VRID. */
  addressHolders(vrid?: number): string[] {
    return this.refs().filter((r) => {
      const { host, instance } = this.resolve(r, false);
      if (host.stateOf(instance!) === 'dead') return false;
      const plan = host.instances.get(instance!)!.runner.plan;
      return (vrid === undefined || plan.vrid === vrid) && plan.vips.length > 0 && plan.vips.every((v) => host.holds(v.address));
    });
  }

  /**
   * Periods in [since, now) during which no node held `address`, counted from
   * its first add (or from `since` if it was held then). Events at one instant
   * are taken in order: a remove before an add at the same time is a gap of 0 ms,
   * and is reported.
   */
  vipGaps(address: string, since = 0): { from: number; to: number }[] {
    return this.holderPeriods(address, since, (n) => n === 0);
  }

  /** Periods in [since, now) during which more than one node held `address`. */
  vipOverlaps(address: string, since = 0): { from: number; to: number }[] {
    return this.holderPeriods(address, since, (n) => n > 1);
  }

  private holderPeriods(address: string, since: number, bad: (holders: number) => boolean): { from: number; to: number }[] {
    const holders = new Set<string>();
    const out: { from: number; to: number }[] = [];
    let seen = false;
    let start: number | null = null;
    for (const e of this.events) {
      if (e.kind !== 'address' || e.address !== address) continue;
      if (e.action === 'add') holders.add(e.node);
      else holders.delete(e.node);
      seen ||= e.action === 'add';
      const isBad = seen && bad(holders.size);
      if (isBad && start === null) start = e.at;
      if (!isBad && start !== null) {
        if (e.at >= since) out.push({ from: Math.max(start, since), to: e.at });
        start = null;
      }
    }
    if (start !== null) out.push({ from: Math.max(start, since), to: this.now() });
    return out;
  }

  /** When the instance last sent an advert (any priority), or null. */
  lastAdvertAt(ref: string): number | null {
    const plan = this.runnerOf(ref).plan;
    const { host } = this.resolve(ref, false);
    return this.lastSent.get(`${host.name}|${plan.interface}|${plan.family}|${plan.vrid}`) ?? null;
  }

  /** The production runner of an instance (the last one started), for status() and inspection. */
  runnerOf(ref: string): InstanceRunner {
    const { host, instance } = this.resolve(ref, false);
    return host.instances.get(instance!)!.runner;
  }

  /** A node's WireHub (its stats count malformed packets and other VRIDs), null while the node is down. */
  hubOf(node: string): WireHub | null {
    return this.host(node).hub;
  }

  /** Timeline entries in [since, until), for one node or one instance (`node/instance`). */
  transitions(filter: { node?: string; since?: number; until?: number } = {}): TimelineEntry[] {
    const f = filter.node;
    return this.timeline.filter(
      (e) =>
        (f === undefined || (f.includes('/') ? e.ref === f : e.node === f)) &&
        (filter.since === undefined || e.at >= filter.since) &&
        (filter.until === undefined || e.at < filter.until),
    );
  }

  /** Powers every node off (no adverts): for cleanup. */
  dispose(): void {
    for (const h of this.hosts.values()) if (h.isAlive) h.powerOff();
  }

  private host(name: string): VirtualHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`VirtualLan: no node ${name}`);
    return h;
  }

  /** `node/instance`, or a node: with `nodeLevel` the node itself, else its only instance. */
  private resolve(ref: string, nodeLevel: boolean): { host: VirtualHost; instance: string | undefined } {
    const slash = ref.indexOf('/');
    if (slash >= 0) {
      const host = this.host(ref.slice(0, slash));
      const instance = ref.slice(slash + 1);
      if (!host.instances.has(instance)) throw new Error(`VirtualLan: ${host.name} has no instance ${instance}`);
      return { host, instance };
    }
    const host = this.host(ref);
    if (nodeLevel) return { host, instance: undefined };
    if (host.instances.size !== 1) throw new Error(`VirtualLan: ${ref} runs ${host.instances.size} instances: name one as ${ref}/INSTANCE`);
    return { host, instance: [...host.instances.keys()][0]! };
  }

  private liveRunner(ref: string): InstanceRunner | null {
    const { host, instance } = this.resolve(ref, false);
    return host.stateOf(instance!) === 'dead' ? null : host.instances.get(instance!)!.runner;
  }
}
