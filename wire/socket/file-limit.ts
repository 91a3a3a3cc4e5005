/** The open-file limit: raised for the checkers, which hold a socket per probe in flight. */
import { nativeWire } from './native.js';

export type FileLimit = { ok: true; soft: number; hard: number; before: number } | { ok: false; code: string };

/**
 * Lifts the soft RLIMIT_NOFILE to `want` open files: past the hard limit when the
 * process may raise it (root), else as far as the hard limit. Never lowers it. -1 means unlimited.
 */
export function raiseFileLimit(want: number): FileLimit {
  const r = nativeWire().raiseFileLimit(Math.max(0, Math.floor(want)));
  return typeof r === 'string' ? { ok: false, code: r } : { ok: true, ...r };
}
