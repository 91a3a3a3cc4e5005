/**
 * The daemon's tracked scripts, files and processes: runs the vrrp_script
 * checks, the file watcher and the process counter for what the configuration
 * tracks, and tells every instance tracking one (directly or through its sync
 * group) when its health, value or quorum changes.
 */
import type { Logger } from '../core/logger.js';
import type { SyncGroup, TrackFile, TrackProcess, VipflowConfig, VrrpInstance } from '../config/model.js';
import { splitCommandLine, type Prepared } from '../notifiers/keepalived-notify/index.js';
import type { EventPublisher } from './event-publisher.js';
import type { TrackedNames } from '../infra/vrrp/reload-plan.js';
import type { InstanceRunner } from '../infra/vrrp/instance-runner.js';
import { fileRefsOf, fileTrack, processRefsOf, processTrack } from '../infra/track/plan.js';
import { scriptRefsOf, scriptTrack, syncGroupOf, type ScriptsView } from '../infra/vrrp/plan.js';
import { TrackScripts, type TrackScriptSpec, type TrackScriptStatus } from '../infra/track/scripts.js';
import { TrackFiles, type TrackFileStatus } from '../infra/track/files.js';
import { TrackProcesses, type TrackProcessStatus } from '../infra/track/processes.js';

export interface TrackersDeps {
  log: Logger;
  config: () => VipflowConfig;
  runners: () => Iterable<{ config: VrrpInstance; runner: InstanceRunner }>;
  /** Sync groups the daemon drives (a group added by a reload is not one yet). */
  drivenGroup: (name: string) => boolean;
  events: () => Pick<EventPublisher, 'trackChange'> | null;
  /** Who runs a vrrp_script and whether script security lets it (as for notify scripts). */
  prepareScript: (spec: TrackScriptSpec) => Prepared;
}

type Kind = 'script' | 'file' | 'process';

export class Trackers {
  private readonly scripts: TrackScripts;
  private readonly files: TrackFiles;
  private readonly processes: TrackProcesses;

  constructor(private readonly d: TrackersDeps) {
    this.scripts = new TrackScripts({ log: d.log, prepare: d.prepareScript, onHealth: (name) => this.changed('script', name) });
    this.files = new TrackFiles({ log: d.log, onValue: (name) => this.changed('file', name) });
    this.processes = new TrackProcesses({ log: d.log, onQuorum: (name) => this.changed('process', name) });
  }

  /** Starts watching what `config` tracks; values and counts are read before it returns, so plans start from them. */
  start(config: VipflowConfig, opts: { reload: boolean }, changed?: Pick<TrackedNames, 'files' | 'processes'>): void {
    const used = usedNames(config);
    // A changed definition is watched again from scratch: its value or count is read anew before the instances plan with it.
    if (changed && changed.files.length > 0) {
      this.files.forget(changed.files);
      this.d.log.info({ trackFiles: changed.files }, 'track_file definitions changed by reload: read again');
    }
    if (changed && changed.processes.length > 0) {
      this.processes.forget(changed.processes);
      this.d.log.info({ trackProcesses: changed.processes }, 'vrrp_track_process definitions changed by reload: counted again');
    }
    this.files.start(
      config.trackFiles.filter((f) => used.files.has(f.name)),
      opts,
    );
    this.processes.start(config.trackProcesses.filter((p) => used.processes.has(p.name)));
  }

  /**
   * Starts the vrrp_script checks, after the instances: their first results must
   * find the instances. On a reload, running scripts keep their health (restarting
   * one would reset it and could flap its instances); a changed definition runs
   * from here with the health it had (keepalived's clear_diff_script), a newly
   * tracked script starts.
   */
  startScripts(config: VipflowConfig, opts: { reload: boolean }, changed: readonly string[] = []): void {
    const used = usedNames(config).scripts;
    const running = this.scripts.status();
    if (opts.reload) {
      const c = changed.filter((n) => used.has(n) && running.some((r) => r.name === n));
      if (c.length > 0) {
        this.scripts.replace(trackScriptSpecs(config, new Set(c), this.d.log));
        this.d.log.info({ scripts: c }, 'vrrp_script definitions changed by reload: running with the new ones, health kept');
      }
    } else {
      const unused = config.vrrpScripts.filter((d) => !used.has(d.name)).map((d) => d.name);
      if (unused.length > 0) this.d.log.info({ scripts: unused }, 'vrrp_scripts not tracked by any instance are not run');
    }
    const wanted = [...used].filter((n) => !running.some((r) => r.name === n));
    this.scripts.start(trackScriptSpecs(config, new Set(wanted), this.d.log));
  }

