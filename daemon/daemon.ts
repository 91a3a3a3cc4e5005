/**
 * The vipflow daemon: loads the configuration, runs one InstanceRunner per
 * VRRP instance, tracks interfaces, serves status over a control socket, and
 * handles the process signals (TERM/INT stop, HUP reload, USR1 dump).
 *
 * This file is the lifecycle: the start order, the pid file and state dir,
 * the stop order, status and dump. Each job is its own module, wired here:
 * instances.ts (runners and sync groups), reload.ts and infra/vrrp/reload-plan.ts
 * (SIGHUP), link-monitor.ts and link-local-sources.ts (interfaces),
 * trackers.ts (scripts, files, processes), event-publisher.ts (events),
 * workflow-host.ts (in-process workflows), split-brain-fence.ts.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadConfigResult } from '../config/load.js';
import { OffThreadConfigLoader } from '../infra/config/off-thread-loader.js';
import type { Diagnostic } from '../config/diagnostics.js';
import { notActedOn } from '../config/not-acted-on.js';
import type { VipflowConfig, VipflowSettings } from '../config/model.js';
import type { Logger } from '../core/logger.js';
import { KeepalivedNotifier } from '../notifiers/keepalived-notify/index.js';
import type { GroupState, GroupTransition } from '../actors/sync-group/index.js';
import { ControlServer } from '../infra/control/control-socket.js';
import { EventPublisher, type DaemonEventSettings, type EventPublisherStatus } from './event-publisher.js';
import { natsSecurityFrom, signingKeyFileFrom, type NatsCliSecurity } from '../infra/events/nats-settings.js';
import { SplitBrainFence, type SplitBrainStatus } from './split-brain-fence.js';
import { WorkflowHost } from './workflow-host.js';
import { readHostInterfaces } from '../infra/host/interfaces.js';
import { interfaceAddressMap } from '../infra/host/host-facts.js';
import type { InstanceStatus } from '../infra/vrrp/instance-runner.js';
import type { TransitionRecord } from '../actors/vrrp/types.js';
import type { EventBus } from '../infra/events/bus.js';
import type { TrackScriptStatus } from '../infra/track/scripts.js';
import { Trackers, type TrackFileStatus, type TrackProcessStatus } from './trackers.js';
import { netlinkVipOps } from '../infra/host/vip-addresses.js';
import { hostVmacLinks } from '../infra/host/vmac-link.js';
import { hostAcceptModeFirewall } from '../infra/host/accept-mode.js';
import { nftCommand, sweepHandoverTables } from '../infra/vrrp/handover-nft.js';
import { PACE_SLACK_MS, watchedClock, type LateTimerStats } from './watched-clock.js';
import { openPreciseWakeups, type PreciseWakeups } from './precise-wakeups.js';
import { openYoungGenerationSweeper, prepareTakeover, type YoungGenerationSweeper } from './young-generation.js';
import { LoopDelayMonitor } from './loop-delay.js';
import { HeapTrimmer } from './heap-trim.js';
import { VrrpThreadScheduling } from './scheduling.js';
import type { TimingMetrics } from './timing-metrics.js';
import type { WorkflowMetrics } from './workflow-metrics.js';
import type { Registry } from 'prom-client';
import { ClusterView, type ClusterMember } from './cluster-view.js';
import { neighbourMac } from '../infra/host/neighbour-mac.js';
import { droppedByReason, type DroppedCounters } from './drop-summary.js';
import { STRANGER_LIMITS, StrangerReporter, type ReportedSighting } from '../wire/hub/strangers.js';
import { openVrrpSocket } from '../wire/socket/index.js';
import { WireHub } from '../wire/hub/vrid-hub.js';
import { affectsAnnouncements, hostAnnounceIo } from './announce-io.js';
import { Instances } from './instances.js';
import { Reloader, type ReloadResult } from './reload.js';
import { LinkMonitor } from './link-monitor.js';
import type { ChecksStatus } from './checks.js';
import type { LoadBalancerStatus } from './load-balancer.js';
import { lbBackendName, type LbChoice } from './lb-choice.js';
import { VirtualServers } from './virtual-servers.js';
import type { LbBackendName } from '../config/lb-support.js';

export interface DaemonOptions {
  configPath: string;
  stateDir: string;
  log: Logger;
  /** keepalived's -i: active `@name` conditional config ids. */
  configIds?: string[];
  /** Event bus and split-brain settings; NATS servers default to the config's `vipflow.nats.url`. */
  events?: DaemonEventSettings;
  /** The command line's NATS credentials and signing key: each replaces the config's (vipflow.nats). */
  natsCli?: NatsCliSecurity & { natsSigningKey?: string };
  /** Kill a notify script (and its process group) still running after this long; default 30 s. */
  notifyTimeoutMs?: number;
  /** Who balances the virtual servers: IPVS if the kernel has it, else nftables (auto, the default), or nobody (none). */
  lb?: LbChoice;
  /**
   * An HTTP endpoint will serve /metrics (run's --http). The config's vipflow.http.listen
   * counts too. Without one the histograms are never read: neither they nor prom-client are loaded.
   */
  servesMetrics?: boolean;
  /** Runs before 'vipflow running' when an HTTP endpoint will serve the daemon: run.ts imports the endpoint's modules there. */
  prepareEndpoint?: () => Promise<void>;
}

