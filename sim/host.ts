/**
 * One simulated router: what the daemon does with a configuration on a host
 * (daemon/daemon.ts startInstances), with the host's I/O replaced by records.
 *
 * Its instances are planned from the configuration model by the production
 * planInstance (host interfaces given as data) and run by production
 * InstanceRunners behind one production WireHub, whose sockets are virtual
 * (sim/wire.ts). The host ports the runners are handed record what they do:
 * VipAddressOps keeps the addresses the host holds, AnnounceIo the gratuitous
 * ARP / unsolicited NA frames it sends. Each instance's timers go through its
 * own TimerScope so a crash can silence it without a word on the wire.
 */
import type { Logger } from '../core/logger.js';
import type { VipflowConfig, VrrpInstance } from '../config/model.js';
import type { VrrpClock, VrrpStateName, TransitionRecord } from '../actors/vrrp/index.js';
import { SyncGroup, type GroupTransition } from '../actors/sync-group/index.js';
import type { ScriptHealth } from '../actors/track-script/index.js';
import { formatIPv4, formatIPv6, parseAddress } from '../wire/codec/index.js';
import { WireHub, type Channel, type ChannelKey, type HubPacket, type JoinResult } from '../wire/hub/vrid-hub.js';
import type { AddressChangeResult, VipAddressOps } from '../infra/host/vip-addresses.js';
import type { HostInterfaces, PlannedVip } from '../infra/host/types.js';
import { burstOfFrames, type AnnounceIo } from '../infra/vrrp/announcer.js';
import { InstanceRunner } from '../infra/vrrp/instance-runner.js';
import type { AdvertTimingSink } from '../infra/vrrp/advert-timing.js';
import { planInstance, scriptRefsOf, scriptTrack, syncGroupOf, type InstancePlan } from '../infra/vrrp/plan.js';
import type { VirtualWire, WireNode } from './wire.js';

/** One interface of a simulated host. */
export interface HostInterfaceSpec {
  name: string;
  /** The segment (broadcast domain: a switch, a VLAN) the interface is plugged into. Default 'lan0'. */
  segment?: string;
  /** Its own addresses, 'address/prefix' (an IPv6 instance sends from the fe80:: one). */
  addresses: readonly string[];
  /** Link state as planning sees it at start (default up). */
  up?: boolean;
}

/** A VIP added to or removed from a host ('lost' when the host or the instance died holding it). */
export interface AddressEvent {
  at: number;
  node: string;
  kind: 'address';
  action: 'add' | 'remove' | 'lost';
  address: string;
  dev: string;
  /** 'already': the host had (add) or lacked (remove) it; the call changed nothing. */
  outcome: 'done' | 'already';
}

/** A gratuitous ARP (IPv4) or unsolicited NA (IPv6) frame sent by a host, with the address it announces. */
export interface AnnounceEvent {
  at: number;
  node: string;
  kind: 'announce';
  dev: string;
  address: string;
}

/** A VRRP packet sent by a host (one per destination), as the wire saw it leave. */
export interface AdvertEvent {
  at: number;
  node: string;
  kind: 'advert';
  interface: string;
  vrid: number;
  priority: number;
  destination: string;
}

export type HostEvent = AddressEvent | AnnounceEvent | AdvertEvent;

/** What a host reports to its LAN. */
export interface HostSink {
  event(e: AddressEvent | AnnounceEvent): void;
  transition(node: string, instance: string, t: TransitionRecord): void;
  groupTransition(node: string, t: GroupTransition): void;
}

/**
 * A clock view that remembers its pending timers: closing it cancels them
 * all and ignores later ones, which is how a crash silences an instance
 * (its machine, its announcer and its handover all stop at once).
 */
export class TimerScope implements VrrpClock {
  private readonly live = new Set<{ id: unknown }>();
  private closed = false;

  constructor(private readonly clock: VrrpClock) {}

  now(): number {
    return this.clock.now();
  }

  setTimeout(fn: (...args: unknown[]) => void, ms: number): unknown {
    const handle: { id: unknown } = { id: undefined };
    if (this.closed) return handle;
    handle.id = this.clock.setTimeout(() => {
      this.live.delete(handle);
      fn();
    }, ms);
    this.live.add(handle);
    return handle;
  }

