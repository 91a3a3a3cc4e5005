/**
 * Runs keepalived's checker subsystem: one checker actor (actors/check/checker.ts)
 * per supported checker of every real server, the probes they ask for, and the
 * aggregation of their verdicts into real servers (real-server.ts) and virtual
 * servers (virtual-server.ts). What changes comes out to listeners as data:
 * health changes, and the actions keepalived would take (notify_up/notify_down,
 * quorum_up/quorum_down, the sorry server in or out). Running scripts and
 * programming IPVS is the caller's business.
 *
 * Every probe gets an AbortController. The actor's watchdog fires at the
 * checker's probe bound (probeBoundMs); the runner then aborts the probe's I/O
 * and records 'probe-stalled', and a result arriving later is dropped. stop()
 * aborts whatever is in flight.
 *
 * FILE_CHECK is not scheduled: keepalived drives it from the track_file's
 * inotify watch. The runner reads the file values from a TrackFileFeed
 * (`trackFiles`, e.g. infra/check/file-feed.ts) at start and on every change,
 * and applies keepalived's rule (actors/check fileValue): down, or an offset
 * to the real server's weight.
 *
 * Checker types with no probe yet (FILE_CHECK without a feed, or
 * any type missing from the probe table) are reported once as
 * 'checker.unsupported' and left out of their real server's rules: they count
 * neither up nor down. A real server is then judged by its other checkers
 * alone, and one with only unsupported checkers is alive at its configured
 * weight from the start, as keepalived treats a real server with no checker.
 */
import type { Logger } from '../../core/logger.js';
import { sameData } from '../../core/same-data.js';
import type { Checker, Script } from '../../config/model.js';
import {
  checkerChanged,
  createChecker,
  fileValue,
  initialRealServer,
  initialVirtualServer,
  liveWeight,
  miscExit,
  realWeight,
  reweigh,
  shutdown,
  type CheckerActor,
  type CheckerClock,
  type RealServerRules,
  type RealServerState,
  type RealServerView,
  type VirtualServerCommand,
  type VirtualServerRules,
  type VirtualServerState,
} from '../../actors/check/index.js';
import {
  checkerInputOf,
  realServerRulesOf,
  virtualServerRulesOf,
  type CheckerPlan,
  type CheckPlan,
  type RealServerPlan,
  type VirtualServerPlan,
} from './plan.js';
import { dnsProbe, httpProbe, miscProbe, pingProbe, smtpProbe, tcpProbe, udpProbe, type ProbeResult, type ProbeTarget } from './probes/index.js';
import type { MiscProbeOptions } from './probes/misc.js';
import type { ClientCertificate } from './probes/http.js';
import { EchoPool } from './probes/echo-channel.js';
import { splitCommandLine } from '../scripts/command-line.js';
import type { Prepared } from '../scripts/runner.js';

export interface ProbeTable {
  TCP_CHECK?: typeof tcpProbe;
  HTTP_GET?: typeof httpProbe;
  SSL_GET?: typeof httpProbe;
  MISC_CHECK?: typeof miscProbe;
  DNS_CHECK?: typeof dnsProbe;
  SMTP_CHECK?: typeof smtpProbe;
  UDP_CHECK?: typeof udpProbe;
  PING_CHECK?: typeof pingProbe;
}

export const DEFAULT_PROBES: ProbeTable = {
  TCP_CHECK: tcpProbe,
  HTTP_GET: httpProbe,
  SSL_GET: httpProbe,
  MISC_CHECK: miscProbe,
  DNS_CHECK: dnsProbe,
  SMTP_CHECK: smtpProbe,
  UDP_CHECK: udpProbe,
  PING_CHECK: pingProbe,
};

/** The track_file values FILE_CHECKs read: the current value of a name, and its changes. */
export interface TrackFileFeed {
  /** undefined: the file is not tracked (its FILE_CHECK is then unsupported) */
  value(name: string): number | undefined;
  /** @returns a function that ends the subscription */
  subscribe(listener: (name: string, value: number) => void): () => void;
}

export interface RunnerClock extends CheckerClock {
  now(): number;
}

