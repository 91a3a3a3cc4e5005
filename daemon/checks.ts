/**
 * The daemon's checker half: plans the virtual servers' checkers from the
 * configuration, runs them (infra/check/runner.ts), and turns what they report
 * into events (realserver.*, virtualserver.quorum), keepalived's notify_up /
 * notify_down / quorum_up / quorum_down scripts and notify_fifo lines, and the
 * status. Follows the host's addresses for ha_suspend.
 *
 * Apart from the VRRP path: a checker never delays an advert, and a failing
 * probe, script or listener is logged, never thrown into the daemon.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../core/logger.js';
import { systemClock } from '../actors/vrrp/instance.js';
import { raiseFileLimit, type FileLimit } from '../wire/socket/index.js';
import type { ClientCertificate } from '../infra/check/probes/http.js';
import type { VipflowConfig } from '../config/model.js';
import type { KeepalivedNotifier } from '../notifiers/keepalived-notify/index.js';
import { planChecks, type CheckPlan, type PlanInput, type VirtualServerPlan } from '../infra/check/plan.js';
import { watchTrackFiles, type WatchedTrackFiles } from '../infra/check/file-feed.js';
import {
  CheckRunner,
  type TrackFileFeed,
  type CheckAction,
  type CheckEvent,
  type ProbeTable,
  type RunnerClock,
  type VirtualServerStatus,
  type RealServerStatus,
  type CheckerStatus,
} from '../infra/check/runner.js';
import type { EventPublisher } from './event-publisher.js';

export interface ChecksDeps {
  log: Logger;
  notifier: () => Pick<KeepalivedNotifier, 'checker' | 'prepareScript'>;
  events: () => Pick<EventPublisher, 'check'>;
  /** Default: the process's timers and monotonic clock. */
  clock?: RunnerClock;
  /** Default: the real probes (tests pass their own). */
  probes?: ProbeTable;
  /** Health, weights or the plan changed (the load balancer follows). */
  changed?: () => void;
  /** Default: the addon's (tests pass their own). */
  raiseFileLimit?: (want: number) => FileLimit;
}

/** A checker as the status shows it: its last failure also carries the wall-clock time. */
export interface CheckerView extends Omit<CheckerStatus, 'lastFailure'> {
  lastFailure: (NonNullable<CheckerStatus['lastFailure']> & { time: string }) | undefined;
}

export interface ChecksStatus {
  virtualServers: (Omit<VirtualServerStatus, 'realServers'> & { realServers: (Omit<RealServerStatus, 'checkers'> & { checkers: CheckerView[] })[] })[];
  /** What planning corrected or ignored (keepalived's validate_check_config messages). */
  issues: { virtualServer: string; message: string }[];
}

export class Checks {
  private runner: CheckRunner | null = null;
  private plan: CheckPlan = { virtualServers: [], issues: [] };
  /** The last plan and the config it came from, for the next reload. */
  private planned: { input: PlanInput; plan: CheckPlan } | undefined;
  private readonly log: Logger;
  /** The last address lookup (netlink), to settle ha_suspend for virtual servers a reload adds. */
  private hasAddress: ((address: string) => boolean) | null = null;
  /** The SSL block's files, read at start and reload (never per probe). */
  private clientCertificate: ClientCertificate | undefined;
  /** FILE_CHECK's track_files: watched while a checker reads them; replaced when a reload changes which. */
  private files: { key: string; watch: WatchedTrackFiles } | null = null;
  private readonly fileListeners = new Set<(name: string, value: number) => void>();
  /** What the runner reads: the current watcher's values, whichever watcher that is after reloads. */
  private readonly fileFeed: TrackFileFeed = {
    value: (name) => this.files?.watch.value(name),
    subscribe: (listener) => {
      this.fileListeners.add(listener);
      return () => void this.fileListeners.delete(listener);
    },
  };

  constructor(private readonly d: ChecksDeps) {
    this.log = d.log.child({ component: 'checks' });
  }

  /** Plans and starts every checker of `config` (nothing when it has no virtual_server). */
  start(config: VipflowConfig): void {
    this.plan = this.planOf(config);
    if (this.plan.virtualServers.length === 0) return;
    this.raiseFileLimit();
    this.watchFiles(config, this.plan);
    this.clientCertificate = this.loadClientCertificate(config);
    this.runner = new CheckRunner(this.plan, {
      clientCertificate: () => this.clientCertificate,
      trackFiles: this.fileFeed,
      clock: this.d.clock ?? systemClock,
      log: this.d.log,
      ...(this.d.probes !== undefined ? { probes: this.d.probes } : {}),
      listeners: [(e) => this.onCheck(e)],
      miscPrepare: (script, program) => this.d.notifier().prepareScript(script, program),
    });
    this.runner.start();
    this.settleSuspension();
    const realServers = this.plan.virtualServers.reduce((n, v) => n + v.realServers.length, 0);
    const checkers = this.plan.virtualServers.reduce((n, v) => n + v.realServers.reduce((m, r) => m + r.checkers.length, 0), 0);
    this.log.info({ virtualServers: this.plan.virtualServers.length, realServers, checkers }, 'checkers running');
    this.d.changed?.();
  }

