/**
 * track_file and track_process references planned into tracked objects, with
 * keepalived 2.2.7's weight rules (vrrp_complete_instance and
 * sync_group_tracking_init in keepalived/vrrp/vrrp.c). Pure.
 */
import type { TrackedObjectInput } from '../../actors/vrrp/index.js';
import type { SyncGroup, TrackFile, TrackProcess, TrackRef, VrrpInstance } from '../../config/model.js';
import { fileEffect } from '../../actors/track-file/index.js';

/** What planInstance needs to know of track_files: definitions and current values (not read yet counts as 0). */
export interface FilesView {
  defs: readonly TrackFile[];
  value(name: string): number | undefined;
}

/** What planInstance needs to know of vrrp_track_processes: definitions and current quorum (unknown counts as none). */
export interface ProcessesView {
  defs: readonly TrackProcess[];
  quorum(name: string): boolean | undefined;
}

/** A track_file or track_process reference with keepalived's weight rules applied. */
export interface ResolvedRef<D> {
  name: string;
  /** undefined: the reference names nothing defined (a configuration error). */
  def: D | undefined;
  weight: number;
  reverse: boolean;
}

export function fileTrackId(name: string): string {
  return `file:${name}`;
}

export function processTrackId(name: string): string {
  return `process:${name}`;
}

function resolve<D extends { name: string; weight: number; reverse: boolean }>(ref: TrackRef, defs: readonly D[]): ResolvedRef<D> {
  const def = defs.find((d) => d.name === ref.name);
  // A reference's own `weight N [reverse]` replaces the definition's.
  const [weight, reverse] = ref.weight !== undefined ? [ref.weight, ref.reverse] : [def?.weight ?? 0, def?.reverse ?? false];
  return { name: ref.name, def, weight, reverse };
}

/**
 * The track_file references of an instance and its sync group, as keepalived
 * weighs them:
 * - on an instance in a sync group without sync_group_tracking_weight, or on an
 *   address owner, the default weight 1 becomes 0 and any other non-zero weight
 *   drops the reference (keepalived logs "ignoring ... tracked file");
 * - a group's own references keep their weights whatever
 *   sync_group_tracking_weight says, except that a member with priority 255
 *   turns them into weight 0;
 * - a file referenced by both: the group's weight wins unless the instance's is 0.
 */
export function fileRefsOf(inst: VrrpInstance, syncGroup: SyncGroup | undefined, groupHasOwner: boolean, defs: readonly TrackFile[]): ResolvedRef<TrackFile>[] {
  const restricted = (syncGroup !== undefined && !syncGroup.syncGroupTrackingWeight && !syncGroup.globalTracking) || inst.priority === 255;
  const out: ResolvedRef<TrackFile>[] = [];
  for (const ref of inst.trackFiles) {
    if (out.some((r) => r.name === ref.name)) continue;
    const r = resolve(ref, defs);
    if (restricted && r.weight === 1) out.push({ ...r, weight: 0 });
    else if (!restricted || r.weight === 0) out.push(r);
  }
  for (const ref of syncGroup?.trackFiles ?? []) {
    const r = resolve(ref, defs);
    const g = groupHasOwner && r.weight !== 0 ? { ...r, weight: 0 } : r;
    const i = out.findIndex((o) => o.name === ref.name);
    if (i < 0) out.push(g);
    else if (out[i]!.weight !== 0) out[i] = g;
  }
  return out;
}

/**
 * The track_process references of an instance and its sync group. keepalived
 * keeps an instance's process weights even in a sync group; a group's weights
 * become 0 when a member is an address owner. The instance's own reference
 * wins over its group's.
 */
export function processRefsOf(
  inst: VrrpInstance,
  syncGroup: SyncGroup | undefined,
  groupHasOwner: boolean,
  defs: readonly TrackProcess[],
): ResolvedRef<TrackProcess>[] {
  const out: ResolvedRef<TrackProcess>[] = [];
  for (const ref of inst.trackProcesses) if (!out.some((r) => r.name === ref.name)) out.push(resolve(ref, defs));
  for (const ref of syncGroup?.trackProcesses ?? []) {
    if (out.some((r) => r.name === ref.name)) continue;
    const r = resolve(ref, defs);
    out.push(groupHasOwner && r.weight !== 0 ? { ...r, weight: 0 } : r);
  }
  return out;
}

type Weighing = Pick<ResolvedRef<unknown>, 'name' | 'weight' | 'reverse'>;

/** keepalived's multiplier of -1 for reverse (`|| 0`: weight 0 stays 0, not -0). */
function signedWeight(ref: Weighing): number {
  return (ref.reverse ? -ref.weight : ref.weight) || 0;
}

/**
 * The tracked object for a track_file reference at a file value: value-weighted
 * (offset = value × weight, Fault at -254 or below; with weight 0, Fault on a
 * non-zero value, or on zero with reverse). `weight` is informational here.
 */
export function fileTrack(ref: Weighing, value: number): TrackedObjectInput & { up: boolean; offset: number } {
  const e = fileEffect(value, ref.weight, ref.reverse);
  return { id: fileTrackId(ref.name), weight: signedWeight(ref), up: !e.fault, offset: e.offset };
}

/**
 * The tracked object for a track_process reference: up while the process has
 * quorum (while it has not, with reverse) and the weight negated by reverse,
 * which is keepalived's multiplier of -1. Weight 0: Fault while down.
 */
export function processTrack(ref: Weighing, quorum: boolean): TrackedObjectInput & { up: boolean } {
  return { id: processTrackId(ref.name), weight: signedWeight(ref), up: ref.reverse ? !quorum : quorum };
}