  clearTimeout(handle: unknown): void {
    const h = handle as { id: unknown } | undefined;
    if (h && this.live.delete(h)) this.clock.clearTimeout(h.id);
  }

  close(): void {
    this.closed = true;
    for (const h of this.live) this.clock.clearTimeout(h.id);
    this.live.clear();
  }
}

/**
 * The production hub, remembering which channel each instance joined: a
 * crashed instance never calls leave(), its host's hub must drop it.
 */
class SimHub extends WireHub {
  private readonly channels = new Map<string, Channel>();

  override join(key: ChannelKey, vrid: number, handler: (p: HubPacket) => void): JoinResult {
    const joined = super.join(key, vrid, handler);
    if (!joined.ok) return joined;
    const id = channelId(key, vrid);
    let left = false;
    // leave() is not idempotent in the hub; the runner's own and a crash's may both come.
    const channel: Channel = {
      ifindex: joined.channel.ifindex,
      send: (payload, destination) => joined.channel.send(payload, destination),
      setReceiveHold: (ms) => joined.channel.setReceiveHold(ms),
      leave: () => {
        if (left) return;
        left = true;
        if (this.channels.get(id) === channel) this.channels.delete(id);
        joined.channel.leave();
      },
    };
    this.channels.set(id, channel);
    return { ok: true, channel };
  }

  leaveFor(plan: InstancePlan): void {
    this.channels.get(channelId({ interface: plan.interface, family: plan.family, mode: plan.mode, source: plan.source }, plan.vrid))?.leave();
  }
}

function channelId(key: ChannelKey, vrid: number): string {
  return `${key.interface}|${key.family}|${key.mode}|${key.source}|${vrid}`;
}

interface Iface {
  name: string;
  segment: string;
  ifindex: number;
  addresses: { address: string; family: 4 | 6; prefix: number }[];
  up: boolean;
  mac: Uint8Array;
  linkLocal: Uint8Array | null;
}

export interface SimInstance {
  readonly name: string;
  readonly runner: InstanceRunner;
  readonly scope: TimerScope;
  readonly group: SyncGroup | undefined;
  /** Killed (alone or with its host): its runner is frozen and off the wire. */
  crashed: boolean;
}

/** The announced address in a frame the Announcer built (ARP sender address, or NA target). */
function announcedAddress(frame: Buffer): string {
  const etherType = frame.readUInt16BE(12);
  if (etherType === 0x0806) return formatIPv4(frame.subarray(28, 32));
  return formatIPv6(frame.subarray(62, 78));
}

function parseCidr(text: string): { address: string; family: 4 | 6; prefix: number } {
  const [address, len] = text.split('/');
  const bytes = parseAddress(address ?? '');
  if (!bytes) throw new Error(`not an address: ${text}`);
  const family = bytes.length === 4 ? 4 : 6;
  return { address: address!, family, prefix: len === undefined ? (family === 4 ? 32 : 128) : Number(len) };
}

export class VirtualHost implements WireNode {
  readonly instances = new Map<string, SimInstance>();
  readonly groups = new Map<string, SyncGroup>();
  hub: WireHub | null = null;
  private simHub: SimHub | null = null;
  private alive = false;
  private readonly ifaces = new Map<string, Iface>();
  /** Held VIPs: `${address}%${dev}`. */
  private readonly held = new Set<string>();
  /** Health of each vrrp_script as last reported (planning reads it when an instance starts). */
  private readonly scripts = new Map<string, ScriptHealth>();
  readonly vipOps: VipAddressOps;

  constructor(
    readonly name: string,
    readonly index: number,
    interfaces: readonly HostInterfaceSpec[],
    public config: VipflowConfig,
    private readonly deps: {
      clock: VrrpClock;
      wire: VirtualWire;
      log: Logger;
      sink: HostSink;
      scripts: Readonly<Record<string, ScriptHealth>>;
      timing?: AdvertTimingSink;
      recordEvents: boolean;
    },
  ) {
    interfaces.forEach((spec, i) => {
      if (this.ifaces.has(spec.name)) throw new Error(`VirtualLan: ${name} has two interfaces named ${spec.name}`);
      const addresses = spec.addresses.map(parseCidr);
      const ll = addresses.find((a) => a.family === 6 && /^fe[89ab]/i.test(a.address));
      // Index 1 is lo, as on Linux.
      const ifindex = i + 2;
      this.ifaces.set(spec.name, {
        name: spec.name,
        segment: spec.segment ?? 'lan0',
        ifindex,
        addresses,
        up: spec.up ?? true,
        mac: new Uint8Array([0x02, 0, (index >> 8) & 0xff, index & 0xff, 0, ifindex]),
        linkLocal: ll ? parseAddress(ll.address)! : null,
      });
    });
    for (const [name, health] of Object.entries(deps.scripts)) this.scripts.set(name, health);
    this.vipOps = {
      add: (vips) => vips.map((v) => this.changeVip('add', v)),
      remove: (vips) => vips.map((v) => this.changeVip('remove', v)),
    };
  }

