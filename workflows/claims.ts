/**
 * Exactly-once workflow runs across workers: the pure half. A run (one workflow for
 * one event) owns one record in the KV bucket `vipflow-runs-<cluster>`, written only
 * with create / compare-and-set, so two workers can never both believe they own it:
 *
 *   absent ──create──▶ running{owner, leaseUntil, completed[]} ──▶ finished{status}
 *                         ▲    │ lease renewed while the owner lives
 *                         └────┘ expired lease: another worker takes over (CAS)
 *
 * - A redelivered message whose run is finished is acknowledged without running.
 * - A live claim of another worker means "not yet": the message is handed back with a
 *   delay until the lease would expire (the owner normally acks long before).
 * - A takeover resumes after the last completed step, so steps are at-least-once (the
 *   crashed owner may have been inside a step) while the workflow as a whole runs once.
 * - Leases compare wall clocks of different workers: their skew must stay well below
 *   the lease (seconds), which NTP gives.
 *
 * No I/O here; workflows/worker.ts does the KV calls with these values.
 */
import { encodeToken } from '../infra/events/subjects.js';
import type { RunResult } from './run.js';

export interface RunningClaim {
  state: 'running';
  /** Worker instance id (`name#boot`): a restarted worker of the same name is another owner. */
  owner: string;
  /** Epoch ms after which another worker may take the run over. */
  leaseUntil: number;
  /** Steps finished so far, in order. */
  completed: string[];
  /** How many times the run changed hands. */
  takeovers: number;
}

export interface FinishedClaim {
  state: 'finished';
  owner: string;
  /** `superseded`: a newer transition came first, so the run never started. */
  status: RunResult['status'] | 'superseded';
  at: number;
}

export type RunClaim = RunningClaim | FinishedClaim;

export type ClaimDecision =
  /** No record: claim it with create (fails if another worker just did). */
  | { kind: 'create' }
  /** Already finished (by anyone): acknowledge, do not run. */
  | { kind: 'finished'; status: FinishedClaim['status'] }
  /** This worker instance runs it right now (a redelivery reached the owner). */
  | { kind: 'running-here' }
  /** Another worker holds a live lease: hand the message back for `delayMs`. */
  | { kind: 'wait'; delayMs: number; owner: string }
  /** The owner's lease ran out (crashed or cut off): take over with CAS and resume. */
  | { kind: 'takeover'; completed: string[]; from: string };

/** Extra wait beyond a lease so the retry lands after it expired, not just before. */
export const LEASE_MARGIN_MS = 250;

/** The KV key of a run: both parts escaped to key-safe tokens (event ids hold ':'). */
export function runKey(eventId: string, workflow: string): string {
  return `${encodeToken(eventId)}.${encodeToken(workflow)}`;
}

/** Reads a stored record; anything unreadable is null-with-reason so the caller can decide. */
export function parseClaim(bytes: Uint8Array): RunClaim | 'unreadable' {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown> | null;
    if (v?.state === 'finished' && typeof v.owner === 'string' && typeof v.status === 'string') return v as unknown as FinishedClaim;
    if (v?.state === 'running' && typeof v.owner === 'string' && typeof v.leaseUntil === 'number' && Array.isArray(v.completed)) {
      const completed = (v.completed as unknown[]).filter((s): s is string => typeof s === 'string');
      return { state: 'running', owner: v.owner, leaseUntil: v.leaseUntil, completed, takeovers: typeof v.takeovers === 'number' ? v.takeovers : 0 };
    }
  } catch {
    // fall through
  }
  return 'unreadable';
}

/**
 * What to do with a run given its stored record.
 *
 * @param current the record (null when absent; 'unreadable' for garbage, which is taken
 *   over from scratch rather than blocking the run forever).
 * @param self this worker instance's owner id.
 * @param now epoch ms.
 * @param activeHere whether this worker instance is running the run right now; an own
 *   claim it is not running (its run was abandoned, or its end could not be recorded)
 *   is taken over like a stranger's expired one.
 */
export function decideClaim(current: RunClaim | 'unreadable' | null, self: string, now: number, activeHere = false): ClaimDecision {
  if (current === null) return { kind: 'create' };
  if (current === 'unreadable') return { kind: 'takeover', completed: [], from: 'unreadable record' };
  if (current.state === 'finished') return { kind: 'finished', status: current.status };
  if (current.owner === self) return activeHere ? { kind: 'running-here' } : { kind: 'takeover', completed: [...current.completed], from: self };
  if (current.leaseUntil > now) return { kind: 'wait', delayMs: current.leaseUntil - now + LEASE_MARGIN_MS, owner: current.owner };
  return { kind: 'takeover', completed: [...current.completed], from: current.owner };
}

/** A fresh claim, or a takeover keeping the completed steps. */
export function claimFor(self: string, now: number, leaseMs: number, previous?: { completed: readonly string[]; takeovers: number }): RunningClaim {
  return {
    state: 'running',
    owner: self,
    leaseUntil: now + leaseMs,
    completed: [...(previous?.completed ?? [])],
    takeovers: previous ? previous.takeovers + 1 : 0,
  };
}

/** The same claim with its lease pushed out (heartbeat) and optionally one more completed step. */
export function renewClaim(c: RunningClaim, now: number, leaseMs: number, completedStep?: string): RunningClaim {
  const completed = completedStep !== undefined && !c.completed.includes(completedStep) ? [...c.completed, completedStep] : c.completed;
  return { ...c, leaseUntil: now + leaseMs, completed };
}

export function finishClaim(owner: string, status: FinishedClaim['status'], now: number): FinishedClaim {
  return { state: 'finished', owner, status, at: now };
}

/**
 * How a message is settled once every run it started is over: `ack` when all are
 * finished (whatever their status: a failed workflow is reported by its events, not
 * retried forever), `nak` after the longest wait when a live owner elsewhere still holds
 * one, `none` when a run was lost to another owner (it acknowledges) or the worker stops
 * (the message comes back after ack_wait).
 */
export type Settle = { kind: 'ack' } | { kind: 'nak'; delayMs: number } | { kind: 'none' };

export type RunOutcome = { kind: 'done' } | { kind: 'wait'; delayMs: number } | { kind: 'lost' };

export function settle(outcomes: readonly RunOutcome[]): Settle {
  if (outcomes.some((o) => o.kind === 'lost')) return { kind: 'none' };
  const waits = outcomes.flatMap((o) => (o.kind === 'wait' ? [o.delayMs] : []));
  if (waits.length > 0) return { kind: 'nak', delayMs: Math.max(...waits) };
  return { kind: 'ack' };
}
