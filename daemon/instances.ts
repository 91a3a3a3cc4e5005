/**
 * The daemon's VRRP instances: one InstanceRunner per configured instance and
 * the vrrp_sync_groups that drive them. Starts them (with keepalived's removal
 * of stale VIPs first), starts or stops one at a reload, stops them all at
 * shutdown, and reports their status. What a transition leads to (notify
 * scripts, events, the status's recent list) is the daemon's wiring, through
 * `onTransition` and `onGroupTransition`.
 */
import type { NftRun } from '../infra/vrrp/handover-nft.js';
import type { Logger } from '../core/logger.js';
import type { SyncGroup as SyncGroupConfig, VipflowConfig, VrrpInstance } from '../config/model.js';
import type { VrrpClock } from '../actors/vrrp/index.js';
import type { TransitionRecord } from '../actors/vrrp/types.js';
import { SyncGroup, type GroupState, type GroupTransition } from '../actors/sync-group/index.js';
import type { WireHub } from '../wire/hub/vrid-hub.js';
import type { AnnounceIo } from '../infra/vrrp/announcer.js';
import type { VipAddressOps } from '../infra/host/vip-addresses.js';
import { InstanceRunner, type InstanceStatus } from '../infra/vrrp/instance-runner.js';
import type { AdvertTimingSink } from '../infra/vrrp/advert-timing.js';
import { planInstance, syncGroupOf, type HostInterfaces, type InstancePlan } from '../infra/vrrp/plan.js';
import type { ScriptsView } from '../infra/vrrp/plan.js';
import { withFenceTrack } from './split-brain-fence.js';
import { warnSourcePending } from './link-local-sources.js';
import { defaultVmacName, vmacNames, withVmac } from '../infra/vrrp/vmac.js';
import type { VmacLinkOps } from '../infra/host/vmac-link.js';
import type { AcceptModeFirewall } from '../infra/host/accept-mode.js';
import { interfaceMoves, missingInterface, waitingReason, waitingStatus } from './waiting-instances.js';
import { TakeoverRehearsal } from './takeover-rehearsal.js';

export interface RunningInstance {
  config: VrrpInstance;
  runner: InstanceRunner;
}

export interface InstancesDeps {
  log: Logger;
  hub: WireHub;
  vipOps: VipAddressOps;
  announceIo: AnnounceIo;
  clock: VrrpClock;
  /** The tracked scripts, files and processes an instance's plan starts from. */
  tracked: (config: VipflowConfig) => ScriptsView;
  /** Whether instances carry the split-brain fence's tracked object. */
  fencing: () => boolean;
  onTransition: (t: TransitionRecord, runner: InstanceRunner) => void;
  /** dynamic_interfaces: an instance parked at start entered FAULT with no runner (keepalived notifies FAULT then). */
  onWaiting?: (t: TransitionRecord) => void;
  onGroupTransition: (t: GroupTransition) => void;
  /** An instance started with this plan: the interfaces it tracks are followed from here. */
  onStarted: (plan: InstancePlan, host: HostInterfaces) => void;
  /** Creates and removes use_vmac macvlans; without it an instance with use_vmac cannot start. */
  vmacLinks?: VmacLinkOps;
  /** Drops traffic to the VIPs of a non-accept Master (no_accept, strict mode); without it such an instance accepts, with a warning. */
  acceptFirewall?: AcceptModeFirewall;
  /** Receives takeover times and advert jitter (the daemon's histograms). */
  timing?: AdvertTimingSink;
  /** Runs nft for handover_drain; without it the option has no effect. */
  nft?: NftRun;
}

export type StartResult = { ok: true } | { ok: false; message: string };

/** An instance parked in FAULT until its interface exists (dynamic_interfaces; waiting-instances.ts). */
export interface WaitingInstance {
  config: VrrpInstance;
  iface: string;
  /** The configuration it belongs to: its sync group and trackers are planned from it. */
  vipflow: VipflowConfig;
  /** Why it still waits once the interface exists (planning failed, e.g. no IPv4 address yet). */
  why?: string;
}

export class Instances {
  readonly runners = new Map<string, RunningInstance>();
  /** Sync groups as configured (a reload rebuilds the ones it changes: see reload.ts). */
  readonly groups = new Map<string, SyncGroup>();
  /** dynamic_interfaces: instances whose interface does not exist yet, reported in FAULT. */
  readonly waiting = new Map<string, WaitingInstance>();
  /** The configuration each running instance was started from (dynamic_interfaces is global). */
  private readonly startedFrom = new Map<string, VipflowConfig>();
  /** Link changes are applied one after the other: stopping a runner is asynchronous. */
  private moving: Promise<void> = Promise.resolve();
  /** Runners being stopped because their interface went: their STOP is not reported. */
  private readonly parking = new WeakSet<InstanceRunner>();