  stop(): void {
    this.scripts.stop();
    this.files.stop();
    this.processes.stop();
  }

  /** What planInstance needs to plan an instance's tracked scripts, files and processes. */
  view(config: VipflowConfig): ScriptsView {
    return {
      defs: config.vrrpScripts,
      health: (name) => this.scripts.health(name),
      files: { defs: config.trackFiles, value: (name) => this.files.value(name) },
      processes: { defs: config.trackProcesses, quorum: (name) => this.processes.quorum(name) },
      groupHasOwner: (group) => groupHasOwner(config, group),
    };
  }

  status(): { trackScripts: TrackScriptStatus[]; trackFiles: TrackFileStatus[]; trackProcesses: TrackProcessStatus[] } {
    return { trackScripts: this.scripts.status(), trackFiles: this.files.status(), trackProcesses: this.processes.status() };
  }

  /** A script's health, a file's value or a process's quorum changed: every instance planned with it is told. */
  private changed(kind: Kind, name: string): void {
    const config = this.d.config();
    for (const { config: inst, runner } of this.d.runners()) {
      const group = syncGroupOf(config, inst.name);
      const driven = group && this.d.drivenGroup(group.name) ? group : undefined;
      const t = this.trackOf(kind, name, config, inst, driven);
      // The planned object carries the weight the instance runs with (a sync group may have zeroed it).
      const planned = t && runner.plan.machine.tracks?.find((p) => p.id === t.id);
      if (!t || !planned) continue;
      runner.track(t.id, t.up, 'offset' in t ? t.offset : undefined);
      this.d
        .events()
        ?.trackChange({ instance: inst.name, track: t.id, kind, up: t.up, weight: planned.weight, effectivePriority: runner.status().effectivePriority });
    }
  }

  private trackOf(kind: Kind, name: string, config: VipflowConfig, inst: VrrpInstance, driven: SyncGroup | undefined) {
    if (kind === 'script') {
      const def = config.vrrpScripts.find((d) => d.name === name);
      const ref = scriptRefsOf(inst, driven).find((r) => r.name === name);
      return def && ref ? scriptTrack(ref, def, this.scripts.health(name)) : undefined;
    }
    const hasOwner = driven !== undefined && groupHasOwner(config, driven.name);
    if (kind === 'file') {
      const ref = fileRefsOf(inst, driven, hasOwner, config.trackFiles).find((r) => r.name === name);
      return ref && fileTrack(ref, this.files.value(name) ?? 0);
    }
    const ref = processRefsOf(inst, driven, hasOwner, config.trackProcesses).find((r) => r.name === name);
    return ref && processTrack(ref, this.processes.quorum(name) ?? false);
  }
}

function trackScriptSpecs(config: VipflowConfig, names: ReadonlySet<string>, log: Logger): TrackScriptSpec[] {
  const specs: TrackScriptSpec[] = [];
  for (const d of config.vrrpScripts) {
    if (!names.has(d.name)) continue;
    const argv = splitCommandLine(d.script.command);
    if (!argv.ok) {
      log.error({ script: d.name, err: argv.message }, 'vrrp_script not run: bad command line (counted as failing)');
      continue;
    }
    specs.push({
      name: d.name,
      argv: argv.argv,
      script: d.script,
      intervalMs: Math.round(d.interval * 1000),
      timeoutMs: Math.round((d.timeout ?? d.interval) * 1000),
      rise: d.rise,
      fall: d.fall,
      initFail: d.initFail,
    });
  }
  return specs;
}

/** Whether a sync group has an address owner (priority 255) among its members. */
export function groupHasOwner(config: Pick<VipflowConfig, 'vrrpSyncGroups' | 'vrrpInstances'>, group: string): boolean {
  const members = config.vrrpSyncGroups.find((g) => g.name === group)?.group ?? [];
  return config.vrrpInstances.some((i) => members.includes(i.name) && i.priority === 255);
}

/** The vrrp_scripts, track_files and vrrp_track_processes some instance or sync group tracks: keepalived runs only those. */
function usedNames(config: VipflowConfig): { scripts: Set<string>; files: Set<string>; processes: Set<string> } {
  const scripts = new Set<string>();
  const files = new Set<string>();
  const processes = new Set<string>();
  for (const o of [...config.vrrpInstances, ...config.vrrpSyncGroups]) {
    for (const r of o.trackScripts) scripts.add(r.name);
    for (const r of o.trackFiles) files.add(r.name);
    for (const r of o.trackProcesses) processes.add(r.name);
  }
  return { scripts, files, processes };
}

export type { TrackFileStatus, TrackProcessStatus, TrackFile, TrackProcess };
