/**
 * Credentials of the HTTP endpoint: one secret read from a file, accepted as
 * a bearer token (`Authorization: Bearer SECRET`) or, when it has the form
 * user:password, as basic auth. The secret lives only in this closure: it is
 * never logged, never echoed, and compared in constant time.
 */
import { readFileSync, statSync } from 'node:fs';
import { nodeCrypto } from '../../core/lazy-crypto.js';

export interface HttpAuth {
  /** Whether the request's Authorization header carries the secret. */
  allows(authorization: string | undefined): boolean;
  /** What the file allows (for the start-up log line): never the secret itself. */
  readonly kinds: ('bearer' | 'basic')[];
  /** The file can be read by any user of the host (a warning, not a refusal). */
  readonly worldReadable: boolean;
}

export type AuthLoadResult = { ok: true; auth: HttpAuth } | { ok: false; message: string };

const digest = (s: string | Buffer) => nodeCrypto().createHash('sha256').update(s).digest();

/** Reads the secret: the file's first line, trimmed; an empty file is refused. */
export function loadHttpAuth(path: string): AuthLoadResult {
  let text: string;
  let mode: number;
  try {
    text = readFileSync(path, 'utf8');
    mode = statSync(path).mode;
  } catch (err) {
    return { ok: false, message: `cannot read the HTTP auth file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  const secret = (text.split('\n')[0] ?? '').trim();
  if (secret === '') return { ok: false, message: `the HTTP auth file ${path} is empty (it holds a bearer token or user:password)` };
  return { ok: true, auth: httpAuthOf(secret, (mode & 0o004) !== 0) };
}

/** The check for one secret (exported for tests). */
export function httpAuthOf(secret: string, worldReadable = false): HttpAuth {
  // Comparing digests keeps the comparison constant-time whatever the lengths.
  const want = digest(secret);
  const basic = secret.includes(':');
  const same = (given: string | Buffer) => nodeCrypto().timingSafeEqual(digest(given), want);
  return {
    kinds: basic ? ['bearer', 'basic'] : ['bearer'],
    worldReadable,
    allows(authorization) {
      if (authorization === undefined) return false;
      const m = /^(\w+)\s+(\S+)\s*$/.exec(authorization);
      if (!m) return false;
      const scheme = m[1]!.toLowerCase();
      if (scheme === 'bearer') return same(m[2]!);
      if (scheme === 'basic' && basic) return same(Buffer.from(m[2]!, 'base64'));
      return false;
    },
  };
}