  /**
   * Every probe in flight holds a socket: lift the open-file limit as keepalived does,
   * and say so when even the hard limit is below what the checkers may need at once.
   */
  private raiseFileLimit(): void {
    const checkers = this.plan.virtualServers.reduce((n, v) => n + v.realServers.reduce((m, r) => m + r.checkers.length, 0), 0);
    // A socket per checker (all may probe at once), plus headroom for VRRP sockets, scripts and the control socket.
    const want = checkers + 1024;
    const limit = (this.d.raiseFileLimit ?? raiseFileLimit)(want);
    if (!limit.ok) {
      this.log.warn({ code: limit.code }, 'cannot raise the open-file limit');
      return;
    }
    if (limit.soft !== limit.before) this.log.info({ before: limit.before, now: limit.soft }, 'open-file limit raised for the checkers');
    if (limit.soft !== -1 && limit.soft < want)
      this.log.warn(
        { limit: limit.soft, checkers },
        'open-file limit below the number of checkers: probes that start together may fail with EMFILE (raise LimitNOFILE / ulimit -Hn)',
      );
  }

  /** SIGHUP: unchanged checkers keep their state and timers; the rest start, stop or restart. */
  reload(config: VipflowConfig): void {
    const next = this.planOf(config);
    if (this.runner === null) {
      this.start(config);
      return;
    }
    const started = performance.now();
    this.watchFiles(config, next);
    this.clientCertificate = this.loadClientCertificate(config);
    const ch = this.runner.reload(next);
    this.plan = next;
    this.settleSuspension();
    this.log.info(
      {
        ms: Math.round((performance.now() - started) * 10) / 10,
        added: { virtualServers: ch.added.virtualServers.length, realServers: ch.added.realServers.length, checkers: ch.added.checkers.length },
        removed: { virtualServers: ch.removed.virtualServers.length, realServers: ch.removed.realServers.length, checkers: ch.removed.checkers.length },
        kept: ch.kept.checkers.length,
      },
      'checkers reloaded',
    );
    this.d.changed?.();
  }

  /** Stops every checker; with omega, runs keepalived's quorum_down / notify_down on the way out. */
  stop(): void {
    this.runner?.stop();
    this.files?.watch.stop();
    this.files = null;
  }

  /**
   * keepalived's SSL block: certificate chain, key and CA file. A file that cannot be
   * read is logged and left out (keepalived refuses its SSL context; here SSL_GET
   * runs without it and fails if the server insists on a client certificate).
   */
  private loadClientCertificate(config: VipflowConfig): ClientCertificate | undefined {
    const ssl = config.ssl;
    if (ssl === undefined) return undefined;
    const out: ClientCertificate = {};
    const read = (what: 'certificate' | 'key' | 'ca', path: string | undefined): Buffer | undefined => {
      if (path === undefined) return undefined;
      try {
        return readFileSync(path);
      } catch (err) {
        this.log.error({ file: path, code: (err as NodeJS.ErrnoException).code }, `SSL ${what} file cannot be read: SSL_GET runs without it`);
        return undefined;
      }
    };
    const cert = read('certificate', ssl.certificate);
    const key = read('key', ssl.key);
    const ca = read('ca', ssl.ca);
    if (cert !== undefined) out.cert = cert;
    if (key !== undefined) out.key = key;
    if (ca !== undefined) out.ca = ca;
    if (ssl.password !== undefined) out.passphrase = ssl.password;
    return out;
  }

  /** Watches the track_files FILE_CHECKs read; a reload that changes which (or their definitions) starts a new watcher. */
  private watchFiles(config: VipflowConfig, plan: CheckPlan): void {
    const names = new Set(plan.virtualServers.flatMap((v) => v.realServers.flatMap((r) => r.checkers.flatMap((c) => (c.file ? [c.file.name] : [])))));
    const defs = config.trackFiles.filter((f) => names.has(f.name));
    const key = JSON.stringify(defs);
    if (this.files?.key === key) return;
    this.files?.watch.stop();
    this.files = null;
    if (defs.length === 0) return;
    const watch = watchTrackFiles(defs, { log: this.log });
    watch.subscribe((name, value) => {
      for (const l of [...this.fileListeners]) l(name, value);
    });
    this.files = { key, watch };
  }

  /** The plan and the checkers' raw status, for the load balancer. */
  snapshot(): { plan: CheckPlan; status: VirtualServerStatus[] } {
    return { plan: this.plan, status: this.runner?.status() ?? [] };
  }

  status(): ChecksStatus {
    const clock = this.d.clock ?? systemClock;
    // The runner stamps failures with its monotonic clock; the status shows wall-clock times.
    const wall = (at: number): string => new Date(Date.now() - (clock.now() - at)).toISOString();
    const virtualServers = (this.runner?.status() ?? []).map((v) => ({
      ...v,
      realServers: v.realServers.map((r) => ({
        ...r,
        checkers: r.checkers.map((c) => ({ ...c, lastFailure: c.lastFailure === undefined ? undefined : { ...c.lastFailure, time: wall(c.lastFailure.at) } })),
      })),
    }));
    return { virtualServers, issues: this.plan.issues };
  }

