/**
 * auth_hmac keys and rules (keepalived 2.4.3's vrrp_parser.c and
 * vrrp_complete_instance), shared by the keepalived loader, the typed config
 * and the run-time plan. Key material never enters a message: diagnostics
 * name the key id and the file, never the value.
 */
import { readFileSync, statSync } from 'node:fs';
import type { AuthHmac, VipflowConfig, VrrpInstance } from './model.js';
import type { Diagnostic } from './diagnostics.js';

export const AUTH_HMAC_KEY_MIN = 32;
export const AUTH_HMAC_KEY_MAX = 64;
const WINDOW_FLOOR = 5;
const WINDOW_MAX = 300;

/** An inline key value: `hex:<digits>` is raw bytes, anything else its ASCII bytes. Null for bad hex. */
export function authHmacKeyBytes(value: string): Uint8Array | null {
  if (!value.startsWith('hex:')) return new Uint8Array(Buffer.from(value, 'latin1'));
  const digits = value.slice(4);
  if (digits.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(digits)) return null;
  return new Uint8Array(Buffer.from(digits, 'hex'));
}

export type KeyFileResult = { ok: true; value: string; exposed: boolean } | { ok: false; message: string };

/**
 * Reads a `file:` key: the file holds what the inline value would (`hex:` or
 * text); a trailing newline is dropped. `exposed` when group or others may
 * read it (keepalived reports that as a security problem).
 */
export function readAuthHmacKeyFile(path: string): KeyFileResult {
  try {
    const st = statSync(path);
    if (st.size > 4 + AUTH_HMAC_KEY_MAX * 2 + 8) return { ok: false, message: `auth_hmac key file '${path}' is too large` };
    const value = readFileSync(path, 'latin1').replace(/[\r\n]+$/, '');
    return { ok: true, value, exposed: (st.mode & 0o077) !== 0 };
  } catch (err) {
    return { ok: false, message: `auth_hmac key file '${path}' cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
}

/** keepalived's default freshness window: 3 advert intervals in whole seconds, at least 5, at most 300. */
export function authHmacTimeWindow(auth: AuthHmac, advertIntSec: number): number {
  if (auth.timeWindow !== undefined) return auth.timeWindow;
  return Math.min(WINDOW_MAX, Math.max(WINDOW_FLOOR, 3 * Math.floor(advertIntSec)));
}

export interface AuthHmacFinding {
  severity: 'error' | 'warning';
  /** model path below the instance (e.g. `authHmac.keys.1`) */
  field: string;
  message: string;
}

/**
 * What keepalived refuses or corrects in an auth_hmac block, plus vipflow's own
 * rule: a missing or undefined active_key is an error (keepalived then drops
 * the extension and runs unauthenticated, next to peers that enforce it).
 */
export function checkAuthHmac(inst: VrrpInstance): AuthHmacFinding[] {
  const auth = inst.authHmac;
  if (!auth) return [];
  const out: AuthHmacFinding[] = [];
  const name = `vrrp_instance ${inst.name}: auth_hmac`;
  const seen = new Set<number>();
  auth.keys.forEach((k, i) => {
    if (seen.has(k.id)) out.push({ severity: 'error', field: `authHmac.keys.${i}`, message: `${name}: duplicate key id ${k.id}` });
    seen.add(k.id);
    if (k.key.startsWith('file:')) {
      out.push({ severity: 'error', field: `authHmac.keys.${i}`, message: `${name}: key ${k.id} file was not read` });
      return;
    }
    const bytes = authHmacKeyBytes(k.key);
    if (!bytes) out.push({ severity: 'error', field: `authHmac.keys.${i}`, message: `${name}: key ${k.id} has invalid hex digits` });
    else if (bytes.length < AUTH_HMAC_KEY_MIN || bytes.length > AUTH_HMAC_KEY_MAX)
      out.push({
        severity: 'error',
        field: `authHmac.keys.${i}`,
        message: `${name}: key ${k.id} is ${bytes.length} bytes, not in [${AUTH_HMAC_KEY_MIN}, ${AUTH_HMAC_KEY_MAX}]`,
      });
  });
  if (auth.activeKey === undefined) {
    out.push({
      severity: 'error',
      field: 'authHmac',
      message: `${name}: no active_key (keepalived would run unauthenticated, and peers that enforce auth_hmac would all become Master)`,
    });
  } else if (!seen.has(auth.activeKey)) {
    out.push({
      severity: 'error',
      field: 'authHmac.activeKey',
      message: `${name}: active_key ${auth.activeKey} is not defined (keepalived would disable auth_hmac and run unauthenticated)`,
    });
  }
  if (auth.timeWindow !== undefined && auth.antiReplay === 'monotonic') {
    out.push({ severity: 'warning', field: 'authHmac.timeWindow', message: `${name}: time_window has no effect with anti_replay monotonic` });
  }
  if (inst.authentication) {
    out.push({
      severity: 'warning',
      field: 'authentication',
      message: `vrrp_instance ${inst.name}: auth_hmac cannot be combined with authentication; the authentication block is ignored, as keepalived does`,
    });
  }
  if (inst.strictMode && auth.mode !== 'enforce') {
    out.push({ severity: 'warning', field: 'authHmac.mode', message: `${name}: strict mode requires mode enforce; enforce is used, as keepalived does` });
  }
  return out;
}

/**
 * Replaces `file:` keys of a typed config by the files' contents (the keepalived
 * loader reads them while parsing). Returns problems as diagnostics on `file`.
 */
export function resolveAuthHmacKeyFiles(model: VipflowConfig, file: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const inst of model.vrrpInstances) {
    for (const k of inst.authHmac?.keys ?? []) {
      if (!k.key.startsWith('file:')) continue;
      const r = readAuthHmacKeyFile(k.key.slice(5));
      if (!r.ok) {
        out.push({ severity: 'error', file, line: 0, column: 0, message: `vrrp_instance ${inst.name}: ${r.message}` });
        continue;
      }
      if (r.exposed)
        out.push({
          severity: 'warning',
          file,
          line: 0,
          column: 0,
          message: `vrrp_instance ${inst.name}: auth_hmac key file '${k.key.slice(5)}' is readable by group or others`,
        });
      k.file = k.key.slice(5);
      k.key = r.value;
    }
  }
  return out;
}

/** The mode in effect: strict mode forces enforce (keepalived). */
export function effectiveAuthHmacMode(inst: VrrpInstance): AuthHmac['mode'] | null {
  if (!inst.authHmac) return null;
  return inst.strictMode ? 'enforce' : inst.authHmac.mode;
}

/**
 * A copy of raw model input whose auth_hmac keys read from files are written
 * back as `file:PATH`: a converted config must not carry the secret itself.
 */
export function keyFilesAsReferences(input: unknown): unknown {
  const insts = (input as { vrrpInstances?: unknown } | null)?.vrrpInstances;
  if (!Array.isArray(insts)) return input;
  return {
    ...(input as object),
    vrrpInstances: insts.map((inst: { authHmac?: { keys?: { id: number; key: string; file?: string }[] } }) => {
      const keys = inst.authHmac?.keys;
      if (!keys?.some((k) => k.file !== undefined)) return inst;
      return { ...inst, authHmac: { ...inst.authHmac, keys: keys.map((k) => (k.file !== undefined ? { id: k.id, key: `file:${k.file}` } : k)) } };
    }),
  };
}