/** What keepalived would do; data only. */
export type CheckAction =
  | { kind: 'notify-up' | 'notify-down'; virtualServer: string; realServer: string; script: Script | undefined }
  | { kind: 'quorum-up' | 'quorum-down'; virtualServer: string; script: Script | undefined }
  | { kind: 'sorry-server-in' | 'sorry-server-out'; virtualServer: string; sorryServer: { address: string; port: number | undefined } };

export type CheckEvent =
  | { type: 'realserver.up'; virtualServer: string; realServer: string; weight: number; reason: 'checks' | 'reload' }
  | { type: 'realserver.down'; virtualServer: string; realServer: string; reason: string; detail?: string; checker?: string }
  | { type: 'realserver.weight'; virtualServer: string; realServer: string; weight: number }
  | { type: 'virtualserver.quorum'; virtualServer: string; up: boolean; liveWeight: number; quorum: number; hysteresis: number }
  | { type: 'checker.unsupported'; virtualServer: string; realServer: string; checker: string; checkerType: Checker['type'] }
  | { type: 'action'; action: CheckAction };

export type CheckListener = (e: CheckEvent) => void;

export interface CheckRunnerOptions {
  clock: RunnerClock;
  log: Logger;
  /** uniform in [0, 1), for warmup; Math.random by default */
  random?: () => number;
  probes?: ProbeTable;
  listeners?: CheckListener[];
  /** MISC_CHECK: who runs misc_path and whether script security allows it (the daemon's) */
  miscPrepare?: (script: Script, program: string) => Prepared;
  /** SSL_GET: the SSL block's client certificate, read by the caller (asked at every probe: a reload may change it) */
  clientCertificate?: () => ClientCertificate | undefined;
  /** FILE_CHECK: the track_file values; without it FILE_CHECKs are unsupported */
  trackFiles?: TrackFileFeed;
}

export interface CheckerStatus {
  id: string;
  type: Checker['type'];
  state: 'up' | 'down' | 'unsupported';
  probes: number;
  lastFailure: { reason: string; detail: string; at: number } | undefined;
}

export interface RealServerStatus {
  id: string;
  alive: boolean;
  weight: number;
  checkers: CheckerStatus[];
}

export interface VirtualServerStatus {
  id: string;
  quorumUp: boolean;
  liveWeight: number;
  sorryActive: boolean;
  suspended: boolean;
  realServers: RealServerStatus[];
}

export interface ReloadChanges {
  added: { virtualServers: string[]; realServers: string[]; checkers: string[] };
  removed: { virtualServers: string[]; realServers: string[]; checkers: string[] };
  kept: { checkers: string[] };
}

interface CheckerEntry {
  /** the id the actor was started with (kept across reloads) */
  id: string;
  key: string;
  plan: CheckerPlan;
  actor: CheckerActor | undefined;
  up: boolean;
  probes: number;
  lastFailure: CheckerStatus['lastFailure'];
  inflight: { probe: number; controller: AbortController } | undefined;
  started: boolean;
  /** FILE_CHECK fed by the track_file feed: the track_file's name */
  file: string | undefined;
}

/** A checker the real server's rules count: one with an actor, or a fed FILE_CHECK. */
const counted = (c: CheckerEntry): boolean => c.actor !== undefined || c.file !== undefined;

interface RsEntry {
  plan: RealServerPlan;
  rules: RealServerRules;
  state: RealServerState;
  checkers: CheckerEntry[];
}

interface VsEntry {
  plan: VirtualServerPlan;
  rules: VirtualServerRules;
  state: VirtualServerState;
  suspended: boolean;
  rss: RsEntry[];
}

/** A checker is the same across a reload when its virtual server, real server, type and every option are. */
function checkerKey(vs: VirtualServerPlan, rs: RealServerPlan, c: CheckerPlan): string {
  const rest: Partial<CheckerPlan> = { ...c };
  delete rest.id;
  return JSON.stringify([vs.id, rs.id, c.type, rest]);
}

