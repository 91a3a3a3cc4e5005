/**
 * auth_hmac at run time: the plan (keys decoded, defaults resolved) and the
 * per-instance state the runner keeps, the send sequence and the receivers'
 * replay marks. The wire format itself is in wire/codec/auth-hmac.ts.
 */
import { authHmacKeyBytes, authHmacTimeWindow, effectiveAuthHmacMode } from '../../config/auth-hmac.js';
import type { VrrpInstance } from '../../config/model.js';
import {
  appendAuthTrailer,
  nextSequence,
  ReplayMarks,
  verifyAuthTrailer,
  type AntiReplay,
  type AuthHmacContext,
  type AuthHmacFailure,
  type AuthHmacVerdict,
} from '../../wire/codec/index.js';

export interface AuthHmacPlan {
  mode: 'enforce' | 'permissive' | 'receive-only';
  /** Every configured key, by id: adverts verify with any of them (rotation). */
  keys: ReadonlyMap<number, Uint8Array>;
  /** The key adverts are signed with. */
  activeKey: number;
  antiReplay: AntiReplay;
  timeWindowSec: number;
}

/** The plan of a checked instance (config/auth-hmac.ts refused bad keys and a missing active key). */
export function planAuthHmac(inst: VrrpInstance): AuthHmacPlan | undefined {
  const a = inst.authHmac;
  const mode = effectiveAuthHmacMode(inst);
  if (!a || !mode || a.activeKey === undefined) return undefined;
  const keys = new Map<number, Uint8Array>();
  for (const k of a.keys) {
    const bytes = authHmacKeyBytes(k.key);
    if (bytes) keys.set(k.id, bytes);
  }
  return { mode, keys, activeKey: a.activeKey, antiReplay: a.antiReplay, timeWindowSec: authHmacTimeWindow(a, inst.advertInt) };
}

/** Why an advert failed authentication, as a drop reason. */
export type AuthDropReason = 'hmac-missing' | 'hmac-malformed' | 'hmac-unknown-key' | 'hmac-bad' | 'hmac-outside-window' | 'hmac-replay' | 'hmac-unexpected';

const REASON: Record<AuthHmacFailure, AuthDropReason> = {
  malformed: 'hmac-malformed',
  'unknown-key': 'hmac-unknown-key',
  'bad-hmac': 'hmac-bad',
  'outside-window': 'hmac-outside-window',
  replay: 'hmac-replay',
};

/** The first log line for a reason names its likely cause. */
export const AUTH_DROP_CAUSE: Record<AuthDropReason, string> = {
  'hmac-missing': 'advert without auth_hmac trailer: the peer does not run auth_hmac (or runs a keepalived older than 2.4, or mode receive-only)',
  'hmac-malformed': 'advert with an auth_hmac trailer of an unknown type or nonzero reserved bytes: a newer scheme, or a forged advert',
  'hmac-unknown-key': 'advert signed with a key id we do not have: add the key here before making it active elsewhere (rotation order)',
  'hmac-bad': 'advert whose HMAC does not verify: a different key under the same id, or a forged or corrupted advert',
  'hmac-outside-window': 'advert timestamp outside the time window: the clocks differ (sync them with NTP), or a replayed capture',
  'hmac-replay': 'advert with a sequence not after the last one accepted from this sender: a replay, or two hosts with one address',
  'hmac-unexpected': 'advert with an auth_hmac trailer but auth_hmac is not configured here: enable it on every peer at once',
};

export type AuthCheck = { ok: true; skewSec: number | null } | { ok: false; reason: AuthDropReason; detail: string; skewSec: number | null };

/** One instance's auth_hmac state: what to sign with, and the replay marks of its senders. */
export class AuthHmacState {
  private lastSent: bigint | null = null;
  private readonly marks: ReplayMarks;

  constructor(
    public plan: AuthHmacPlan,
    peers: number,
  ) {
    this.marks = new ReplayMarks(Math.max(4, peers));
  }

  /** Whether adverts carry a trailer (receive-only verifies but does not sign). */
  get signs(): boolean {
    return this.plan.mode !== 'receive-only';
  }

  /**
   * Signs one logical advert: every destination's copy gets the same sequence
   * (the HMAC does not cover the destination), as keepalived does.
   */
  sign(messages: readonly { payload: Buffer; destinationBytes: Uint8Array }[], ctx: AuthHmacContext, realtimeMs: number): Buffer[] {
    const seq = nextSequence(this.lastSent, realtimeMs, this.plan.antiReplay, this.plan.timeWindowSec);
    this.lastSent = seq;
    const key = { id: this.plan.activeKey, bytes: this.plan.keys.get(this.plan.activeKey)! };
    return messages.map((m) => appendAuthTrailer(m.payload, ctx, m.destinationBytes, key, seq));
  }

  /**
   * Checks a received advert against the mode: a trailer always has to verify;
   * none is accepted in the migration modes (permissive, receive-only) only.
   */
  check(message: Uint8Array | undefined, trailer: Uint8Array | undefined, ctx: AuthHmacContext, realtimeMs: number): AuthCheck {
    if (!trailer || !message) {
      if (this.plan.mode === 'enforce') return { ok: false, reason: 'hmac-missing', detail: 'no auth_hmac trailer (mode enforce)', skewSec: null };
      return { ok: true, skewSec: null };
    }
    const v: AuthHmacVerdict = verifyAuthTrailer(message, trailer, ctx, this.plan, this.marks, realtimeMs);
    if (v.ok) return { ok: true, skewSec: v.skewSec };
    return { ok: false, reason: REASON[v.reason], detail: v.detail, skewSec: v.skewSec };
  }
}
