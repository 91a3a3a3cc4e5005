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
 * Checker types with no probe yet (PING_CHECK, SMTP_CHECK, DNS_CHECK, UDP_CHECK,
 * FILE_CHECK, or any type missing from the probe table) are reported once as
 * 'checker.unsupported' and left out of their real server's rules: they count
 * neither up nor down. A real server is then judged by its other checkers
 * alone, and one with only unsupported checkers is alive at its configured
 * weight from the start, as keepalived treats a real server with no checker.
 */
import type { Logger } from '../../core/logger.js';
import type { Checker, Script } from '../../config/model.js';
import {
  checkerChanged,
  createChecker,
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
import { httpProbe, miscProbe, tcpProbe, type ProbeResult, type ProbeTarget } from './probes/index.js';
import type { MiscProbeOptions } from './probes/misc.js';

export interface ProbeTable {
  TCP_CHECK?: typeof tcpProbe;
  HTTP_GET?: typeof httpProbe;
  SSL_GET?: typeof httpProbe;
  MISC_CHECK?: typeof miscProbe;
}

export const DEFAULT_PROBES: ProbeTable = { TCP_CHECK: tcpProbe, HTTP_GET: httpProbe, SSL_GET: httpProbe, MISC_CHECK: miscProbe };

export interface RunnerClock extends CheckerClock {
  now(): number;
}

/** What keepalived would do; data only. */
export type CheckAction =
  | { kind: 'notify-up' | 'notify-down'; virtualServer: string; realServer: string; script: Script }
  | { kind: 'quorum-up' | 'quorum-down'; virtualServer: string; script: Script }
  | { kind: 'sorry-server-in' | 'sorry-server-out'; virtualServer: string; sorryServer: { address: string; port: number | undefined } };

export type CheckEvent =
  | { type: 'realserver.up' | 'realserver.down'; virtualServer: string; realServer: string; reason?: string }
  | { type: 'realserver.weight'; virtualServer: string; realServer: string; weight: number }
  | { type: 'virtualserver.quorum'; virtualServer: string; up: boolean; liveWeight: number }
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
  miscPrepare?: MiscProbeOptions['prepare'];
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
}

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
          state: c.actor === undefined ? 'unsupported' : c.up ? 'up' : 'down',
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
    for (const v of [...this.vss.values()]) this.removeVs(v, true);
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
        const state: RealServerState = { ...fresh, failed, alive: failed.length === 0, effectiveWeight: rp.weight + offsets, misc: { ...fresh.misc, ...misc } };
        const entry: RsEntry = { plan: rp, rules, state, checkers };
        for (const c of checkers) this.owners.set(c, { vs: v, rs: entry });
        rss.push(entry);
        if (state.alive !== old.state.alive) this.emitAlive(v, entry, state.alive, 'reload');
        else if (state.alive && realWeight(state.effectiveWeight) !== realWeight(old.state.effectiveWeight)) this.emitWeight(v, entry);
        for (const c of checkers) if (c.actor === undefined) this.reportUnsupported(v, entry, c);
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
    const supported = checkers.filter((c) => c.actor !== undefined);
    return { ...realServerRulesOf(rp), checkers: supported.map((c) => ({ id: c.id, alpha: c.plan.alpha, miscDynamic: c.plan.miscDynamic })) };
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
    const r: RsEntry = { plan: rp, rules, state: initialRealServer(rules), checkers };
    for (const c of checkers) this.owners.set(c, { vs: v, rs: r });
    for (const c of checkers) if (c.actor === undefined) this.reportUnsupported(v, r, c);
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
    };
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
            urls: s.urls,
            ...(s.virtualhost !== undefined ? { virtualhost: s.virtualhost } : {}),
            ...(s.httpProtocol !== undefined ? { httpProtocol: s.httpProtocol } : {}),
            ...(s.enableSni !== undefined ? { enableSni: s.enableSni } : {}),
            ...(s.sniName !== undefined ? { sniName: s.sniName } : {}),
            ...(s.tlsCompliant !== undefined ? { tlsCompliant: s.tlsCompliant } : {}),
          },
          ctx,
        );
      } else if (s.type === 'MISC_CHECK') {
        // misc_path split on blanks (keepalived's own word splitting, quotes aside).
        const argv = s.miscPath.command.trim().split(/\s+/);
        const opts: MiscProbeOptions = { argv, timeoutMs: c.plan.probeTimeoutMs, dynamic: s.miscDynamic, log: this.log };
        if (this.o.miscPrepare !== undefined) opts.prepare = this.o.miscPrepare;
        p = this.probes.MISC_CHECK!(target, opts, ctx);
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
    if (change.alive !== undefined) this.emitAlive(v, r, change.alive === 'up', up ? undefined : (c.lastFailure?.reason ?? 'failed'));
    else if (r.state.alive && realWeight(r.state.effectiveWeight) !== before) this.emitWeight(v, r);
    const step = reweigh(v.rules, v.state, this.views(v));
    this.applyVs(v, step.commands, step.state);
  }

  private emitAlive(v: VsEntry, r: RsEntry, up: boolean, reason: string | undefined): void {
    const base = { virtualServer: v.plan.id, realServer: r.plan.id };
    this.emit(up ? { type: 'realserver.up', ...base } : { type: 'realserver.down', ...base, ...(reason !== undefined ? { reason } : {}) });
    // do_rs_notifies: notify_up / notify_down when the real server's aliveness changes.
    const script = up ? r.plan.notifyUp : r.plan.notifyDown;
    if (script !== undefined) this.emit({ type: 'action', action: { kind: up ? 'notify-up' : 'notify-down', ...base, script } });
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
        this.emit({ type: 'virtualserver.quorum', virtualServer: vs, up, liveWeight: cmd.liveWeight });
        const script = up ? v.plan.quorumUp : v.plan.quorumDown;
        if (script !== undefined) this.emit({ type: 'action', action: { kind: cmd.type, virtualServer: vs, script } });
      } else if ((cmd.type === 'sorry-server-in' || cmd.type === 'sorry-server-out') && v.plan.sorryServer !== undefined) {
        const { address, port } = v.plan.sorryServer;
        this.emit({ type: 'action', action: { kind: cmd.type, virtualServer: vs, sorryServer: { address, port } } });
      } else if (cmd.type === 'notify-rs-down') {
        const r = v.rss.find((x) => x.plan.id === cmd.realServer);
        if (r?.plan.notifyDown !== undefined)
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