/** The probe options a checker's settings give (keepalived's conn_opts, http_checker, misc_checker). */
function connectOptions(c: CheckerPlan): Record<string, unknown> {
  const s = c.settings;
  const o: Record<string, unknown> = {};
  if (s.connectIp !== undefined) o.connectIp = s.connectIp;
  if (s.connectPort !== undefined) o.connectPort = s.connectPort;
  if (s.bindto !== undefined) o.bindto = s.bindto;
  if (s.bindPort !== undefined) o.bindPort = s.bindPort;
  if (c.connectTimeoutMs !== undefined) o.connectTimeoutMs = c.connectTimeoutMs;
  return o;
}

export class CheckRunner {
  private readonly vss = new Map<string, VsEntry>();
  private readonly listeners: CheckListener[];
  private readonly probes: ProbeTable;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly reported = new Set<string>();
  /** Where each checker sits, so a probe result finds its real server without scanning every one (37,000 in a large config). */
  private readonly owners = new WeakMap<CheckerEntry, { vs: VsEntry; rs: RsEntry }>();
  private running = false;
  /** PING_CHECK's echo sockets: one per family (and bindto / bind_if), shared by every ping checker, logging through the runner. */
  private echoPool: EchoPool | undefined;
  private unsubscribeFiles: (() => void) | undefined;

  constructor(
    private plan: CheckPlan,
    private readonly o: CheckRunnerOptions,
  ) {
    this.listeners = [...(o.listeners ?? [])];
    this.probes = o.probes ?? DEFAULT_PROBES;
    this.random = o.random ?? Math.random;
    this.log = o.log.child({ component: 'checker' });
  }

  onEvent(l: CheckListener): void {
    this.listeners.push(l);
  }

  /** Starts every checker; the virtual servers' initial quorum is reported at once (init_service_vs). */
  start(): void {
    this.running = true;
    this.unsubscribeFiles = this.o.trackFiles?.subscribe((name, value) => this.fileChanged(name, value));
    for (const vs of this.plan.virtualServers) this.addVs(vs);
  }

  status(): VirtualServerStatus[] {
    return [...this.vss.values()].map((v) => ({
      id: v.plan.id,
      quorumUp: v.state.quorumUp,
      liveWeight: liveWeight(this.views(v)),
      sorryActive: v.state.sorryActive,
      suspended: v.suspended,
      realServers: v.rss.map((r) => ({
        id: r.plan.id,
        alive: r.state.alive,
        weight: realWeight(r.state.effectiveWeight),
        checkers: r.checkers.map((c) => ({
          id: c.id,
          type: c.plan.type,
          state: !counted(c) ? 'unsupported' : c.up ? 'up' : 'down',
          probes: c.probes,
          lastFailure: c.lastFailure,
        })),
      })),
    }));
  }

  /** ha_suspend: the VIP left (true) or came back (false). Ignored for a virtual server without ha_suspend. */
  setSuspended(virtualServer: string, suspended: boolean): boolean {
    const v = this.vss.get(virtualServer);
    if (v === undefined || !v.plan.haSuspend || v.suspended === suspended) return false;
    v.suspended = suspended;
    v.state = { ...v.state, addressCount: suspended ? 0 : 1 };
    for (const r of v.rss) for (const c of r.checkers) c.actor?.send({ type: suspended ? 'SUSPEND' : 'RESUME' });
    this.log.info({ virtualServer, suspended }, suspended ? 'checkers suspended: VIP absent' : 'checkers resumed: VIP present');
    return true;
  }

  /** Stops every checker and aborts every probe in flight; with omega, reports what keepalived does on the way out. */
  stop(): void {
    this.running = false;
    this.unsubscribeFiles?.();
    this.unsubscribeFiles = undefined;
    for (const v of [...this.vss.values()]) this.removeVs(v, true);
    this.echoPool?.close();
    this.echoPool = undefined;
  }