  get isAlive(): boolean {
    return this.alive;
  }

  // WireNode
  port(iface: string): { segment: string; ifindex: number } | undefined {
    const i = this.ifaces.get(iface);
    return i && { segment: i.segment, ifindex: i.ifindex };
  }

  owns(iface: string, address: string): boolean {
    const i = this.ifaces.get(iface);
    if (!i) return false;
    return i.addresses.some((a) => a.address === address) || this.held.has(`${address}%${iface}`);
  }

  /** Whether the host has `address` as a VIP (on any interface). */
  holds(address: string): boolean {
    for (const key of this.held) if (key.slice(0, key.lastIndexOf('%')) === address) return true;
    return false;
  }

  /**
   * Sets an interface's link: the wire stops carrying its packets both ways,
   * planning sees it down, and every running instance is told, as the
   * daemon's link monitor tells them (`interface:NAME`; instances that do not
   * track it ignore it).
   */
  setLink(iface: string, up: boolean): void {
    const i = this.ifaces.get(iface);
    if (!i) throw new Error(`VirtualLan: ${this.name} has no interface ${iface}`);
    i.up = up;
    this.deps.wire.setLink(this.name, iface, up);
    if (!this.alive) return;
    for (const sim of this.instances.values()) if (!sim.crashed) sim.runner.track(`interface:${iface}`, up);
  }

  /**
   * A vrrp_script's result, as its track-script actor would report it: every
   * running instance that tracks it (directly or through its sync group) gets
   * the tracked object's state, weighed as planned (reverse included).
   * Returns whether any instance tracks it.
   */
  setScript(name: string, health: 'up' | 'down'): boolean {
    const def = this.config.vrrpScripts.find((d) => d.name === name);
    if (!def) throw new Error(`VirtualLan: ${this.name} defines no vrrp_script ${name}`);
    this.scripts.set(name, health);
    let tracked = false;
    for (const inst of this.config.vrrpInstances) {
      const sim = this.instances.get(inst.name);
      const ref = scriptRefsOf(inst, syncGroupOf(this.config, inst.name)).find((r) => r.name === name);
      if (!ref) continue;
      tracked = true;
      if (!sim || sim.crashed || !this.alive) continue;
      const t = scriptTrack(ref, def, health);
      sim.runner.track(t.id, t.up);
    }
    return tracked;
  }

  /** The host's interfaces as planning sees them. */
  hostInterfaces(): HostInterfaces {
    return new Map([...this.ifaces.values()].map((i) => [i.name, { name: i.name, up: i.up, addresses: i.addresses }]));
  }

  /** Starts the configuration as the daemon does: groups first, every instance, then the groups start their members. */
  boot(): void {
    this.alive = true;
    this.simHub = new SimHub(this.deps.log, this.deps.wire.opener(this), undefined, () => this.deps.clock.now());
    this.hub = this.simHub;
    this.groups.clear();
    for (const sg of this.config.vrrpSyncGroups) {
      const group = new SyncGroup(sg.name, { now: () => this.deps.clock.now(), logger: this.deps.log });
      group.onTransition((t) => this.deps.sink.groupTransition(this.name, t));
      this.groups.set(sg.name, group);
    }
    for (const inst of this.config.vrrpInstances) this.startInstance(inst);
    for (const g of this.groups.values()) g.start();
  }

  /** An instance's run-time plan on this host, as startInstance makes it; throws on a plan the host refuses. */
  planOf(inst: VrrpInstance): InstancePlan {
    const syncGroup = syncGroupOf(this.config, inst.name);
    const group = syncGroup ? this.groups.get(syncGroup.name) : undefined;
    const planned = planInstance(inst, this.hostInterfaces(), group ? syncGroup : undefined, {
      defs: this.config.vrrpScripts,
      health: (name) => this.scripts.get(name),
    });
    if (!planned.ok) throw new Error(`VirtualLan: ${this.name}: instance ${inst.name}: ${planned.error.message}`);
    return planned.plan;
  }

