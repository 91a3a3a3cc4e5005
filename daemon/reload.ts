/**
 * SIGHUP: reads the configuration again and applies it to the running
 * instances. A config with errors is refused and the running one kept; a
 * reload asked for while one runs is queued (the file is read again when it
 * ends). What changes for each instance is decided by infra/vrrp/reload-plan.ts.
 */
import type { LoadConfigResult } from '../config/load.js';
import type { Diagnostic } from '../config/diagnostics.js';
import type { VipflowConfig } from '../config/model.js';
import type { Logger } from '../core/logger.js';
import { readHostInterfaces } from '../infra/host/interfaces.js';
import { planInstance, type HostInterfaces } from '../infra/vrrp/plan.js';
import { withVmac } from '../infra/vrrp/vmac.js';
import type { EventPublisher } from './event-publisher.js';
import type { Instances, RunningInstance } from './instances.js';
import { planReload, type InstanceChange } from '../infra/vrrp/reload-plan.js';
import type { Trackers } from './trackers.js';

export interface ReloaderDeps {
  log: Logger;
  /** Reads the file again (off the daemon's thread: infra/config/off-thread-loader.ts). */
  load: () => Promise<LoadConfigResult>;
  configPath: string;
  instances: Instances;
  trackers: Trackers;
  /** The checkers: planned again from the new file, unchanged ones kept running. */
  checks: { reload(config: VipflowConfig): void | Promise<void> };
  /** The running configuration. */
  config: () => VipflowConfig;
  /** A reload was applied: `next` is the running configuration from here. */
  switchTo: (next: VipflowConfig) => void;
  events: () => Pick<EventPublisher, 'configReload'> | null;
  /** The daemon is stopping: shutdown owns the instances from then on. */
  stopping: () => boolean;
}

export type ReloadResult = { ok: boolean; message: string };

export class Reloader {
  readonly counts = { ok: 0, refused: 0 };
  private reloading = false;
  private pending = false;

  constructor(private readonly d: ReloaderDeps) {}

  /**
   * Unchanged instances keep running untouched (no flap, no missed advert); a
   * priority-only change is applied live; anything else restarts that
   * instance (priority 0 first if it was Master); removed instances stop,
   * added ones start. Changed sync groups are rebuilt with their members
   * restarted; changed tracked definitions run again (infra/vrrp/reload-plan.ts).
   */
  async reload(): Promise<ReloadResult> {
    if (this.d.stopping()) return { ok: false, message: 'stopping' };
    if (this.reloading) {
      // A reload can wait for a Master's handover; the file may have been
      // edited again meanwhile, so read it once more when this one ends.
      this.pending = true;
      this.d.log.info('reload already running: the file will be read again when it ends');
      return { ok: false, message: 'queued' };
    }
    this.reloading = true;
    const log = this.d.log;
    try {
      log.info({ file: this.d.configPath }, 'reloading the configuration');
      const t0 = performance.now();
      const loaded = await this.d.load();
      const loadMs = Math.round(performance.now() - t0);
      const errors = errorsOf(loaded.diagnostics);
      if (!loaded.model || errors.length > 0 || loaded.unreadable) {
        this.counts.refused++;
        for (const d of errors) log.error({ file: d.file, line: d.line, column: d.column }, d.message);
        log.error({ errors: errors.length }, 'reload refused: the new configuration has errors; still running the previous one');
        this.d.events()?.configReload({
          file: this.d.configPath,
          ok: false,
          errors: errors.length,
          warnings: warningsOf(loaded.diagnostics),
          instances: [...this.d.instances.runners.keys()],
        });
        return { ok: false, message: 'configuration has errors' };
      }
      const early = this.abandoned();
      if (early) return early;
      const next = loaded.model;
      const t1 = performance.now();
      const applied = await this.apply(next, readHostInterfaces());
      if (!applied.ok) return applied;
      this.counts.ok++;
      log.info({ ...applied.counts, loadMs, applyMs: Math.round(performance.now() - t1) }, 'configuration reloaded');
      this.d.events()?.configReload({
        file: this.d.configPath,
        ok: true,
        errors: 0,
        warnings: warningsOf(loaded.diagnostics),
        instances: [...this.d.instances.runners.keys()],
      });
      return { ok: true, message: 'reloaded' };
    } finally {
      this.reloading = false;
      if (this.pending && !this.d.stopping()) {
        this.pending = false;
        this.reload().catch((err: unknown) => log.error({ err }, 'reload failed'));
      }
    }
  }

