import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Last-resort cleanup when the process ends without lab.destroy() having
 * run (an uncaught exception, process.exit, SIGINT/SIGTERM). Everything
 * here is synchronous because 'exit' handlers cannot wait.
 */
export interface CleanupRecord {
  namespaces: Set<string>;
  pids: Set<number>;
  tempDirs: Set<string>;
}

const live = new Set<CleanupRecord>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function onExit(): void {
  for (const record of [...live]) cleanupNow(record);
}

function onSignal(signal: NodeJS.Signals): void {
  onExit();
  // Re-raise the conventional exit status, as if the default handler ran.
  const n = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[signal as 'SIGINT'] ?? 15;
  process.exit(128 + n);
}

/** Tracks a lab's resources until release(); installs the handlers for the first one. */
export function register(record: CleanupRecord): void {
  if (live.size === 0) {
    process.on('exit', onExit);
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  live.add(record);
}

export function release(record: CleanupRecord): void {
  if (!live.delete(record) || live.size > 0) return;
  process.off('exit', onExit);
  for (const s of SIGNALS) process.off(s, onSignal);
}

function namespacePids(ns: string): number[] {
  try {
    const out = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
    return out
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 1);
  } catch {
    return [];
  }
}

/**
 * SIGKILLs the record's processes (and whatever still runs inside its
 * namespaces, which only its own processes can have started), then deletes
 * the namespaces and temp dirs. Synchronous and best effort.
 */
export function cleanupNow(record: CleanupRecord): void {
  const victims = new Set(record.pids);
  for (const ns of record.namespaces) for (const pid of namespacePids(ns)) victims.add(pid);
  for (const pid of victims) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const ns of record.namespaces) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { timeout: 2000, stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  for (const dir of record.tempDirs) rmSync(dir, { recursive: true, force: true });
  record.namespaces.clear();
  record.pids.clear();
  record.tempDirs.clear();
  release(record);
}

/** Temp dirs of labs that are alive in this process (the sweeper must spare them). */
export function liveTempDirs(): Set<string> {
  return new Set([...live].flatMap((r) => [...r.tempDirs]));
}

export { namespacePids };
