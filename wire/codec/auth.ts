/**
 * VRRPv2 simple-password authentication with keepalived's semantics: the password is
 * at most 8 bytes (longer ones are truncated), NUL-padded, compared over all 8 bytes,
 * and an advert whose Auth Type differs from the configured one is dropped.
 */
import type { VrrpV2Advert } from './types.js';

const AUTH_DATA_LENGTH = 8;

/** What the local instance is configured with. A string password is UTF-8 encoded, as keepalived reads its config bytes. */
export type ExpectedAuth = { readonly type: 'none' } | { readonly type: 'simple'; readonly password: string | Uint8Array };

export type AuthCheckResult =
  { readonly ok: true } | { readonly ok: false; readonly error: { readonly kind: 'auth-type-mismatch' | 'auth-mismatch'; readonly detail: string } };

/**
 * The 8 Authentication Data bytes for a password: its UTF-8 (or given) bytes,
 * truncated to 8 and NUL-padded, exactly what keepalived sends for `auth_pass`.
 */
export function simplePassword(password: string | Uint8Array): Uint8Array {
  const bytes = typeof password === 'string' ? new TextEncoder().encode(password) : password;
  const out = new Uint8Array(AUTH_DATA_LENGTH);
  out.set(bytes.subarray(0, AUTH_DATA_LENGTH));
  return out;
}

/** 8 zero bytes: the Authentication Data of an unauthenticated VRRPv2 advert. */
export function noAuthData(): Uint8Array {
  return new Uint8Array(AUTH_DATA_LENGTH);
}

/**
 * Checks a decoded VRRPv2 advert against the local configuration (RFC 2338 §7.1).
 * Returns ok, 'auth-type-mismatch' when the Auth Type differs, or 'auth-mismatch'
 * when a simple password differs in any of its 8 bytes. With Auth Type none the
 * Authentication Data is ignored. The comparison time does not depend on where the
 * bytes differ. Never throws.
 */
export function checkAuthentication(packet: VrrpV2Advert, expected: ExpectedAuth): AuthCheckResult {
  if (packet.authType !== expected.type) {
    return { ok: false, error: { kind: 'auth-type-mismatch', detail: `received auth type ${packet.authType}, configured ${expected.type}` } };
  }
  if (expected.type === 'none') return { ok: true };
  const want = simplePassword(expected.password);
  let diff = packet.authData.length ^ AUTH_DATA_LENGTH;
  for (let i = 0; i < AUTH_DATA_LENGTH; i++) diff |= (packet.authData[i] ?? 0) ^ want[i]!;
  return diff === 0 ? { ok: true } : { ok: false, error: { kind: 'auth-mismatch', detail: 'simple password differs from the configured one' } };
}