  /** Applies a new plan: unchanged checkers keep their state and timers. */
  reload(next: CheckPlan): ReloadChanges {
    const ch: ReloadChanges = {
      added: { virtualServers: [], realServers: [], checkers: [] },
      removed: { virtualServers: [], realServers: [], checkers: [] },
      kept: { checkers: [] },
    };
    this.plan = next;
    const nextIds = new Set(next.virtualServers.map((v) => v.id));
    for (const v of [...this.vss.values()]) {
      if (nextIds.has(v.plan.id)) continue;
      ch.removed.virtualServers.push(v.plan.id);
      for (const r of v.rss) ch.removed.checkers.push(...r.checkers.map((c) => c.id));
      this.removeVs(v, false);
    }
    for (const vp of next.virtualServers) {
      const v = this.vss.get(vp.id);
      if (v === undefined) {
        ch.added.virtualServers.push(vp.id);
        for (const r of vp.realServers) ch.added.checkers.push(...r.checkers.map((c) => c.id));
        if (this.running) this.addVs(vp);
        continue;
      }
      // Most of a large config is unchanged: a virtual server equal in every field keeps
      // everything as it is, without a per-checker comparison (keepalived 2.3's fast reload).
      if (sameData(v.plan, vp)) {
        v.plan = vp;
        for (const r of v.rss) for (const c of r.checkers) ch.kept.checkers.push(c.id);
        continue;
      }
      v.plan = vp;
      v.rules = virtualServerRulesOf(vp);
      const rss: RsEntry[] = [];
      for (const rp of vp.realServers) {
        const old = v.rss.find((r) => r.plan.id === rp.id);
        if (old === undefined) {
          ch.added.realServers.push(rp.id);
          ch.added.checkers.push(...rp.checkers.map((c) => c.id));
          const fresh = this.makeRs(v, rp);
          rss.push(fresh);
          if (this.running) this.startCheckers(fresh);
          continue;
        }
        const checkers: CheckerEntry[] = [];
        for (const cp of rp.checkers) {
          const key = checkerKey(vp, rp, cp);
          const i = old.checkers.findIndex((c) => c.key === key);
          if (i >= 0) {
            const kept = old.checkers.splice(i, 1)[0]!;
            kept.plan = cp;
            checkers.push(kept);
            ch.kept.checkers.push(kept.id);
          } else {
            checkers.push(this.makeChecker(v, rp, cp));
            ch.added.checkers.push(cp.id);
          }
        }
        for (const c of old.checkers) {
          ch.removed.checkers.push(c.id);
          this.stopChecker(c);
        }
        // The real server keeps the verdicts of its kept checkers; new alpha checkers start failed.
        const rules = this.rsRules(rp, checkers);
        const fresh = initialRealServer(rules);
        const failed = checkers.filter((c) => c.actor !== undefined && !c.up).map((c) => c.id);
        const misc = Object.fromEntries(Object.entries(old.state.misc).filter(([id]) => checkers.some((c) => c.id === id)));
        const offsets = Object.values(misc).reduce((n, m) => n + m.offset, 0);
        const base: RealServerState = { ...fresh, failed, alive: failed.length === 0, effectiveWeight: rp.weight + offsets, misc: { ...fresh.misc, ...misc } };
        const state = this.withFileValues(rules, base, checkers);
        const entry: RsEntry = { plan: rp, rules, state, checkers };
        for (const c of checkers) this.owners.set(c, { vs: v, rs: entry });
        rss.push(entry);
        if (state.alive !== old.state.alive) this.emitAlive(v, entry, state.alive, { reason: 'reload' });
        else if (state.alive && realWeight(state.effectiveWeight) !== realWeight(old.state.effectiveWeight)) this.emitWeight(v, entry);
        for (const c of checkers) if (!counted(c)) this.reportUnsupported(v, entry, c);
        if (this.running) this.startCheckers(entry);
      }
      for (const r of v.rss) {
        if (rss.some((x) => x.plan.id === r.plan.id)) continue;
        ch.removed.realServers.push(r.plan.id);
        for (const c of r.checkers) {
          ch.removed.checkers.push(c.id);
          this.stopChecker(c);
        }
      }
      v.rss = rss;
      const step = reweigh(v.rules, v.state, this.views(v));
      this.applyVs(v, step.commands, step.state);
    }
    return ch;
  }

