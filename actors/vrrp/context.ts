/**
 * Building the machine's context from its input, and the pure updates the
 * machine applies to it (priority inputs, input validation).
 */
import { effectivePriorityOf, faultCountOf, isValidPriority, PRIORITY_OWNER } from './timing.js';
import { newReplyLimiter } from './reply-limit.js';
import type { TrackedObject, VrrpContext, VrrpCounters, VrrpInput, VrrpMachineInput } from './types.js';

function newCounters(): VrrpCounters {
  return {
    advertsSent: 0,
    advertsReceived: 0,
    advertsDiscarded: 0,
    priorityZeroSent: 0,
    priorityZeroReceived: 0,
    lowerPriorityDiscarded: 0,
    lowerPriorityRepliesSuppressed: 0,
    priorityZeroRepliesSuppressed: 0,
    intervalMismatches: 0,
    transitions: 0,
    becameMaster: 0,
    releasedMaster: 0,
    lastMasterAddress: null,
    lastMasterPriority: null,
  };
}

/**
 * Problems that make an input unusable (the configuration layer should have
 * rejected them). Returns an empty list for a valid input.
 */
export function validateInput(input: VrrpInput): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(input.vrid) || input.vrid < 1 || input.vrid > 255) problems.push(`vrid ${input.vrid} is not 1..255`);
  if (input.version !== 2 && input.version !== 3) problems.push(`version ${String(input.version)} is not 2 or 3`);
  if (input.version === 2 && input.family !== 'ipv4') problems.push('VRRPv2 is IPv4 only');
  if (!isValidPriority(input.priority)) problems.push(`priority ${input.priority} is not 1..255`);
  if (!Number.isInteger(input.advertIntervalCs) || input.advertIntervalCs < 1 || input.advertIntervalCs > 4095)
    problems.push(`advert interval ${input.advertIntervalCs} cs is not 1..4095`);
  else if (input.version === 2 && input.advertIntervalCs % 100 !== 0)
    problems.push(`VRRPv2 advert interval must be whole seconds, got ${input.advertIntervalCs} cs`);
  if (!(input.preemptDelayMs >= 0)) problems.push(`preempt delay ${input.preemptDelayMs} ms is negative`);
  const len = input.family === 'ipv4' ? 4 : 16;
  if (input.primaryAddress.length !== len) problems.push(`primary address has ${input.primaryAddress.length} bytes, ${input.family} needs ${len}`);
  const ids = new Set<string>();
  for (const t of input.tracks ?? []) {
    if (ids.has(t.id)) problems.push(`tracked object ${t.id} listed twice`);
    ids.add(t.id);
    if (!Number.isInteger(t.weight) || t.weight < -254 || t.weight > 254) problems.push(`tracked object ${t.id}: weight ${t.weight} is not -254..254`);
    if (t.offset !== undefined && !Number.isInteger(t.offset)) problems.push(`tracked object ${t.id}: offset ${t.offset} is not an integer`);
  }
  return problems;
}

/**
 * The initial context. Applies keepalived's adjustments for `state MASTER`
 * (nopreempt and preempt_delay do not work with it and are cleared, with a warning
 * reported at START).
 */
export function initialContext(input: VrrpMachineInput): VrrpContext {
  const warnings: string[] = [];
  let preempt = input.preempt;
  let preemptDelayMs = input.preemptDelayMs;
  if (input.initialState === 'MASTER') {
    if (!preempt) {
      warnings.push('nopreempt does not work with initial state MASTER: cleared (as keepalived)');
      preempt = true;
    }
    if (preemptDelayMs > 0) {
      warnings.push('preempt_delay does not work with initial state MASTER: cleared (as keepalived)');
      preemptDelayMs = 0;
    }
  }
  if (!preempt && preemptDelayMs > 0) {
    warnings.push('preempt_delay is incompatible with nopreempt: cleared (as keepalived)');
    preemptDelayMs = 0;
  }
  const tracks: TrackedObject[] = (input.tracks ?? []).map((t) => ({
    id: t.id,
    weight: t.weight,
    up: t.up ?? true,
    ...(t.offset !== undefined ? { offset: t.offset } : {}),
  }));
  return {
    cfg: {
      name: input.name,
      vrid: input.vrid,
      family: input.family,
      version: input.version,
      primaryAddress: input.primaryAddress,
      virtualAddresses: input.virtualAddresses,
      advertIntervalCs: input.advertIntervalCs,
      preempt,
      preemptDelayMs,
      initialState: input.initialState,
      syncGroup: input.syncGroup,
      lowerPrioNoAdvert: input.lowerPrioNoAdvert === true,
      now: input.now,
      configWarnings: warnings,
    },
    basePriority: input.priority,
    effectivePriority: effectivePriorityOf(input.priority, tracks),
    masterAdvertIntervalCs: input.advertIntervalCs,
    tracks,
    faultCount: faultCountOf(tracks),
    masterDownDeadline: 0,
    preemptHold: 'idle',
    lastMismatchCs: null,
    wantMaster: null,
    heardUnaccepted: false,
    stats: newCounters(),
    replies: newReplyLimiter(),
  };
}

/** The priority inputs after a TRACK or SET_PRIORITY event. */
export interface PriorityInputs {
  basePriority: number;
  tracks: readonly TrackedObject[];
  effectivePriority: number;
  faultCount: number;
}

/**
 * Applies a tracked object's new health (and, for a value-weighted object, its
 * new offset). Returns null when the id is unknown.
 * Unchanged health returns the current values (same objects), so callers can
 * compare cheaply.
 */
export function withTrack(ctx: VrrpContext, id: string, up: boolean, offset?: number): PriorityInputs | null {
  const i = ctx.tracks.findIndex((t) => t.id === id);
  if (i < 0) return null;
  const current = ctx.tracks[i]!;
  const nextOffset = offset !== undefined && Number.isInteger(offset) ? offset : current.offset;
  if (current.up === up && current.offset === nextOffset) return ctx;
  const tracks = ctx.tracks.slice();
  tracks[i] = { ...current, up, ...(nextOffset !== undefined ? { offset: nextOffset } : {}) };
  return {
    basePriority: ctx.basePriority,
    tracks,
    effectivePriority: effectivePriorityOf(ctx.basePriority, tracks),
    faultCount: faultCountOf(tracks),
  };
}

/** Applies a new base priority; null when it is not 1..255. */
export function withBasePriority(ctx: VrrpContext, priority: number): PriorityInputs | null {
  if (!isValidPriority(priority)) return null;
  return {
    basePriority: priority,
    tracks: ctx.tracks,
    effectivePriority: effectivePriorityOf(priority, ctx.tracks),
    faultCount: ctx.faultCount,
  };
}

export function isOwner(ctx: VrrpContext): boolean {
  return ctx.basePriority === PRIORITY_OWNER;
}
