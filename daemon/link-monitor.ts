/**
 * Link state for the instances' tracked interfaces. Follows the kernel's
 * rtnetlink notifications, so a change reaches the instances as soon as the
 * kernel announces it; polls sysfs instead (and logs why) when the
 * subscription cannot be opened or stops. Address changes are passed on to
 * the instances waiting for an IPv6 link-local source (link-local-sources.ts)
 * and to those whose IPv4 source follows the interface (source-addresses.ts;
 * not while polling: the poller reads no address events).
 */
import { networkInterfaces } from 'node:os';
import { canonicalIp } from '../core/address.js';
import type { Logger } from '../core/logger.js';
import { openNetlinkMonitor, readNetlinkState, type NetlinkEvent, type NetlinkMessage, type NetlinkMonitor } from '../wire/socket/index.js';
import { linkUp } from '../infra/host/interfaces.js';
import { LinkTable, type LinkChange } from '../infra/host/link-state.js';
import type { InstanceRunner } from '../infra/vrrp/instance-runner.js';
import type { HostInterfaces, InstancePlan } from '../infra/vrrp/plan.js';
import type { EventPublisher } from './event-publisher.js';
import { listedLinkLocal, resolvePendingSources, sourcesPending } from './link-local-sources.js';
import { followSourceAddresses } from './source-addresses.js';

/** Only when rtnetlink cannot be subscribed to (a poller reacts 0..period late). */
const LINK_POLL_MS = 100;

export interface LinkMonitorDeps {
  log: Logger;
  /** The running instances (read on every change: reloads change them). */
  runners: () => Iterable<InstanceRunner>;
  events: () => Pick<EventPublisher, 'trackChange'> | null;
  /**
   * The host's addresses changed (or were read again): `has` tells whether one is
   * held now. Called after every address notification and resync; with only the
   * sysfs poller (no rtnetlink) the addresses are read on every poll instead.
   */
  addressesChanged?: (has: (address: string) => boolean) => void;
  /**
   * A link or address was added, changed or removed (after the tracked
   * links were told): dynamic_interfaces follows this. `messages` are the
   * batch's notifications; null after a full re-read, when anything may have changed.
   */
  hostChanged?: (messages: readonly NetlinkMessage[] | null) => void;
}

export class LinkMonitor {
  /** The sysfs poller, only when the netlink subscription could not be opened. */
  private timer: NodeJS.Timeout | null = null;
  private netlink: NetlinkMonitor | null = null;
  private readonly links = new LinkTable();
  /** Tracked interfaces and the state the instances were last told. */
  private readonly state = new Map<string, boolean>();
  private stopped = false;

  constructor(private readonly d: LinkMonitorDeps) {}

  /** An instance started with `plan`: its initial link states went into the plan; from here netlink (or the poller) reports changes. */
  follow(plan: InstancePlan, host: HostInterfaces): void {
    for (const t of plan.machine.tracks ?? []) {
      if (!t.id.startsWith('interface:')) continue;
      const name = t.id.slice('interface:'.length);
      if (!this.state.has(name)) this.state.set(name, host.get(name)?.up ?? false);
    }
  }

  /**
   * Subscribes first, then reads the full state, so a change between the
   * start-up read and the subscription is not lost.
   */
  start(): void {
    const log = this.d.log.child({ component: 'links' });
    const opened = openNetlinkMonitor({ logger: log }, (events) => this.onNetlink(events));
    if (opened.ok) {
      this.netlink = opened.value;
      if (this.resync()) return;
    }
    this.fallBackToPolling(opened.ok ? 'dump failed' : opened.code);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.netlink?.close();
  }

  private fallBackToPolling(why: string): void {
    this.netlink?.close();
    this.netlink = null;
    this.d.log.warn({ pollMs: LINK_POLL_MS, why }, 'no rtnetlink link notifications: polling sysfs for link state instead');
    this.timer ??= setInterval(() => this.poll(), LINK_POLL_MS);
    this.poll();
  }

  /** Re-reads every link and address (start, and after an overrun dropped notifications). */
  private resync(): boolean {
    const dump = readNetlinkState();
    if (!dump.ok) {
      this.d.log.error({ code: dump.code }, 'cannot read link state through rtnetlink');
      return false;
    }
    this.links.replaceAll(dump.value);
    for (const name of this.state.keys()) this.changed(name, this.links.isUp(name) ?? false);
    resolvePendingSources(this.d.runners(), (name) => this.links.usableLinkLocal(name), this.d.log);
    followSourceAddresses(this.d.runners(), (name) => this.links.ipv4Of(name), this.d.log);
    this.addressesChanged();
    this.hostChanged(null);
    return true;
  }

  private onNetlink(events: NetlinkEvent[]): void {
    if (this.stopped) return;
    let overrun = false;
    const messages = [];
    for (const e of events) {
      if (e.kind === 'overrun') overrun = true;
      else if (e.kind === 'error') this.d.log.warn({ code: e.code }, 'rtnetlink receive error');
      else if (e.kind === 'stopped') return this.fallBackToPolling(e.code);
      else messages.push(e);
    }
    if (overrun) {
      this.d.log.warn('rtnetlink notifications were dropped (receive queue overrun): re-reading all links');
      this.resync();
      return;
    }
    const changes: LinkChange[] = this.links.apply(messages);
    for (const c of changes) this.changed(c.name, c.up);
    if (messages.some((m) => m.kind === 'addr')) {
      resolvePendingSources(this.d.runners(), (name) => this.links.usableLinkLocal(name), this.d.log);
      followSourceAddresses(this.d.runners(), (name) => this.links.ipv4Of(name), this.d.log);
      this.addressesChanged();
    }
    if (messages.length > 0) this.hostChanged(messages);
  }

  private hostChanged(messages: readonly NetlinkMessage[] | null): void {
    try {
      this.d.hostChanged?.(messages);
    } catch (err) {
      this.d.log.error({ err }, 'host change listener failed');
    }
  }

  private addressesChanged(): void {
    try {
      this.d.addressesChanged?.((a) => this.links.hasAddress(a));
    } catch (err) {
      this.d.log.error({ err }, 'address change listener failed');
    }
  }

  private poll(): void {
    for (const name of this.state.keys()) this.changed(name, linkUp(name) ?? false);
    if (sourcesPending(this.d.runners())) resolvePendingSources(this.d.runners(), listedLinkLocal(), this.d.log);
    if (this.d.addressesChanged !== undefined) {
      const held = new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => canonicalIp(a.address))));
      this.d.addressesChanged((a) => held.has(canonicalIp(a)));
    }
  }

  /** A tracked interface's state as the instances must see it: told once per change, on the VRRP path, at once. */
  private changed(name: string, up: boolean): void {
    const was = this.state.get(name);
    if (was === undefined || was === up) return;
    this.state.set(name, up);
    this.d.log.warn({ interface: name, up }, up ? 'link up' : 'link down');
    const id = `interface:${name}`;
    for (const runner of this.d.runners()) {
      const tracked = runner.plan.machine.tracks?.find((t) => t.id === id);
      if (!tracked) continue;
      runner.track(id, up);
      this.d.events()?.trackChange({
        instance: runner.plan.name,
        track: id,
        kind: 'interface',
        up,
        weight: tracked.weight,
        effectivePriority: runner.status().effectivePriority,
      });
    }
  }
}