  /**
   * SIGTERM may arrive while a reload awaits (loading, a Master's handover):
   * from then on shutdown owns the instances, and starting new ones would
   * leave a daemon running after it said it stopped.
   */
  private abandoned(): { ok: false; message: string } | null {
    if (!this.d.stopping()) return null;
    this.d.log.info('reload abandoned: the daemon is stopping');
    return { ok: false, message: 'stopping' };
  }

  /** Applies `next` instance by instance, then makes it the running configuration. */
  private async apply(
    next: VipflowConfig,
    host: HostInterfaces,
  ): Promise<{ ok: true; counts: { kept: number; changed: number; added: number } } | { ok: false; message: string }> {
    const log = this.d.log;
    const instances = this.d.instances;
    const plan = planReload(
      [...instances.runners].map(([name, r]) => [name, r.config] as const),
      this.d.config(),
      next,
    );
    // Instances waiting for their interface are not running: the new file starts (or parks) them again as additions; gone ones stop waiting.
    instances.forgetWaitingExcept(next.vrrpInstances.map((i) => i.name));
    this.d.trackers.start(next, { reload: true }, plan.changedTracks);
    // Changed groups are rebuilt before their members restart, so these attach to the new driver.
    for (const name of plan.groups.stop) this.d.instances.dropGroup(name);
    for (const name of plan.groups.create) this.d.instances.createGroup(next.vrrpSyncGroups.find((g) => g.name === name)!);
    if (plan.syncGroupsChanged) log.info({ stopped: plan.groups.stop, built: plan.groups.create }, 'sync groups changed by reload: their members restart');
    let kept = 0;
    let changed = 0;
    // A restart whose new start fails gets one more try with the additions.
    const retry = new Set<string>();
    for (const change of plan.running) {
      const { name } = change;
      if (change.kind === 'remove') {
        await instances.stop(name);
        instances.detach(name);
        log.info({ instance: name }, 'instance removed by reload');
        const stop = this.abandoned();
        if (stop) return stop;
        continue;
      }
      if (change.kind === 'keep') {
        kept++;
        continue;
      }
      if (change.kind === 'live' && this.applyLive(instances.runners.get(name)!, change, host)) {
        changed++;
        continue;
      }
      await instances.stop(name);
      const stop = this.abandoned();
      if (stop) return stop;
      const r = instances.start(change.want, host, next);
      if (!r.ok) {
        log.error({ instance: name, err: r.message }, 'instance could not be restarted after reload');
        retry.add(name);
      }
      changed++;
    }
    let added = 0;
    const toStart = new Set([...plan.added.map((i) => i.name), ...retry]);
    for (const inst of next.vrrpInstances) {
      if (!toStart.has(inst.name)) continue;
      const r = instances.start(inst, host, next);
      if (r.ok) added++;
      else log.error({ instance: inst.name, err: r.message }, 'instance added by reload could not start');
    }
    for (const name of plan.groups.create) instances.startGroup(name);
    this.d.trackers.startScripts(next, { reload: true }, plan.changedTracks.scripts);
    this.d.switchTo(next);
    await this.d.checks.reload(next);
    return { ok: true, counts: { kept, changed, added } };
  }

  /**
   * Gives a running instance its new priority and/or addresses.
   * @returns false when the new addresses cannot be planned: the instance is restarted instead.
   */
  private applyLive(entry: RunningInstance, change: Extract<InstanceChange, { kind: 'live' }>, host: HostInterfaces): boolean {
    const want = change.want;
    const log = this.d.log.child({ instance: want.name });
    if (change.priority) {
      entry.runner.setPriority(want.priority);
      log.info({ priority: want.priority }, 'priority changed by reload');
    }
    if (change.addresses) {
      const planned = planInstance(want, host);
      if (!planned.ok) return false;
      // The VMAC stays: the new VIPs go on it as the old ones did.
      const vmac = entry.runner.plan.vmac;
      entry.runner.replaceAddresses(vmac ? withVmac(planned.plan, want, vmac.name) : planned.plan);
      log.info({ vips: planned.plan.vips.map((v) => v.address) }, 'addresses changed by reload');
    }
    if (change.authHmac && !change.addresses) {
      const planned = planInstance(want, host);
      if (!planned.ok) return false;
      entry.runner.setAuthHmac(planned.plan.authHmac);
      // Key ids only: key material never reaches a log.
      log.info({ activeKey: planned.plan.authHmac?.activeKey ?? null, keyIds: [...(planned.plan.authHmac?.keys.keys() ?? [])] }, 'auth_hmac changed by reload');
    }
    entry.config = want;
    return true;
  }
}

function errorsOf(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.filter((d) => d.severity === 'error');
}

function warningsOf(diagnostics: Diagnostic[]): number {
  return diagnostics.filter((d) => d.severity === 'warning').length;
}