  private readonly rehearsal: TakeoverRehearsal;

  constructor(private readonly d: InstancesDeps) {
    this.rehearsal = new TakeoverRehearsal(d.log.child({ component: 'rehearsal' }));
  }

  /** A takeover timer is about to fire: see TakeoverRehearsal.warm. */
  warmTakeover(): void {
    this.rehearsal.warm();
  }

  /**
   * Every instance and sync group of `config`, after removing the VIPs an
   * earlier run may have left, and after rehearsing a takeover (an address
   * owner never takes over: only the others are rehearsed).
   */
  startAll(config: VipflowConfig, host: HostInterfaces): StartResult {
    // keepalived removes configured VIPs it finds at start: a previous run
    // may have died holding them, and only a Master may have them.
    let rehearsed = false;
    for (const inst of config.vrrpInstances) {
      if (inst.priority === 255) continue;
      const planned = planInstance(inst, host);
      if (planned.ok) {
        if (!rehearsed) this.rehearsal.start(planned.plan.machine);
        rehearsed = true;
        const removed = this.d.vipOps.remove(planned.plan.vips).filter((r) => r.outcome === 'done');
        if (removed.length > 0) this.d.log.warn({ instance: inst.name, removed: removed.map((r) => r.address) }, 'removed stale VIPs left by an earlier run');
      }
    }
    for (const sg of config.vrrpSyncGroups) this.createGroup(sg);
    for (const inst of config.vrrpInstances) {
      const r = this.start(inst, host, config);
      if (!r.ok) return r;
    }
    // Members wait for each other: a faulty one starts the whole group in Fault.
    for (const g of this.groups.values()) g.start();
    return { ok: true };
  }

  /** Builds a sync group's driver; its members attach as they start, and {@link startGroup} starts them together. */
  createGroup(sg: SyncGroupConfig): void {
    if (sg.smtpAlert) this.d.log.warn({ syncGroup: sg.name, keywords: ['smtp_alert'] }, 'sync group keywords not acted on yet: ignored');
    const group = new SyncGroup(sg.name, { now: () => this.d.clock.now(), logger: this.d.log });
    group.onTransition((t) => this.d.onGroupTransition(t));
    this.groups.set(sg.name, group);
  }

  /** Starts a group built by a reload, once its members are attached. */
  startGroup(name: string): void {
    this.groups.get(name)?.start();
  }

  /** A reload drops or rebuilds a group: it reports STOP and lets its members go (they restart). */
  dropGroup(name: string): void {
    this.groups.get(name)?.stop();
    this.groups.delete(name);
  }