  // --- internals ---

  private emit(e: CheckEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.error({ err, event: e.type }, 'check listener failed');
      }
    }
  }

  private views(v: VsEntry): RealServerView[] {
    return v.rss.map((r) => ({ rules: r.rules, state: r.state }));
  }

  private rsRules(rp: RealServerPlan, checkers: readonly CheckerEntry[]): RealServerRules {
    const rules = realServerRulesOf(rp);
    return { ...rules, checkers: rules.checkers.filter((rc) => checkers.some((c) => c.id === rc.id && counted(c))) };
  }

  /** Each fed FILE_CHECK's current value folded into a real server's state (at start and reload: no events). */
  private withFileValues(rules: RealServerRules, s: RealServerState, checkers: readonly CheckerEntry[]): RealServerState {
    let state = s;
    for (const c of checkers) {
      if (c.file === undefined) continue;
      state = fileValue(rules, state, c.id, this.o.trackFiles?.value(c.file) ?? 0).state;
      c.up = !state.failed.includes(c.id);
    }
    return state;
  }

  /** A track_file changed: every FILE_CHECK reading it applies keepalived's rule to its real server. */
  private fileChanged(name: string, value: number): void {
    if (!this.running) return;
    for (const v of this.vss.values()) {
      let touched = false;
      for (const r of v.rss) {
        for (const c of r.checkers) {
          if (c.file !== name) continue;
          touched = true;
          const before = realWeight(r.state.effectiveWeight);
          const change = fileValue(r.rules, r.state, c.id, value);
          r.state = change.state;
          const up = !change.state.failed.includes(c.id);
          if (up !== c.up) {
            c.up = up;
            if (!up) c.lastFailure = { reason: 'file', detail: `track_file ${name} is ${value}`, at: this.o.clock.now() };
            this.log.info({ checker: c.id, trackFile: name, value, up }, `checker ${up ? 'up' : 'down'}`);
          }
          if (change.alive !== undefined)
            this.emitAlive(
              v,
              r,
              change.alive === 'up',
              change.alive === 'up' ? { reason: 'checks' } : { reason: 'file', detail: `track_file ${name} is ${value}`, checker: c.id },
            );
          else if (r.state.alive && realWeight(r.state.effectiveWeight) !== before) this.emitWeight(v, r);
        }
      }
      if (!touched) continue;
      const step = reweigh(v.rules, v.state, this.views(v));
      this.applyVs(v, step.commands, step.state);
    }
  }

  private addVs(vp: VirtualServerPlan): void {
    const rules = virtualServerRulesOf(vp);
    const v: VsEntry = { plan: vp, rules, state: { quorumUp: false, sorryActive: false, addressCount: 0 }, suspended: vp.haSuspend, rss: [] };
    this.vss.set(vp.id, v);
    v.rss = vp.realServers.map((rp) => this.makeRs(v, rp));
    const init = initialVirtualServer(rules, this.views(v), vp.haSuspend ? 0 : 1);
    this.applyVs(v, init.commands, init.state);
    for (const r of v.rss) this.startCheckers(r);
  }

  private makeRs(v: VsEntry, rp: RealServerPlan): RsEntry {
    const checkers = rp.checkers.map((cp) => this.makeChecker(v, rp, cp));
    const rules = this.rsRules(rp, checkers);
    const r: RsEntry = { plan: rp, rules, state: this.withFileValues(rules, initialRealServer(rules), checkers), checkers };
    for (const c of checkers) this.owners.set(c, { vs: v, rs: r });
    for (const c of checkers) if (!counted(c)) this.reportUnsupported(v, r, c);
    return r;
  }

  private reportUnsupported(v: VsEntry, r: RsEntry, c: CheckerEntry): void {
    if (this.reported.has(c.key)) return;
    this.reported.add(c.key);
    this.log.warn(
      { virtualServer: v.plan.id, realServer: r.plan.id, checker: c.id, type: c.plan.type },
      `${c.plan.type} is not supported yet: real server ${r.plan.id} is judged without this checker (it counts neither up nor down)`,
    );
    this.emit({ type: 'checker.unsupported', virtualServer: v.plan.id, realServer: r.plan.id, checker: c.id, checkerType: c.plan.type });
  }

  private makeChecker(v: VsEntry, rp: RealServerPlan, cp: CheckerPlan): CheckerEntry {
    const entry: CheckerEntry = {
      id: cp.id,
      key: checkerKey(v.plan, rp, cp),
      plan: cp,
      actor: undefined,
      up: !cp.alpha,
      probes: 0,
      lastFailure: undefined,
      inflight: undefined,
      started: false,
      file: undefined,
    };
    if (cp.type === 'FILE_CHECK' && cp.file !== undefined && this.o.trackFiles?.value(cp.file.name) !== undefined) {
      entry.file = cp.file.name;
      return entry;
    }
    const probe = (this.probes as Record<string, unknown>)[cp.type];
    if (probe === undefined || !cp.scheduled) return entry;
    const input = checkerInputOf(v.plan, cp, { random: this.random, now: () => this.o.clock.now(), vipPresent: !v.suspended });
    const made = createChecker(input, this.o.clock);
    if ('error' in made) {
      this.log.error({ checker: cp.id, message: made.error.message }, 'checker cannot run');
      return entry;
    }
    const actor = made.actor;
    entry.actor = actor;
    actor.on('run-probe', (e) => this.runProbe(v, rp, entry, e.probe));
    actor.on('probe-stalled', (e) => {
      const f = entry.inflight;
      if (f === undefined || f.probe !== e.probe) return;
      entry.inflight = undefined;
      f.controller.abort();
      entry.lastFailure = { reason: 'probe-stalled', detail: `no result within ${e.boundMs} ms: aborted`, at: this.o.clock.now() };
      this.log.warn({ checker: entry.id, boundMs: e.boundMs }, 'probe stalled: aborted and counted as a failure');
    });
    actor.on('up', () => this.checkerTurned(entry, true));
    actor.on('down', () => this.checkerTurned(entry, false));
    return entry;
  }

  private startCheckers(r: RsEntry): void {
    for (const c of r.checkers) {
      if (c.actor === undefined || c.started) continue;
      c.started = true;
      c.actor.start();
    }
  }

  private stopChecker(c: CheckerEntry): void {
    c.inflight?.controller.abort();
    c.inflight = undefined;
    if (c.actor !== undefined) {
      c.actor.send({ type: 'STOP' });
      c.actor.stop();
    }
  }

  private runProbe(v: VsEntry, rp: RealServerPlan, c: CheckerEntry, probe: number): void {
    const controller = new AbortController();
    c.inflight = { probe, controller };
    c.probes++;
    const s = c.plan.settings;
    const target: ProbeTarget = { address: rp.address, port: rp.port ?? 0 };
    const ctx = { signal: controller.signal };
    let p: Promise<ProbeResult>;
    try {
      if (s.type === 'TCP_CHECK') p = this.probes.TCP_CHECK!(target, connectOptions(c.plan), ctx);
      else if (s.type === 'HTTP_GET' || s.type === 'SSL_GET') {
        const fn = s.type === 'HTTP_GET' ? this.probes.HTTP_GET! : this.probes.SSL_GET!;
        p = fn(
          target,
          {
            ...connectOptions(c.plan),
            tls: s.type === 'SSL_GET',
            ...(s.type === 'SSL_GET' && this.o.clientCertificate?.() !== undefined ? { clientCertificate: this.o.clientCertificate()! } : {}),
            urls: s.urls,
            ...(s.virtualhost !== undefined ? { virtualhost: s.virtualhost } : {}),
            ...(rp.virtualhost !== undefined ? { realServerVirtualhost: rp.virtualhost } : {}),
            ...(v.plan.virtualhost !== undefined ? { virtualServerVirtualhost: v.plan.virtualhost } : {}),
            ...(s.httpProtocol !== undefined ? { httpProtocol: s.httpProtocol } : {}),
            ...(s.enableSni !== undefined ? { enableSni: s.enableSni } : {}),
            ...(s.sniName !== undefined ? { sniName: s.sniName } : {}),
            ...(s.tlsCompliant !== undefined ? { tlsCompliant: s.tlsCompliant } : {}),
          },
          ctx,
        );
      } else if (s.type === 'MISC_CHECK') {
        const split = splitCommandLine(s.miscPath.command);
        if (!split.ok) p = Promise.resolve({ ok: false, reason: 'config', detail: `misc_path: ${split.message}` });
        else {
          const opts: MiscProbeOptions = { argv: split.argv, timeoutMs: c.plan.probeTimeoutMs, dynamic: s.miscDynamic, log: this.log };
          const prepare = this.o.miscPrepare;
          if (prepare !== undefined) opts.prepare = () => prepare(s.miscPath, split.argv[0]!);
          p = this.probes.MISC_CHECK!(target, opts, ctx);
        }
      } else if (s.type === 'PING_CHECK') {
        this.echoPool ??= new EchoPool({ logger: this.log });
        p = this.probes.PING_CHECK!(target, { ...connectOptions(c.plan), ...(s.bindIf !== undefined ? { bindIf: s.bindIf } : {}), pool: this.echoPool }, ctx);
      } else if (s.type === 'DNS_CHECK') {
        const dns = {
          ...connectOptions(c.plan),
          ...(s.queryType !== undefined ? { queryType: s.queryType } : {}),
          ...(s.name !== undefined ? { name: s.name } : {}),
        };
        p = this.probes.DNS_CHECK!(target, dns, ctx);
      } else if (s.type === 'SMTP_CHECK') {
        // plan.ts has already made each `host` block a checker of its own.
        p = this.probes.SMTP_CHECK!(target, { ...connectOptions(c.plan), ...(s.heloName !== undefined ? { heloName: s.heloName } : {}) }, ctx);
      } else if (s.type === 'UDP_CHECK') {
        const udp = {
          ...connectOptions(c.plan),
          ...(s.payload !== undefined ? { payload: s.payload } : {}),
          ...(s.requireReply !== undefined ? { requireReply: s.requireReply } : {}),
          ...(s.minReplyLength !== undefined ? { minReplyLength: s.minReplyLength } : {}),
          ...(s.maxReplyLength !== undefined ? { maxReplyLength: s.maxReplyLength } : {}),
        };
        p = this.probes.UDP_CHECK!(target, udp, ctx);
      } else return;
    } catch (err) {
      p = Promise.resolve({ ok: false, reason: 'connect', detail: `probe threw: ${String(err)}` });
    }
    const done = (res: ProbeResult): void => {
      if (c.inflight?.probe !== probe || !this.running) return; // stalled, stopped or superseded
      c.inflight = undefined;
      if (!res.ok) c.lastFailure = { reason: res.reason, detail: res.detail, at: this.o.clock.now() };
      const r = this.rsOf(c);
      if (res.ok && c.plan.miscDynamic && r !== undefined) this.miscWeight(r.vs, r.rs, c, res.weight === undefined ? 0 : res.weight + 2);
      c.actor?.send(res.ok ? { type: 'RESULT', probe, ok: true } : { type: 'RESULT', probe, ok: false, reason: res.reason });
    };
    p.then(done, (err: unknown) => done({ ok: false, reason: 'connect', detail: `probe rejected: ${String(err)}` }));
  }

  /** The checker's virtual and real server, while it is still part of the running configuration. */
  private rsOf(c: CheckerEntry): { vs: VsEntry; rs: RsEntry } | undefined {
    const o = this.owners.get(c);
    if (o === undefined || this.vss.get(o.vs.plan.id) !== o.vs || !o.vs.rss.includes(o.rs) || !o.rs.checkers.includes(c)) return undefined;
    return o;
  }

  private miscWeight(v: VsEntry, r: RsEntry, c: CheckerEntry, code: number): void {
    const before = realWeight(r.state.effectiveWeight);
    r.state = miscExit(r.rules, r.state, c.id, code);
    if (r.state.alive && realWeight(r.state.effectiveWeight) !== before) {
      this.emitWeight(v, r);
      const step = reweigh(v.rules, v.state, this.views(v));
      this.applyVs(v, step.commands, step.state);
    }
  }

  private checkerTurned(c: CheckerEntry, up: boolean): void {
    c.up = up;
    const found = this.rsOf(c);
    if (found === undefined) return;
    const { vs: v, rs: r } = found;
    const before = realWeight(r.state.effectiveWeight);
    const change = checkerChanged(r.rules, r.state, c.id, up);
    r.state = change.state;
    this.log.info({ checker: c.id, up, reason: up ? undefined : c.lastFailure?.reason }, `checker ${up ? 'up' : 'down'}`);
    if (change.alive !== undefined) {
      const why = up
        ? { reason: 'checks' }
        : { reason: c.lastFailure?.reason ?? 'failed', checker: c.id, ...(c.lastFailure !== undefined ? { detail: c.lastFailure.detail } : {}) };
      this.emitAlive(v, r, change.alive === 'up', why);
    } else if (r.state.alive && realWeight(r.state.effectiveWeight) !== before) this.emitWeight(v, r);
    const step = reweigh(v.rules, v.state, this.views(v));
    this.applyVs(v, step.commands, step.state);
  }

  private emitAlive(v: VsEntry, r: RsEntry, up: boolean, why: { reason: string; detail?: string; checker?: string }): void {
    const base = { virtualServer: v.plan.id, realServer: r.plan.id };
    this.emit(
      up
        ? { type: 'realserver.up', ...base, weight: realWeight(r.state.effectiveWeight), reason: why.reason === 'reload' ? 'reload' : 'checks' }
        : { type: 'realserver.down', ...base, ...why },
    );
    // do_rs_notifies: notify_up / notify_down and the FIFO line when the real server's aliveness changes.
    const script = up ? r.plan.notifyUp : r.plan.notifyDown;
    this.emit({ type: 'action', action: { kind: up ? 'notify-up' : 'notify-down', ...base, script } });
  }

  private emitWeight(v: VsEntry, r: RsEntry): void {
    this.emit({ type: 'realserver.weight', virtualServer: v.plan.id, realServer: r.plan.id, weight: realWeight(r.state.effectiveWeight) });
  }

  private applyVs(v: VsEntry, commands: readonly VirtualServerCommand[], state: VirtualServerState): void {
    v.state = state;
    const vs = v.plan.id;
    for (const cmd of commands) {
      if (cmd.type === 'quorum-up' || cmd.type === 'quorum-down') {
        const up = cmd.type === 'quorum-up';
        this.emit({ type: 'virtualserver.quorum', virtualServer: vs, up, liveWeight: cmd.liveWeight, quorum: v.plan.quorum, hysteresis: v.plan.hysteresis });
        const script = up ? v.plan.quorumUp : v.plan.quorumDown;
        this.emit({ type: 'action', action: { kind: cmd.type, virtualServer: vs, script } });
      } else if ((cmd.type === 'sorry-server-in' || cmd.type === 'sorry-server-out') && v.plan.sorryServer !== undefined) {
        const { address, port } = v.plan.sorryServer;
        this.emit({ type: 'action', action: { kind: cmd.type, virtualServer: vs, sorryServer: { address, port } } });
      } else if (cmd.type === 'notify-rs-down') {
        const r = v.rss.find((x) => x.plan.id === cmd.realServer);
        if (r !== undefined)
          this.emit({ type: 'action', action: { kind: 'notify-down', virtualServer: vs, realServer: r.plan.id, script: r.plan.notifyDown } });
      }
    }
  }

  private removeVs(v: VsEntry, atShutdown: boolean): void {
    for (const r of v.rss) for (const c of r.checkers) this.stopChecker(c);
    // clear_service_vs: with omega, notify_down for live servers and quorum_down on the way out.
    if (atShutdown) {
      const step = shutdown(v.rules, v.state, this.views(v));
      this.applyVs(v, step.commands, step.state);
    }
    this.vss.delete(v.plan.id);
  }
}
