import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { isAlive, pollUntil, within } from './run.js';

export interface KeepalivedProcess {
  /** The parent process (the one started through `ip netns exec`). */
  pid: number;
  confPath: string;
  logPath: string;
  /** Everything keepalived wrote so far (-l logs to the console, captured here). */
  log(): string;
  /** Waits until the log matches, at most timeoutMs; returns whether it did. */
  waitForLog(pattern: RegExp, timeoutMs: number): Promise<boolean>;
  /** SIGTERM to the PIDs in its pid files, SIGKILL after timeoutMs. Idempotent. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Runs Debian's keepalived in a lab node with every path private to this
 * instance (config, pid files, log), VRRP only (-P), in the foreground (-n)
 * so the lab tracks the parent; the VRRP child's PID comes from its pid file.
 * `name` must be unique within the lab.
 */
export async function startKeepalived(lab: Lab, node: string, name: string, config: string): Promise<KeepalivedProcess> {
  const base = join(lab.dir, `keepalived-${name}`);
  const confPath = `${base}.conf`;
  const logPath = `${base}.log`;
  const pidFile = `${base}.pid`;
  const vrrpPidFile = `${base}-vrrp.pid`;
  const chkPidFile = `${base}-chk.pid`;
  writeFileSync(confPath, config);
  const fd = openSync(logPath, 'a');
  let proc;
  try {
    proc = lab.spawn(node, 'keepalived', ['-n', '-l', '-D', '-P', '-f', confPath, '-p', pidFile, '-r', vrrpPidFile, '-c', chkPidFile], ['ignore', fd, fd]);
  } finally {
    closeSync(fd);
  }
  const readPid = (file: string): number | undefined => {
    if (!existsSync(file)) return undefined;
    const n = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 1 ? n : undefined;
  };
  // The VRRP child is forked by keepalived, not by us: track it so that
  // lab.destroy() ends it even if stop() is never called.
  const vrrpPid = await pollUntil(() => readPid(vrrpPidFile), 5000);
  if (vrrpPid !== undefined) lab.track(vrrpPid);
  const log = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  let stopped = false;

  return {
    pid: proc.pid,
    confPath,
    logPath,
    log,
    async waitForLog(pattern, timeoutMs) {
      return (await pollUntil(() => (pattern.test(log()) ? true : undefined), timeoutMs, 20)) === true;
    },
    async stop(timeoutMs = 3000) {
      if (stopped) return;
      stopped = true;
      const pids = [readPid(pidFile) ?? proc.pid, readPid(vrrpPidFile)].filter((p): p is number => p !== undefined);
      const signal = (s: NodeJS.Signals) => {
        for (const pid of pids) {
          try {
            process.kill(pid, s);
          } catch {
            // already gone
          }
        }
      };
      signal('SIGTERM');
      const done = await pollUntil(() => (pids.every((p) => !isAlive(p)) ? true : undefined), timeoutMs, 20);
      if (!done) signal('SIGKILL');
      await within(proc.exited, 1000);
    },
  };
}