export interface DaemonStatus {
  pid: number;
  configPath: string;
  startedAt: string;
  uptimeMs: number;
  instances: InstanceStatus[];
  /** vrrp_sync_groups: the group's state and its members' (keepalived's GROUP state). */
  groups: { name: string; state: GroupState; members: { name: string; state: string }[] }[];
  wire: WireHub['stats'];
  /** Received packets dropped or not acted on, by reason, over the hub and every instance (daemon/drop-summary.ts). */
  dropped: DroppedCounters;
  /** Senders named in the log (and `vrrp.intruder` events): at most once a minute per (sender, reason). */
  strangers: { sightings: number; tracked: number; overBudget: number; recent: ReportedSighting[] };
  /** recentMaxMs: the longest delay in the last 5 to 10 s (the others cover the daemon's life). */
  eventLoop: {
    delayP50Ms: number;
    delayP99Ms: number;
    delayMaxMs: number;
    recentMaxMs: number;
    lateTimers: number;
    worstLateMs: number;
    /** Scavenges forced just before a due takeover (daemon/young-generation.ts). */
    scavengesBeforeTakeover: number;
  };
  recentTransitions: (TransitionRecord & { time: string })[];
  reloads: { ok: number; refused: number };
  events: DaemonEventsStatus;
  /** Notify scripts waiting or running, and notify_fifo lines written / dropped (pipe full). */
  notify: { pending: number; fifos: { path: string; written: number; dropped: number }[] };
  /** vrrp_scripts being run: health and check counters. */
  trackScripts: TrackScriptStatus[];
  /** track_files being watched: current value. */
  trackFiles: TrackFileStatus[];
  /** vrrp_track_processes being counted: matching processes and quorum. */
  trackProcesses: TrackProcessStatus[];
  /** virtual_servers: quorum, real servers, their checkers' state, weight and last failure. */
  checks: ChecksStatus;
  /** The load-balancer rules: backend, what was applied last, services refused; counters in control-socket answers. */
  lb: LoadBalancerStatus;
  /** Keywords of the config vipflow parses but does not act on yet: `keyword (file:line)`, as loaded at start. */
  notActedOn: string[];
}

/** The event side: the publisher's counters and recent events, and the split-brain watch. */
export type DaemonEventsStatus = EventPublisherStatus & { splitBrain: SplitBrainStatus; members?: ClusterMember[] };

export type DaemonStartResult = { ok: true; daemon: Daemon } | { ok: false; message: string; diagnostics?: Diagnostic[] };

/** Debian's nft, which handover_drain runs. */
const NFT = '/usr/sbin/nft';
const RECENT_TRANSITIONS = 100;
// At stop, notify_stop scripts get this long before their process groups are
// killed (keepalived gives its stop scripts 1 s; a little more for loaded hosts).
const NOTIFY_STOP_GRACE_MS = 3000;

function logWarnings(log: Logger, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) {
    if (d.severity === 'warning') log.warn({ file: d.file, line: d.line, column: d.column }, d.message);
  }
}

