/**
 * Pure parts of an nginx reload: the command lines, reading /proc texts, and
 * deciding whether the master has moved to a new worker generation.
 *
 * On SIGHUP nginx's master re-reads its configuration; if that succeeds it
 * starts new workers and asks the old ones to finish gracefully (their title
 * becomes "nginx: worker process is shutting down"); if it fails it logs the
 * error and keeps the old workers. So "the set of workers changed" is the
 * observable proof that the new configuration is live. The master waits 100 ms
 * after starting the new workers before it tells the old ones to quit
 * (ngx_process_cycle.c), and until then both generations accept connections:
 * that is why a new generation also requires every old worker gone or draining.
 */
import type { ResolvedNginxOptions } from './options.js';

/** argv (without the binary) for nginx with the instance flags, then `extra`. */
export function nginxArgv(o: Pick<ResolvedNginxOptions, 'config' | 'prefix' | 'globals'>, extra: readonly string[]): string[] {
  return [
    ...(o.config !== undefined ? ['-c', o.config] : []),
    ...(o.prefix !== undefined ? ['-p', o.prefix] : []),
    ...(o.globals !== undefined ? ['-g', o.globals] : []),
    ...extra,
  ];
}

/** A pid file's text as a PID, or null when it holds no positive integer. */
export function parsePidFile(text: string): number | null {
  const t = text.trim();
  if (!/^\d{1,10}$/.test(t)) return null;
  const n = Number(t);
  return n > 0 ? n : null;
}

/**
 * pid, comm and ppid from a /proc/<pid>/stat line, or null when malformed.
 * comm is in parentheses and may itself hold spaces and ')', so the fields
 * after it are found from the last ')'.
 */
export function parseProcStat(text: string): { pid: number; comm: string; ppid: number } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open <= 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // rest[0] is the state, rest[1] the parent PID.
  const ppid = Number(rest[1]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(ppid) || ppid < 0) return null;
  return { pid, comm: text.slice(open + 1, close), ppid };
}

export interface WorkerProcess {
  pid: number;
  /** Asked to finish by a reload: its title says "is shutting down". */
  shuttingDown: boolean;
}

/**
 * Classifies a child of the master by its /proc/<pid>/cmdline (nginx rewrites
 * its argv into a title). Returns null for other children (cache manager and
 * loader, a helper a module started).
 */
export function workerFromCmdline(pid: number, cmdline: string): WorkerProcess | null {
  const title = cmdline.replace(/\0+/g, ' ').trim();
  if (!/worker process/.test(title)) return null;
  return { pid, shuttingDown: /is shutting down/.test(title) };
}

export interface GenerationCheck {
  /** True once new workers run and no old worker still takes requests. */
  changed: boolean;
  /** Workers that were not there before the reload. */
  fresh: number[];
  /** Old workers still running and not shutting down. */
  lingering: number[];
}

/**
 * Whether the workers seen now are a new generation relative to `before`
 * (worker PIDs recorded just before the reload signal).
 */
export function checkGeneration(before: readonly number[], now: readonly WorkerProcess[]): GenerationCheck {
  const old = new Set(before);
  const fresh = now.filter((w) => !old.has(w.pid)).map((w) => w.pid);
  const lingering = now.filter((w) => old.has(w.pid) && !w.shuttingDown).map((w) => w.pid);
  return { changed: fresh.length > 0 && lingering.length === 0, fresh, lingering };
}

/**
 * nginx's own words from `nginx -t` (it writes them to stderr), without blank
 * lines, bounded so an event stays small; nginx prints the `[emerg] ... in FILE:LINE` line first.
 */
export function testFailureText(stderr: string, stdout = '', maxChars = 1500): string {
  const lines = `${stderr}\n${stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const text = lines.join('; ');
  return text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
}

/** Whether a health answer is the one wanted. */
export function healthAccepted(status: number, body: string, expect: { expectStatus?: readonly number[]; expectBody?: string }): boolean {
  const statusOk = expect.expectStatus ? expect.expectStatus.includes(status) : status >= 200 && status < 300;
  return statusOk && (expect.expectBody === undefined || body.includes(expect.expectBody));
}