  /** Starts (or starts again) one configured instance; a member of a running group joins it. */
  startInstance(inst: VrrpInstance): SimInstance {
    const syncGroup = syncGroupOf(this.config, inst.name);
    const group = syncGroup ? this.groups.get(syncGroup.name) : undefined;
    const planned = { plan: this.planOf(inst) };
    const scope = new TimerScope(this.deps.clock);
    const runner = new InstanceRunner(planned.plan, {
      hub: this.simHub!,
      vipOps: this.vipOps,
      announceIo: this.announceIo(scope),
      clock: scope,
      log: this.deps.log,
      ...(this.deps.timing ? { timing: this.deps.timing } : {}),
    });
    runner.onTransition((t) => this.deps.sink.transition(this.name, inst.name, t));
    const sim: SimInstance = { name: inst.name, runner, scope, group, crashed: false };
    this.instances.set(inst.name, sim);
    const started = runner.start(group);
    if (!started.ok) throw new Error(`VirtualLan: ${this.name}: instance ${inst.name}: ${started.code} ${started.message}`);
    return sim;
  }

  stateOf(instance: string): VrrpStateName | 'dead' {
    const sim = this.instances.get(instance);
    if (!sim || !this.alive || sim.crashed) return 'dead';
    return sim.runner.state;
  }

  /** One instance vanishes without a packet: timers gone, off the wire, out of its group, its VIPs lost. */
  crashInstance(instance: string): void {
    const sim = this.instances.get(instance);
    if (!sim || sim.crashed) return;
    sim.crashed = true;
    sim.scope.close();
    this.simHub?.leaveFor(sim.runner.plan);
    sim.group?.detach(instance);
    for (const v of sim.runner.plan.vips) this.lose(v.address, v.dev);
  }

  /** The host dies: every instance crashes, its sockets close, its VIPs are gone. */
  powerOff(): void {
    for (const sim of this.instances.values()) {
      sim.crashed = true;
      sim.scope.close();
    }
    this.hub?.close();
    this.hub = this.simHub = null;
    for (const key of [...this.held]) {
      const at = key.lastIndexOf('%');
      this.lose(key.slice(0, at), key.slice(at + 1));
    }
    this.alive = false;
  }

  private lose(address: string, dev: string): void {
    if (!this.held.delete(`${address}%${dev}`)) return;
    this.deps.sink.event({ at: this.deps.clock.now(), node: this.name, kind: 'address', action: 'lost', address, dev, outcome: 'done' });
  }

  private changeVip(op: 'add' | 'remove', vip: PlannedVip): AddressChangeResult {
    if (!this.alive || !this.ifaces.has(vip.dev)) return { address: vip.address, dev: vip.dev, outcome: 'failed', code: 'ENODEV' };
    const key = `${vip.address}%${vip.dev}`;
    const had = this.held.has(key);
    if (op === 'add') this.held.add(key);
    else this.held.delete(key);
    const outcome = had === (op === 'add') ? 'already' : 'done';
    this.deps.sink.event({ at: this.deps.clock.now(), node: this.name, kind: 'address', action: op, address: vip.address, dev: vip.dev, outcome });
    return { address: vip.address, dev: vip.dev, outcome };
  }

  private announceIo(scope: TimerScope): AnnounceIo {
    return {
      interfaceOf: (dev) => {
        const i = this.ifaces.get(dev);
        return i ? { mac: i.mac, linkLocal: i.linkLocal } : null;
      },
      sendBurst: burstOfFrames((dev, frame) => {
        if (!this.alive || !this.ifaces.has(dev)) return { ok: false, code: 'ENODEV' };
        if (this.deps.recordEvents)
          this.deps.sink.event({ at: this.deps.clock.now(), node: this.name, kind: 'announce', dev, address: announcedAddress(frame) });
        return { ok: true };
      }),
      setTimeout: (fn, ms) => scope.setTimeout(fn, ms),
      clearTimeout: (h) => scope.clearTimeout(h),
      now: () => scope.now(),
    };
  }
}