/** The load left out vrrp_scripts this host cannot run (infra/config/load-on-host.ts): their instances run without them. */
function warnDisabledScripts(log: Logger, loaded: LoadConfigResult): void {
  if (loaded.disabledScripts?.length)
    log.warn(
      { scripts: loaded.disabledScripts },
      'vrrp_scripts that cannot run on this host are disabled, as keepalived disables them: their instances run without them',
    );
}

interface DaemonHistograms {
  timing: TimingMetrics;
  workflows: WorkflowMetrics;
}

/** The histograms /metrics serves, with prom-client (about 12 MiB of RSS) imported only now. */
async function loadHistograms(): Promise<DaemonHistograms> {
  const [{ TimingMetrics }, { WorkflowMetrics }] = await Promise.all([import('./timing-metrics.js'), import('./workflow-metrics.js')]);
  return { timing: new TimingMetrics(), workflows: new WorkflowMetrics() };
}

/**
 * The command line's event settings, with NATS servers from the config's `vipflow.nats.url` when the command line names none,
 * and the credentials and signing key of the command line over the config's.
 */
export function eventSettings(options: DaemonOptions, config: VipflowConfig): DaemonEventSettings {
  const natsUrl = options.events?.natsServers ?? config.vipflow.nats?.url;
  const domain = options.events?.natsDomain ?? config.vipflow.nats?.domain;
  if (!natsUrl) return { ...options.events };
  const n = config.vipflow.nats;
  const stream = options.events?.natsStream ?? {
    ...(n?.replicas !== undefined ? { replicas: n.replicas } : {}),
    ...(n?.maxAge !== undefined ? { maxAgeMs: n.maxAge * 1000 } : {}),
  };
  const cli = options.natsCli ?? {};
  const security = natsSecurityFrom(cli, config.vipflow.nats, options.configPath);
  const signingKeyFile = signingKeyFileFrom(cli.natsSigningKey, config.vipflow.nats, options.configPath);
  return {
    ...options.events,
    natsServers: natsUrl,
    ...(domain !== undefined ? { natsDomain: domain } : {}),
    ...(Object.keys(stream).length > 0 ? { natsStream: stream } : {}),
    ...(Object.keys(security).length > 0 ? { natsSecurity: security } : {}),
    ...(signingKeyFile ? { signingKeyFile } : {}),
  };
}

/**
 * A NATS secret file that is missing, unreadable, world-readable or malformed: a
 * configuration error refused at start, as an unreadable HTTP auth file is (a server
 * refusing good-looking credentials is not: the daemon runs and retries). The NATS
 * client is imported only when NATS is configured.
 */
async function natsSettingsProblem(s: DaemonEventSettings): Promise<string | undefined> {
  if (!s.natsServers) return undefined;
  const { natsConnectionOptions, readSeed } = await import('../infra/events/nats-connect.js');
  const o = natsConnectionOptions({ servers: s.natsServers, name: 'vipflow', ...s.natsSecurity });
  if (!o.ok) return o.message;
  if (s.signingKeyFile) {
    const seed = readSeed(s.signingKeyFile, 'event signing key');
    if ('problem' in seed) return seed.problem;
  }
  return undefined;
}

function errorsOf(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.filter((d) => d.severity === 'error');
}

