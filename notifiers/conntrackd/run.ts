/**
 * Runs a role's conntrackd commands, each bounded in time. Like
 * primary-backup.sh, a failed command is logged and the next one still runs:
 * a commit that failed must not stop the bulk send to the new backup. The
 * caller gets every command's outcome and decides whether the step failed.
 */
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import type { Logger } from '../../core/logger.js';
import { actionArgs, ROLE_ACTIONS, type ConntrackdRole } from './plan.js';
import type { ResolvedConntrackdOptions } from './options.js';

export interface CommandOutcome {
  args: string[];
  purpose: string;
  /** Exit code, or null when it could not run or was killed at the bound. */
  code: number | null;
  ms: number;
  /** stderr's last line, or why it did not run. */
  error?: string;
}

export interface ConntrackdReport {
  role: ConntrackdRole;
  /** Set on backup when conntrackd was not answering and was started (`-d`). */
  started?: boolean;
  commands: CommandOutcome[];
}

function runOne(o: ResolvedConntrackdOptions, args: string[], purpose: string, signal: AbortSignal): Promise<CommandOutcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(o.binary, args, { timeout: o.commandTimeoutMs, killSignal: 'SIGKILL', signal, maxBuffer: 1 << 20, encoding: 'utf8' }, (err, _stdout, stderr) => {
      const ms = Math.round(performance.now() - t0);
      const last = stderr.trim().split('\n').pop() ?? '';
      if (!err) return resolve({ args, purpose, code: 0, ms });
      const e = err as NodeJS.ErrnoException & { code?: string | number; killed?: boolean };
      if (typeof e.code === 'number') return resolve({ args, purpose, code: e.code, ms, error: last || `exit ${e.code}` });
      const why = e.name === 'AbortError' ? 'aborted' : e.killed ? `killed after ${o.commandTimeoutMs} ms` : (e.code ?? e.message);
      resolve({ args, purpose, code: null, ms, error: why });
    });
  });
}

/** Runs the role's commands in order; never throws. */
export async function runConntrackdRole(role: ConntrackdRole, o: ResolvedConntrackdOptions, signal: AbortSignal, log: Logger): Promise<ConntrackdReport> {
  const report: ConntrackdReport = { role, commands: [] };
  const record = (c: CommandOutcome) => {
    report.commands.push(c);
    if (c.code === 0) log.debug({ args: c.args, ms: c.ms }, c.purpose);
    else log.error({ args: c.args, code: c.code, error: c.error, ms: c.ms }, `conntrackd failed to ${c.purpose}`);
  };
  if (role === 'backup' && o.startIfStopped) {
    // primary-backup.sh: `-s` (statistics) is how it asks whether conntrackd is running.
    const stats = await runOne(o, ['-C', o.config, '-s'], 'check that conntrackd is running', signal);
    if (stats.code !== 0) {
      log.warn({ error: stats.error }, 'conntrackd is not answering; starting it');
      if (existsSync(o.lockFile)) {
        log.warn({ lockFile: o.lockFile }, 'conntrackd was not cleanly stopped: removing its lock file');
        rmSync(o.lockFile, { force: true });
      }
      const start = await runOne(o, ['-C', o.config, '-d'], 'start conntrackd', signal);
      record(start);
      report.started = start.code === 0;
      // Without a daemon the other commands can only fail; the script exits here too.
      if (start.code !== 0) return report;
    }
  }
  for (const a of ROLE_ACTIONS[role]) {
    if (signal.aborted) break;
    record(await runOne(o, actionArgs(o.config, a), a.purpose, signal));
  }
  return report;
}
