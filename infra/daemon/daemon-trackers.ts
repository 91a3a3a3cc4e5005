/**
 * The daemon's track_file and vrrp_track_process side: runs the file watcher
 * and the process counter for what the configuration tracks, and tells every
 * instance tracking a file or process (directly or through its sync group)
 * when its value or quorum changes.
 */
import type { Logger } from '../logger.js';
import type { TrackFile, TrackProcess, VipflowConfig, VrrpInstance } from '../../config/model.js';
import type { DaemonEvents } from './daemon-events.js';
import type { InstanceRunner } from './instance-runner.js';
import { fileRefsOf, fileTrack, processRefsOf, processTrack, type FilesView, type ProcessesView } from './plan-trackers.js';
import { syncGroupOf } from './plan.js';
import { TrackFiles, type TrackFileStatus } from './track-files.js';
import { TrackProcesses, type TrackProcessStatus } from './track-processes.js';

export interface TrackersDeps {
  log: Logger;
  config: () => VipflowConfig;
  runners: () => Iterable<{ config: VrrpInstance; runner: InstanceRunner }>;
  /** Sync groups the daemon drives (a group added by a reload is not one yet). */
  drivenGroup: (name: string) => boolean;
  events: () => DaemonEvents | null;
}

export class FileProcessTrackers {
  private readonly files: TrackFiles;
  private readonly processes: TrackProcesses;

  constructor(private readonly d: TrackersDeps) {
    this.files = new TrackFiles({ log: d.log, onValue: (name) => this.changed('file', name) });
    this.processes = new TrackProcesses({ log: d.log, onQuorum: (name) => this.changed('process', name) });
  }

  /** Starts watching what `config` tracks; values and counts are read before it returns, so plans start from them. */
  start(config: VipflowConfig, opts: { reload: boolean }): void {
    const used = usedNames(config);
    const changed = (running: { name: string }[], defs: readonly { name: string }[], old: readonly { name: string }[]) =>
      defs.filter((d) => running.some((r) => r.name === d.name) && JSON.stringify(d) !== JSON.stringify(old.find((o) => o.name === d.name))).map((d) => d.name);
    if (opts.reload) {
      const prev = this.d.config();
      const c = [...changed(this.files.status(), config.trackFiles, prev.trackFiles), ...changed(this.processes.status(), config.trackProcesses, prev.trackProcesses)];
      if (c.length > 0) this.d.log.warn({ tracked: c }, 'track_file / vrrp_track_process changes take effect at the next restart: the running ones are kept');
    }
    this.files.start(config.trackFiles.filter((f) => used.files.has(f.name)), opts);
    this.processes.start(config.trackProcesses.filter((p) => used.processes.has(p.name)));
  }

  stop(): void {
    this.files.stop();
    this.processes.stop();
  }

  filesView(config: VipflowConfig): FilesView {
    return { defs: config.trackFiles, value: (name) => this.files.value(name) };
  }

  processesView(config: VipflowConfig): ProcessesView {
    return { defs: config.trackProcesses, quorum: (name) => this.processes.quorum(name) };
  }

  status(): { trackFiles: TrackFileStatus[]; trackProcesses: TrackProcessStatus[] } {
    return { trackFiles: this.files.status(), trackProcesses: this.processes.status() };
  }

  /** A file's value or a process's quorum changed: every instance planned with it is told. */
  private changed(kind: 'file' | 'process', name: string): void {
    const config = this.d.config();
    for (const { config: inst, runner } of this.d.runners()) {
      const group = syncGroupOf(config, inst.name);
      const driven = group && this.d.drivenGroup(group.name) ? group : undefined;
      const hasOwner = driven !== undefined && groupHasOwner(config, driven.name);
      const t =
        kind === 'file'
          ? fileRefsOf(inst, driven, hasOwner, config.trackFiles)
              .filter((r) => r.name === name)
              .map((r) => fileTrack(r, this.files.value(name) ?? 0))[0]
          : processRefsOf(inst, driven, hasOwner, config.trackProcesses)
              .filter((r) => r.name === name)
              .map((r) => processTrack(r, this.processes.quorum(name) ?? false))[0];
      if (!t || !runner.plan.machine.tracks?.some((p) => p.id === t.id)) continue;
      runner.track(t.id, t.up, 'offset' in t ? t.offset : undefined);
      this.d.events()?.trackChange({ instance: inst.name, track: t.id, kind, up: t.up, weight: t.weight, effectivePriority: runner.status().effectivePriority });
    }
  }
}

/** Whether a sync group has an address owner (priority 255) among its members. */
export function groupHasOwner(config: Pick<VipflowConfig, 'vrrpSyncGroups' | 'vrrpInstances'>, group: string): boolean {
  const members = config.vrrpSyncGroups.find((g) => g.name === group)?.group ?? [];
  return config.vrrpInstances.some((i) => members.includes(i.name) && i.priority === 255);
}

/** The track_files and vrrp_track_processes some instance or sync group tracks: keepalived watches only those. */
function usedNames(config: VipflowConfig): { files: Set<string>; processes: Set<string> } {
  const files = new Set<string>();
  const processes = new Set<string>();
  for (const o of [...config.vrrpInstances, ...config.vrrpSyncGroups]) {
    for (const r of o.trackFiles) files.add(r.name);
    for (const r of o.trackProcesses) processes.add(r.name);
  }
  return { files, processes };
}

export type { TrackFileStatus, TrackProcessStatus, TrackFile, TrackProcess };
