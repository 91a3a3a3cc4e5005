/**
 * The virtual servers' half of the daemon (checkers and load balancer),
 * loaded only once a configuration has a virtual_server. Most routers run
 * VRRP alone: for them checks.ts, load-balancer.ts and infra/check, infra/lb
 * (about 30% of the daemon's own code, 1-2 MiB of RSS) are never imported.
 * A reload that adds the first virtual server loads them then.
 */
import type { VipflowConfig } from '../config/model.js';
import type { Logger } from '../core/logger.js';
import type { KeepalivedNotifier } from '../notifiers/keepalived-notify/index.js';
import type { LbCounters } from '../infra/lb/model.js';
import type { Checks, ChecksStatus } from './checks.js';
import type { EventPublisher } from './event-publisher.js';
import type { LbChoice } from './lb-choice.js';
import type { LoadBalancer, LoadBalancerStatus } from './load-balancer.js';

export interface VirtualServersDeps {
  log: Logger;
  lb: LbChoice;
  notifier: () => Pick<KeepalivedNotifier, 'checker' | 'prepareScript'>;
  events: () => Pick<EventPublisher, 'check' | 'lbApplied'>;
}

/** What the status shows while nothing is loaded: the same as loaded parts with no virtual server. */
const NO_CHECKS: ChecksStatus = { virtualServers: [], issues: [] };
const NO_LB: LoadBalancerStatus = { backend: 'none', services: 0, destinations: 0, applies: { ok: 0, failed: 0 }, refused: [], table: [] };

export class VirtualServers {
  private parts: { checks: Checks; lb: LoadBalancer } | null = null;
  /** The last address lookup, handed to the checkers when they load after it (ha_suspend). */
  private hasAddress: ((address: string) => boolean) | null = null;
  private stopped = false;

  constructor(private readonly d: VirtualServersDeps) {}

  /** True once the checkers and load balancer are loaded (a config had virtual servers). */
  get loaded(): boolean {
    return this.parts !== null;
  }

  /** Starts the checkers and the load balancer when `config` has virtual servers (loading their modules first). */
  async start(config: VipflowConfig): Promise<void> {
    const parts = await this.load(config);
    if (parts === null) return;
    parts.checks.start(config);
    parts.lb.start();
  }

  /** SIGHUP: unchanged checkers keep their state; the first virtual server of a reload loads and starts them. */
  async reload(config: VipflowConfig): Promise<void> {
    // The checkers' changes reach the load balancer, which picks its backend at the first virtual server.
    (await this.load(config))?.checks.reload(config);
  }

  addressesChanged(has: (address: string) => boolean): void {
    this.hasAddress = has;
    this.parts?.checks.addressesChanged(has);
  }

  status(): { checks: ChecksStatus; lb: LoadBalancerStatus } {
    if (this.parts === null) return { checks: NO_CHECKS, lb: NO_LB };
    return { checks: this.parts.checks.status(), lb: this.parts.lb.status() };
  }

  /** The load balancer's kernel counters (undefined without rules). */
  counters(): Promise<LbCounters[] | undefined> {
    return this.parts?.lb.counters() ?? Promise.resolve(undefined);
  }

  /** Stops the checkers, then removes the load balancer's rules (keepalived's clear_services). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.parts === null) return;
    this.parts.checks.stop();
    await this.parts.lb.stop();
  }

  private async load(config: VipflowConfig): Promise<{ checks: Checks; lb: LoadBalancer } | null> {
    if (this.parts !== null) return this.parts;
    if (config.virtualServers.length === 0) return null;
    const [{ Checks }, { LoadBalancer }] = await Promise.all([import('./checks.js'), import('./load-balancer.js')]);
    // A stop while the modules loaded: nothing may start after it.
    if (this.stopped || this.parts !== null) return this.parts;
    const d = this.d;
    const checks: Checks = new Checks({ log: d.log, notifier: d.notifier, events: d.events, changed: () => lb.changed() });
    const lb: LoadBalancer = new LoadBalancer({ log: d.log, choice: d.lb, snapshot: () => checks.snapshot(), events: d.events });
    if (this.hasAddress !== null) checks.addressesChanged(this.hasAddress);
    this.parts = { checks, lb };
    return this.parts;
  }
}