  /** Plans and starts one instance of `config` (at start, or added or restarted by a reload). */
  start(inst: VrrpInstance, host: HostInterfaces, config: VipflowConfig, leavingWait = false): StartResult {
    const missing = config.global.dynamicInterfaces ? missingInterface(inst, host) : undefined;
    if (missing !== undefined) {
      // Already waiting (a reload started it again): FAULT was told.
      this.park(inst, missing, config, { notify: !this.waiting.has(inst.name) });
      return { ok: true };
    }
    this.waiting.delete(inst.name);
    const syncGroup = syncGroupOf(config, inst.name);
    const group = syncGroup ? this.groups.get(syncGroup.name) : undefined;
    const planned = planInstance(inst, host, group ? syncGroup : undefined, this.d.tracked(config));
    if (!planned.ok) return { ok: false, message: `instance ${inst.name}: ${planned.error.message}${planned.error.hint ? ` (${planned.error.hint})` : ''}` };
    // The split-brain fence acts through a weight-0 tracked object: down means Fault.
    const fenced = this.d.fencing() ? withFenceTrack(planned.plan) : planned.plan;
    const names = vmacNames(config.vrrpInstances);
    const vmacName = names.get(inst.name);
    let plan = vmacName ? withVmac(fenced, inst, vmacName) : fenced;
    if (plan.vmac) {
      if (!this.d.vmacLinks) return { ok: false, message: `instance ${inst.name}: use_vmac is not available here` };
      let created = this.d.vmacLinks.create(plan.vmac);
      if (!created.ok && created.conflict) {
        // keepalived ignores a VMAC name held by another kind of interface
        // (a configured one with a config error, its own default by skipping it) and takes the next free default.
        const taken = new Set([...names.values(), plan.vmac.name]);
        const other = defaultVmacName(inst.virtualRouterId, plan.family, taken);
        this.d.log.warn({ instance: inst.name, wanted: plan.vmac.name, using: other }, `${created.message}; using ${other} as keepalived does`);
        plan = withVmac(fenced, inst, other);
        created = this.d.vmacLinks.create(plan.vmac!);
      }
      if (!created.ok) return { ok: false, message: `instance ${inst.name}: ${created.message}` };
    }
    const runner = new InstanceRunner(plan, {
      hub: this.d.hub,
      vipOps: this.vipOpsFor(inst),
      announceIo: this.d.announceIo,
      clock: this.d.clock,
      log: this.d.log,
      ...(this.d.timing ? { timing: this.d.timing } : {}),
      ...(this.d.nft ? { nft: this.d.nft } : {}),
    });
    // Out of a wait the instance was in FAULT already: keepalived's next notify is BACKUP, so its
    // planned start into FAULT (the new link not up yet) is not told again; and its stop when
    // the interface goes (parking) is no STOP: it stays in FAULT.
    let quietFault = leavingWait;
    runner.onTransition((t) => {
      const fromWait = quietFault;
      quietFault = false;
      if (fromWait && t.from === 'initialize' && t.to === 'fault') return;
      if (t.to === 'stopped' && this.parking.has(runner)) return;
      this.d.onTransition(t, runner);
    });
    const started = runner.start(group);
    if (!started.ok) {
      if (plan.vmac) this.d.vmacLinks?.remove(plan.vmac);
      const hint = started.code === 'EPERM' || started.code === 'EACCES' ? ' (run as root or grant CAP_NET_RAW and CAP_NET_ADMIN)' : '';
      return { ok: false, message: `instance ${inst.name}: cannot open VRRP socket on ${planned.plan.interface}: ${started.code}${hint}` };
    }
    this.runners.set(inst.name, { config: inst, runner });
    this.startedFrom.set(inst.name, config);
    if (planned.plan.sourcePending) warnSourcePending(this.d.log, inst);
    this.d.onStarted(planned.plan, host);
    return { ok: true };
  }

  /** keepalived holds a waiting member's sync group in FAULT until the member starts. */
  private holdGroup(name: string, config: VipflowConfig): void {
    const group = syncGroupOf(config, name);
    const driver = group ? this.groups.get(group.name) : undefined;
    if (!driver) return;
    driver.holdAbsent(name);
    this.d.log.warn({ instance: name, syncGroup: driver.name }, `sync group ${driver.name} held in FAULT until ${name}'s interface appears`);
  }

  /** A reload: instances waiting under the old file and not in the new one wait no more. */
  forgetWaitingExcept(names: readonly string[]): void {
    for (const name of [...this.waiting.keys()]) if (!names.includes(name)) this.waiting.delete(name);
  }

  private park(inst: VrrpInstance, iface: string, config: VipflowConfig, opts: { notify: boolean }): void {
    this.waiting.set(inst.name, { config: inst, iface, vipflow: config });
    const status = waitingStatus(inst, iface);
    const entered = opts.notify ? { from: 'initialize' as const, to: 'fault' as const, reason: 'interface-missing' } : {};
    this.d.log.warn(
      { instance: inst.name, vrid: inst.virtualRouterId, interface: iface, state: 'FAULT', ...entered },
      `instance ${inst.name} in FAULT: ${waitingReason(iface)}`,
    );
    if (opts.notify)
      this.d.onWaiting?.({
        instance: inst.name,
        vrid: inst.virtualRouterId,
        family: status.family === 6 ? 'ipv6' : 'ipv4',
        interface: iface,
        from: 'initialize',
        to: 'fault',
        reason: 'interface-missing',
        effectivePriority: inst.priority,
        basePriority: inst.priority,
        masterSeen: null,
        advertIntervalCs: status.advertIntervalCs,
        at: this.d.clock.now(),
      });
    this.holdGroup(inst.name, config);
  }

  /**
   * dynamic_interfaces, after a link appeared or went away: parked instances
   * whose interface now exists are planned and started (from Initialize, as
   * at daemon start), running ones whose interface is gone are stopped and
   * parked in FAULT. Calls are queued: a stop must end before the next change.
   */
  interfacesChanged(readHost: () => HostInterfaces): Promise<void> {
    this.moving = this.moving
      .then(() => this.applyInterfaceMoves(readHost()))
      .catch((err: unknown) => this.d.log.error({ err }, 'dynamic_interfaces: applying a link change failed'));
    return this.moving;
  }