  /** The host's addresses changed: ha_suspend pauses a virtual server's checkers while its address is not here. */
  addressesChanged(has: (address: string) => boolean): void {
    this.hasAddress = has;
    this.settleSuspension();
  }

  private settleSuspension(): void {
    const has = this.hasAddress;
    if (this.runner === null || has === null) return;
    for (const vs of this.plan.virtualServers) {
      if (!vs.haSuspend) continue;
      const present = vs.services.some((s) => s.kind === 'address' && has(s.address));
      this.runner.setSuspended(vs.id, !present);
    }
  }

  private planOf(config: VipflowConfig): CheckPlan {
    // Unchanged virtual servers keep their plan (and the runner sees the same object): a reload plans only what changed.
    const previous = this.planned;
    const plan = planChecks(config, previous !== undefined ? { previous } : {});
    this.planned = { input: config, plan };
    for (const i of plan.issues) this.log.warn({ virtualServer: i.virtualServer }, i.message);
    return plan;
  }

  private onCheck(e: CheckEvent): void {
    this.report(e);
    // Health and weights move the load-balancer rules; actions (scripts, FIFO lines) do not.
    if (e.type !== 'action' && e.type !== 'checker.unsupported') this.d.changed?.();
    else if (e.type === 'action' && (e.action.kind === 'sorry-server-in' || e.action.kind === 'sorry-server-out')) this.d.changed?.();
  }

  private report(e: CheckEvent): void {
    const events = this.d.events();
    switch (e.type) {
      case 'realserver.up':
        this.log.info({ virtualServer: e.virtualServer, realServer: e.realServer, weight: e.weight, reason: e.reason }, 'real server up');
        events.check('realserver.up', { virtualServer: e.virtualServer, realServer: e.realServer, weight: e.weight, reason: e.reason });
        return;
      case 'realserver.down':
        this.log.warn({ virtualServer: e.virtualServer, realServer: e.realServer, reason: e.reason, detail: e.detail, checker: e.checker }, 'real server down');
        events.check('realserver.down', {
          virtualServer: e.virtualServer,
          realServer: e.realServer,
          reason: e.reason,
          ...(e.detail !== undefined ? { detail: e.detail } : {}),
          ...(e.checker !== undefined ? { checker: e.checker } : {}),
        });
        return;
      case 'realserver.weight':
        this.log.info({ virtualServer: e.virtualServer, realServer: e.realServer, weight: e.weight }, 'real server weight');
        events.check('realserver.weight', { virtualServer: e.virtualServer, realServer: e.realServer, weight: e.weight });
        return;
      case 'virtualserver.quorum':
        this.log.warn({ virtualServer: e.virtualServer, liveWeight: e.liveWeight, quorum: e.quorum }, e.up ? 'quorum up' : 'quorum down');
        events.check('virtualserver.quorum', {
          virtualServer: e.virtualServer,
          up: e.up,
          liveWeight: Math.max(0, e.liveWeight),
          quorum: e.quorum,
          hysteresis: e.hysteresis,
        });
        return;
      case 'checker.unsupported':
        return; // the runner logs it
      case 'action':
        this.act(e.action);
        return;
    }
  }

  /** keepalived's side effects of a health change: scripts and FIFO lines (the sorry server is the L4 backend's). */
  private act(a: CheckAction): void {
    const vs = this.plan.virtualServers.find((v) => v.id === a.virtualServer);
    if (vs === undefined) return;
    if (a.kind === 'notify-up' || a.kind === 'notify-down') {
      const rs = vs.realServers.find((r) => r.id === a.realServer);
      if (rs === undefined) return;
      const state = a.kind === 'notify-up' ? 'UP' : 'DOWN';
      this.d.notifier().checker({
        fifoLine: `RS ${rs.fifoName} ${vs.fifoName} ${state}\n`,
        script: a.script,
        queue: `rs:${rs.id}`,
        context: { virtualServer: vs.id, realServer: rs.id, hook: a.kind === 'notify-up' ? 'notify_up' : 'notify_down' },
      });
    } else if (a.kind === 'quorum-up' || a.kind === 'quorum-down') {
      this.d.notifier().checker({
        fifoLine: `VS ${vs.fifoName} ${a.kind === 'quorum-up' ? 'UP' : 'DOWN'}\n`,
        script: a.script,
        queue: `vs:${vs.id}`,
        context: { virtualServer: vs.id, hook: a.kind === 'quorum-up' ? 'quorum_up' : 'quorum_down' },
      });
    } else this.sorry(vs, a.kind === 'sorry-server-in');
  }

  private sorry(vs: VirtualServerPlan, active: boolean): void {
    const s = vs.sorryServer;
    if (s === undefined) return;
    this.log.warn(
      { virtualServer: vs.id, sorryServer: s.port === undefined ? s.address : `${s.address}:${s.port}`, active },
      active ? 'sorry server in' : 'sorry server out',
    );
  }
}
