/**
 * enable_script_security, as keepalived (core/notify.c) applies it: a
 * script that will run with root privileges must not be replaceable by
 * anyone else. Every component of its path (/, each directory, the file)
 * must be owned by root, and none may be writable by a non-root group or by
 * everybody; a directory with the sticky bit (like /tmp) may be
 * world-writable, since others cannot rename or delete what root owns there.
 * keepalived checks only scripts run as uid 0 or gid 0 (or set-uid/gid
 * root): a script run as an ordinary user can do no more than that user.
 */
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

export type SecurityVerdict = { ok: true; path: string } | { ok: false; file: string; reason: string };

const S_IWGRP = 0o020;
const S_IWOTH = 0o002;
const S_ISVTX = 0o1000;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;

function unsafe(st: Stats): string | null {
  if (st.uid !== 0) return `owned by uid ${st.uid}, not root`;
  // A symlink's own mode is always 0777 and never consulted: only who may replace it
  // counts, and that is its directory's business (checked as a component of its own).
  if (st.isSymbolicLink()) return null;
  const sticky = st.isDirectory() && (st.mode & S_ISVTX) !== 0;
  if (sticky) return null;
  if (st.mode & S_IWOTH) return 'writable by everybody';
  if (st.gid !== 0 && st.mode & S_IWGRP) return `writable by group ${st.gid}`;
  return null;
}

/** The path and every parent, root first: /a/b/c -> [/, /a, /a/b, /a/b/c]. */
function components(path: string): string[] {
  const out = ['/'];
  let cur = '/';
  for (const part of path.split('/').filter((p) => p.length > 0)) {
    cur = join(cur, part);
    out.push(cur);
  }
  return out;
}

function walk(path: string): SecurityVerdict {
  for (const p of components(path)) {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch (err) {
      return { ok: false, file: p, reason: `cannot stat: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
    }
    const last = p === path;
    if (!last && !st.isDirectory() && !st.isSymbolicLink()) return { ok: false, file: p, reason: 'not a directory' };
    if (last && !st.isFile() && !st.isSymbolicLink()) return { ok: false, file: p, reason: 'not a regular file' };
    const why = unsafe(st);
    if (why) return { ok: false, file: p, reason: why };
  }
  return { ok: true, path };
}

/**
 * Checks `program` (argv[0] of a script; relative names are resolved
 * against PATH the way exec would) as written and, when it differs, the
 * file it resolves to through symlinks, since both decide what runs.
 * @returns ok with the resolved path, or the first unsafe file and why.
 */
export function checkScriptSecurity(program: string, searchPath = process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'): SecurityVerdict {
  const found = locate(program, searchPath);
  if (!found) return { ok: false, file: program, reason: 'not found' };
  const written = walk(found);
  if (!written.ok) return written;
  let real: string;
  try {
    real = realpathSync(found);
  } catch (err) {
    return { ok: false, file: found, reason: `cannot resolve: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  return real === found ? written : walk(real);
}

/** exec's lookup: a name with a slash is a path, a bare name is searched in PATH. */
export function locate(program: string, searchPath: string): string | null {
  if (program.includes('/')) return isAbsolute(program) ? program : resolve(program);
  for (const dir of searchPath.split(':')) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      if (lstatSync(candidate).isFile() || lstatSync(candidate).isSymbolicLink()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/**
 * Whether `program` run as uid:gid gets root privileges, the case where
 * keepalived applies the security walk: run as uid 0 or gid 0, or a
 * set-uid root / set-gid root executable.
 */
export function runsPrivileged(program: string, uid: number, gid: number, searchPath = process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'): boolean {
  if (uid === 0 || gid === 0) return true;
  const found = locate(program, searchPath);
  if (!found) return false;
  try {
    const st = statSync(found);
    return (st.uid === 0 && (st.mode & S_ISUID) !== 0 && (st.mode & 0o100) !== 0) || (st.gid === 0 && (st.mode & S_ISGID) !== 0 && (st.mode & 0o010) !== 0);
  } catch {
    return false;
  }
}