export class Daemon {
  // The parts (each in its own module); the daemon wires them and owns the order of start and stop.
  private readonly hub: WireHub;
  /** The takeover timers' last stretch, slept to the microsecond; null when no timerfd could be made. */
  private readonly wakeups: PreciseWakeups | null;
  private readonly youngGeneration: YoungGenerationSweeper | null;
  /** What the loaded config asks for that vipflow does not act on yet (for the status). */
  private notActedOn: string[] = [];
  private reloadedNotActedOn: string[] = [];
  private readonly instances: Instances;
  private readonly links: LinkMonitor;
  private readonly trackers: Trackers;
  /** Checkers and load balancer, loaded with the first virtual server. */
  private readonly virtualServers: VirtualServers;
  private readonly reloader: Reloader;
  private readonly events: EventPublisher;
  private readonly fence: SplitBrainFence;
  private readonly cluster: ClusterView;
  private readonly workflows: WorkflowHost;
  private readonly notifier: KeepalivedNotifier;
  private control: ControlServer | null = null;
  // What the status reports beside the parts' own counters.
  private readonly lateStats: LateTimerStats = { late: 0, worstLateMs: 0 };
  /** Takeover and advert-jitter histograms (daemon/timing-metrics.ts), served by /metrics; absent when nothing serves them. */
  readonly timing: TimingMetrics | undefined;
  private readonly workflowMetrics: WorkflowMetrics | undefined;
  /** Histograms observed as things happen, which /metrics serves after the status metrics. */
  readonly metricRegistries: readonly Registry[];
  private readonly loopDelay: LoopDelayMonitor;
  private readonly heapTrim: HeapTrimmer;
  /** vrrp_rt_priority and vrrp_cpu_slice: the main thread's scheduling, set at start and on reload. */
  private readonly scheduling: VrrpThreadScheduling;
  private readonly recent: (TransitionRecord & { time: string })[] = [];
  private readonly transitionListeners: ((t: TransitionRecord) => void)[] = [];
  private readonly startedAt = new Date();
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly options: DaemonOptions,
    private config: VipflowConfig,
    private readonly configLoader: OffThreadConfigLoader,
    lbBackend: LbBackendName,
    bus: EventBus,
    metrics: DaemonHistograms | undefined,
  ) {
    const log = options.log;
    this.timing = metrics?.timing;
    this.workflowMetrics = metrics?.workflows;
    this.metricRegistries = metrics ? [metrics.timing.registry, metrics.workflows.registry] : [];
    this.hub = new WireHub(log.child({ component: 'wire' }), openVrrpSocket, new StrangerReporter(() => performance.now(), STRANGER_LIMITS, 20, neighbourMac));
    const vipOps = netlinkVipOps(log.child({ component: 'vip' }));
    const hub = this.hub;
    const wakeups = (this.wakeups = openPreciseWakeups(log.child({ component: 'timers' })));
    const sweeper = (this.youngGeneration = openYoungGenerationSweeper(log.child({ component: 'timers' })));
    const clock = watchedClock(
      log.child({ component: 'timers' }),
      this.lateStats,
      {
        beforeFire: () => hub.drainAll(),
        beforeWait: (leftMs) => prepareTakeover(leftMs, sweeper, () => this.instances.warmTakeover()),
        ...wakeups?.waker(),
      },
      (lateMs) => this.loopDelay.note(lateMs),
      wakeups?.waker(PACE_SLACK_MS) ?? null,
    );
    const announceIo = hostAnnounceIo();
    this.instances = new Instances({
      log,
      hub: this.hub,
      vipOps,
      announceIo,
      clock,
      tracked: (config) => this.trackers.view(config),
      fencing: () => this.fence.fencing,
      onTransition: (t, runner) => {
        this.recordTransition(t);
        // Only enqueues: notify scripts never delay the VRRP path.
        this.notifier.transition(t);
        this.fence.transition(t);
        this.events.transition(t, runner.plan.source, () => runner.tracksDown());
      },
      onWaiting: (t) => {
        this.recordTransition(t);
        this.notifier.transition(t);
      },
      onGroupTransition: (t) => this.onGroupTransition(t),
      onStarted: (plan, host) => this.links.follow(plan, host),
      vmacLinks: hostVmacLinks(log.child({ component: 'vmac' })),
      acceptFirewall: hostAcceptModeFirewall(log.child({ component: 'accept-mode' })),
      ...(this.timing ? { timing: this.timing } : {}),
      ...(existsSync(NFT) ? { nft: nftCommand(NFT) } : {}),
    });
    this.links = new LinkMonitor({
      log,
      runners: () => this.instances.eachRunner(),
      events: () => this.events,
      addressesChanged: (has) => this.virtualServers.addressesChanged(has),
      // dynamic_interfaces: instances wait in FAULT for their interface, and go back to waiting when it is deleted.
      hostChanged: (messages) => {
        // A MAC, index or link-local read for gratuitous ARP / NA may have changed with it.
        if (messages === null || messages.some(affectsAnnouncements)) announceIo.forget();
        if (this.config.global.dynamicInterfaces || this.instances.waiting.size > 0) void this.instances.interfacesChanged(readHostInterfaces);
      },
    });
    this.virtualServers = new VirtualServers({ log, lb: options.lb ?? 'auto', notifier: () => this.notifier, events: () => this.events });
    this.trackers = new Trackers({
      log,
      config: () => this.config,
      runners: () => this.instances.runners.values(),
      drivenGroup: (name) => this.instances.groups.has(name),
      events: () => this.events,
      prepareScript: (spec) => this.notifier.prepareScript(spec.script, spec.argv[0]!),
    });
    this.reloader = new Reloader({
      log,
      load: async () => {
        const loaded = await configLoader.load(options.configPath, {
          configIds: options.configIds,
          lbBackend,
          running: this.config,
          hostInterfaces: interfaceAddressMap(readHostInterfaces()),
        });
        warnDisabledScripts(log, loaded);
        // A reloaded file warns as loudly as the one read at start; its not-acted-on list replaces the old one once applied.
        logWarnings(log, loaded.diagnostics);
        this.reloadedNotActedOn = notActedOn(loaded.diagnostics);
        return loaded;
      },
      configPath: options.configPath,
      instances: this.instances,
      trackers: this.trackers,
      checks: this.virtualServers,
      config: () => this.config,
      switchTo: (next) => {
        this.config = next;
        this.notActedOn = this.reloadedNotActedOn;
        this.scheduling.apply(next.global);
      },
      events: () => this.events,
      stopping: () => this.stopping !== null,
    });
    // The VRRP timers' lateness and a tick a second (daemon/loop-delay.ts); late VRRP timers are also counted apart.
    this.loopDelay = new LoopDelayMonitor();
    this.heapTrim = new HeapTrimmer(log.child({ component: 'memory' }));
    this.scheduling = new VrrpThreadScheduling(log.child({ component: 'scheduling' }));
    const settings = eventSettings(options, config);
    const named = () => [...this.instances.runners].map(([name, r]) => ({ name, runner: r.runner }));
    this.events = new EventPublisher(settings, options.stateDir, log, named, bus);
    this.hub.strangers.onReport((s) => this.events.intruder({ ...s, family: s.family === 4 ? 'ipv4' : 'ipv6' }));
    this.fence = new SplitBrainFence({
      bus: this.events.bus,
      node: this.events.node,
      log: this.events.log,
      policy: settings.splitBrainPolicy,
      graceIntervals: settings.splitBrainGraceIntervals,
      heartbeatMs: settings.heartbeatMs,
      runners: named,
      publish: (data) => this.events.splitBrain(data),
    });
    this.cluster = new ClusterView(this.events.bus, settings.heartbeatMs);
    this.workflows = new WorkflowHost({
      bus: this.events.bus,
      source: this.events.source,
      log: this.events.log,
      workflowsFile: settings.workflowsFile,
      onFinished: (r) => this.workflowMetrics?.add(r),
      onReplayDone: () => this.events.bus.forgetHistory?.(),
    });
    this.notifier = new KeepalivedNotifier({
      log,
      config: () => this.config,
      ...(options.notifyTimeoutMs !== undefined ? { timeoutMs: options.notifyTimeoutMs } : {}),
    });
  }

  /**
   * Loads the configuration and starts every instance. Refuses to start
   * (as a value) on configuration errors, on another live daemon using the
   * same state dir, or when an instance cannot be planned or joined.
   */
  static async start(options: DaemonOptions): Promise<DaemonStartResult> {
    const log = options.log;
    const configLoader = new OffThreadConfigLoader(log.child({ component: 'config' }));
    // What the load balancer cannot run is a configuration error: refused before any rule is written.
    const lbBackend = lbBackendName(options.lb ?? 'auto');
    // Read once: the config is checked against these interfaces and the instances are planned on them.
    const host = readHostInterfaces();
    const loaded = await configLoader.load(options.configPath, { configIds: options.configIds, lbBackend, hostInterfaces: interfaceAddressMap(host) });
    warnDisabledScripts(log, loaded);
    const refuse = async (r: DaemonStartResult): Promise<DaemonStartResult> => (await configLoader.close(), r);
    logWarnings(log, loaded.diagnostics);
    if (loaded.unreadable) return refuse({ ok: false, message: `cannot read ${options.configPath}`, diagnostics: loaded.diagnostics });
    if (!loaded.model || errorsOf(loaded.diagnostics).length > 0)
      return refuse({ ok: false, message: `configuration ${options.configPath} has errors`, diagnostics: errorsOf(loaded.diagnostics) });
    const events = eventSettings(options, loaded.model);
    const natsProblem = await natsSettingsProblem(events);
    if (natsProblem !== undefined) return refuse({ ok: false, message: natsProblem });

    mkdirSync(options.stateDir, { recursive: true, mode: 0o750 });
    const pidFile = join(options.stateDir, 'vipflow.pid');
    const other = readLivePid(pidFile);
    if (other !== null && other !== process.pid)
      return refuse({ ok: false, message: `another vipflow (pid ${other}) runs with state dir ${options.stateDir}; use another --state-dir or stop it` });
    writeFileSync(pidFile, `${process.pid}\n`);

    const bus = await EventPublisher.openBus(events, options.stateDir, log);
    const served = options.servesMetrics === true || loaded.model.vipflow.http?.listen !== undefined;
    const [metrics] = served ? await Promise.all([loadHistograms(), options.prepareEndpoint?.()]) : [undefined];
    const daemon = new Daemon(options, loaded.model, configLoader, lbBackend, bus, metrics);
    daemon.notActedOn = notActedOn(loaded.diagnostics);
    daemon.startEvents(loaded.model);
    // Files and processes are read first: instances start from their values, as in keepalived.
    daemon.trackers.start(loaded.model, { reload: false });
    // handover_drain tables a crashed run left would forward or hide VIPs: gone before any instance starts.
    if (existsSync(NFT)) await sweepHandoverTables(nftCommand(NFT), log.child({ component: 'handover' }));
    const started = daemon.instances.startAll(loaded.model, host);
    if (!started.ok) {
      await daemon.shutdown();
      return { ok: false, message: started.message };
    }
    daemon.trackers.startScripts(loaded.model, { reload: false });
    // After the instances: a checker never goes before VRRP. ha_suspend settles when links.start reads the addresses.
    await daemon.virtualServers.start(loaded.model);
    daemon.control = await ControlServer.listen(join(options.stateDir, 'control.sock'), log.child({ component: 'control' }), {
      status: () => daemon.statusWithCounters(),
    });
    daemon.links.start();
    daemon.heapTrim.start();
    // Last: starting the instances runs well past vrrp_rlimit_rttime without a blocking call.
    daemon.scheduling.apply(loaded.model.global);
    log.info({ instances: daemon.instances.runners.size, stateDir: options.stateDir, config: options.configPath }, 'vipflow running');
    return { ok: true, daemon };
  }

  /** daemon.start, then the drop summaries, the split-brain watch and the workflows. */
  private startEvents(config: VipflowConfig): void {
    this.events.start(
      this.options.configPath,
      config.vrrpInstances.map((i) => i.name),
    );
    this.fence.start(Math.min(1000, fastestAdvertMs(config)));
    this.cluster.start();
    this.workflows.start(this.options.configPath, Object.fromEntries(config.vrrpSyncGroups.map((g) => [g.name, g.group])), config.vipflow);
  }

  /**
   * After the instances: their last transitions (to stopped) are out. Only
   * daemon.stop is published from here; running workflows finish (STOP
   * workflows run like keepalived's notify_stop), then daemon.stop goes out and
   * the bus closes.
   */
  private async stopEvents(reason: string, uptimeMs: number): Promise<void> {
    this.events.seal();
    this.fence.stop();
    this.cluster.stop();
    await this.workflows.stop(this.options.events?.stopFlushMs ?? 2000);
    await this.events.stop(reason, uptimeMs);
  }

  /** vipflow's own settings of the running configuration (the HTTP endpoint reads vipflow.http). */
  get settings(): VipflowSettings {
    return this.config.vipflow;
  }

  onTransition(listener: (t: TransitionRecord) => void): void {
    this.transitionListeners.push(listener);
  }

  /** Each instance's state (waiting ones in fault): systemd's READY waits until none is in Initialize. */
  instanceStates(): { name: string; state: string }[] {
    return this.instances.status().instances.map((i) => ({ name: i.name, state: i.state }));
  }

  status(): DaemonStatus {
    const loop = this.loopDelay.readings();
    const instances = this.instances.status();
    const wire = this.hub.stats;
    return {
      pid: process.pid,
      configPath: this.options.configPath,
      startedAt: this.startedAt.toISOString(),
      uptimeMs: Date.now() - this.startedAt.getTime(),
      ...instances,
      wire,
      dropped: droppedByReason(wire, instances.instances),
      strangers: this.hub.strangers.stats(),
      eventLoop: {
        ...loop,
        lateTimers: this.lateStats.late,
        worstLateMs: Math.round(this.lateStats.worstLateMs * 1000) / 1000,
        scavengesBeforeTakeover: this.youngGeneration?.stats.sweeps ?? 0,
      },
      recentTransitions: [...this.recent],
      reloads: { ...this.reloader.counts },
      events: this.eventsStatus(),
      notify: { pending: this.notifier.pending(), fifos: this.notifier.fifoStats() },
      ...this.trackers.status(),
      ...this.virtualServers.status(),
      notActedOn: [...this.notActedOn],
    };
  }

  /** The status with the load balancer's counters read from the kernel (bounded): what `vipflow status` shows. */
  async statusWithCounters(): Promise<DaemonStatus> {
    const status = this.status();
    const counters = await this.virtualServers.counters().catch(() => undefined);
    return counters === undefined ? status : { ...status, lb: { ...status.lb, counters } };
  }

  private eventsStatus(): DaemonEventsStatus {
    const { recent, ...counters } = this.events.status();
    const members = this.cluster.members();
    return { ...counters, splitBrain: this.fence.status(), ...(members ? { members } : {}), recent };
  }

  /** SIGUSR1: the status as JSON in the state dir, and in the log. */
  dump(): string {
    const status = this.status();
    const path = join(this.options.stateDir, 'vipflow.dump.json');
    writeFileSync(path, JSON.stringify(status, null, 2) + '\n');
    this.options.log.info({ dump: path, status }, 'status dump written');
    return path;
  }

  /** SIGHUP: loads the file again and applies it (reload.ts). */
  reload(): Promise<ReloadResult> {
    return this.reloader.reload();
  }

  /** Graceful stop of every instance (make-before-break for Masters), then the daemon's own resources. */
  shutdown(reason = 'shutdown'): Promise<void> {
    this.stopping ??= (async () => {
      this.links.stop();
      // No health changes while instances hand over.
      this.trackers.stop();
      // keepalived stops its checkers with the VRRP instances (omega's scripts go on the notify queue closed below),
      // and clear_services: the rules go with the daemon.
      await this.virtualServers.stop().catch((err: unknown) => this.options.log.error({ err }, 'load-balancer clean-up failed'));
      // keepalived notifies STOP for its instances, then for its groups.
      await this.instances.stopAll();
      await this.notifier.close(NOTIFY_STOP_GRACE_MS).catch((err: unknown) => this.options.log.error({ err }, 'notify close failed'));
      // After the instances: their last transitions (to stopped) go out before daemon.stop.
      await this.stopEvents(reason, Date.now() - this.startedAt.getTime()).catch((err: unknown) => this.options.log.error({ err }, 'event bus close failed'));
      this.hub.close();
      this.wakeups?.close();
      await this.control?.close();
      this.loopDelay.stop();
      this.heapTrim.stop();
      await this.configLoader.close();
      rmSync(join(this.options.stateDir, 'vipflow.pid'), { force: true });
      this.options.log.info('vipflow stopped');
    })();
    return this.stopping;
  }

  /** Group transitions go to the keepalived-compatible hooks (GROUP notify scripts and FIFO lines). */
  private onGroupTransition(t: GroupTransition): void {
    this.notifier.groupTransition(t.group, t.to);
    this.events.groupTransition(t);
  }

  private recordTransition(t: TransitionRecord): void {
    this.recent.push({ ...t, time: new Date().toISOString() });
    if (this.recent.length > RECENT_TRANSITIONS) this.recent.shift();
    for (const l of this.transitionListeners) {
      try {
        l(t);
      } catch (err) {
        this.options.log.error({ err }, 'transition listener failed');
      }
    }
  }
}

function readLivePid(pidFile: string): number | null {
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** The shortest advert interval configured (ms; Infinity without instances). */
function fastestAdvertMs(config: VipflowConfig): number {
  return Math.min(...config.vrrpInstances.map((i) => i.advertInt * 1000));
}