  private async applyInterfaceMoves(host: HostInterfaces): Promise<void> {
    const running = [...this.runners.values()]
      .filter((r) => this.dynamicFor(r.config.name) !== undefined)
      .map((r) => ({ name: r.config.name, iface: r.runner.plan.interface }));
    const waiting = [...this.waiting.values()].map((w) => ({ name: w.config.name, iface: w.iface }));
    const moves = interfaceMoves(true, waiting, running, host);
    for (const { name, iface } of moves.park) {
      const entry = this.runners.get(name);
      const config = this.dynamicFor(name);
      if (!entry || !config) continue;
      this.parking.add(entry.runner);
      // Before the stop: the group must not see the member leave, only stay in FAULT.
      this.holdGroup(name, config);
      await this.stop(name);
      this.park(entry.config, iface, config, { notify: false });
    }
    for (const name of moves.start) {
      const w = this.waiting.get(name);
      if (!w) continue;
      this.d.log.info({ instance: name, interface: w.iface }, `interface ${w.iface} appeared: starting instance ${name}`);
      const r = this.start(w.config, host, w.vipflow, true);
      if (!r.ok) {
        // Typically an IPv4 interface created before its address: the address notification retries.
        this.d.log.warn({ instance: name, interface: w.iface, err: r.message }, 'instance cannot start on its interface yet: it stays in FAULT');
        this.waiting.set(name, { ...w, why: r.message });
      }
    }
  }

  /** The configuration a running instance was started from, when it has dynamic_interfaces. */
  private dynamicFor(name: string): VipflowConfig | undefined {
    const started = this.startedFrom.get(name);
    return started?.global.dynamicInterfaces ? started : undefined;
  }

  /**
   * keepalived's accept mode: a Master that is neither in accept mode nor the
   * address owner drops what is addressed to its VIPs while it holds them.
   */
  private vipOpsFor(inst: VrrpInstance) {
    if (inst.accept || inst.priority === 255) return this.d.vipOps;
    if (this.d.acceptFirewall) return this.d.acceptFirewall.guard(this.d.vipOps);
    this.d.log.warn({ instance: inst.name }, 'no_accept cannot be enforced here: traffic to the VIPs is accepted');
    return this.d.vipOps;
  }

  /** Stops one instance (make-before-break if it is Master) and forgets it. */
  async stop(name: string): Promise<void> {
    this.waiting.delete(name);
    const entry = this.runners.get(name);
    if (!entry) return;
    await entry.runner.stop();
    this.removeVmac(entry.runner);
    this.runners.delete(name);
    this.startedFrom.delete(name);
  }

  /** After the runner stopped (its VIPs released): the VMAC goes, as keepalived deletes it at shutdown. */
  private removeVmac(runner: InstanceRunner): void {
    if (runner.plan.vmac) this.d.vmacLinks?.remove(runner.plan.vmac);
  }

  /** Takes an instance out of the sync groups it is a member of (it was removed from the configuration). */
  detach(name: string): void {
    for (const g of this.groups.values()) if (g.members().some((m) => m.name === name)) g.detach(name);
  }

  /** Shutdown: every instance stops (Masters hand over), then the groups (keepalived notifies STOP for instances, then groups). */
  async stopAll(): Promise<void> {
    this.rehearsal.stop();
    await Promise.all(
      [...this.runners.values()].map(async (r) => {
        await r.runner.stop();
        this.removeVmac(r.runner);
      }),
    );
    this.runners.clear();
    this.startedFrom.clear();
    this.waiting.clear();
    await this.d.acceptFirewall?.close();
    for (const g of this.groups.values()) g.stop();
  }

  /** The runners alone, in start order. */
  *eachRunner(): Generator<InstanceRunner> {
    for (const { runner } of this.runners.values()) yield runner;
  }

  status(): { instances: InstanceStatus[]; groups: { name: string; state: GroupState; members: { name: string; state: string }[] }[] } {
    return {
      instances: [
        ...[...this.runners.values()].map((r) => r.runner.status()),
        ...[...this.waiting.values()].map((w) => waitingStatus(w.config, w.iface, w.why)),
      ],
      groups: [...this.groups.values()].map((g) => ({ name: g.name, state: g.state, members: g.members().map((m) => ({ name: m.name, state: m.state })) })),
    };
  }
}
