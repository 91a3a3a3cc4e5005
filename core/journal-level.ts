/**
 * journald levels for pino's JSON lines. systemd reads a `<N>` syslog-priority
 * prefix on each line of a service's stdout (SyslogLevelPrefix=, on by default);
 * without it every line is stored at the unit's SyslogLevel (info), and
 * `journalctl -p warning` would not find vipflow's warnings.
 */
import { fstatSync } from 'node:fs';

/** pino level number -> syslog priority (fatal: crit, error: err, warn: warning, info, debug and trace: debug). */
export function syslogPriority(pinoLevel: number): number {
  if (pinoLevel >= 60) return 2;
  if (pinoLevel >= 50) return 3;
  if (pinoLevel >= 40) return 4;
  if (pinoLevel >= 30) return 6;
  return 7;
}

// pino writes `{"level":N,` first on every line.
const LEVEL = /^\{"level":(\d+)/;

/** The line with its `<N>` prefix; a line without a leading level is left as it is. */
export function withSyslogPrefix(line: string): string {
  const m = LEVEL.exec(line);
  return m ? `<${syslogPriority(Number(m[1]))}>${line}` : line;
}

/**
 * True when stdout is the journal's stream: JOURNAL_STREAM (`dev:inode`, set by
 * systemd) names the file descriptor 1 still points at. A redirect or a pipe in
 * between (`vipflow run | tee`) gets the plain JSON.
 */
export function stdoutIsJournal(
  journalStream: string | undefined = process.env.JOURNAL_STREAM,
  stat: () => { dev: number; ino: number } = () => fstatSync(1),
): boolean {
  const m = /^(\d+):(\d+)$/.exec(journalStream ?? '');
  if (!m) return false;
  try {
    const s = stat();
    return s.dev === Number(m[1]) && s.ino === Number(m[2]);
  } catch {
    return false;
  }
}
