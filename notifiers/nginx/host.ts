/**
 * What the nginx step reads and runs on the host: the pid file, the master's
 * workers from /proc, `nginx -t`, and one HTTP health request.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { processExists } from '../../core/process-exists.js';
import { parsePidFile, parseProcStat, workerFromCmdline, type WorkerProcess } from './generation.js';

/** The master PID from the pid file, if the file is readable and that process exists. */
export function readMasterPid(pidFile: string): { ok: true; pid: number } | { ok: false; error: string } {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch (e) {
    return { ok: false, error: `cannot read pid file ${pidFile} (${(e as NodeJS.ErrnoException).code ?? 'error'}): is nginx running with this pid file?` };
  }
  const pid = parsePidFile(text);
  if (pid === null) return { ok: false, error: `pid file ${pidFile} holds no PID` };
  if (!processExists(pid)) return { ok: false, error: `nginx master ${pid} from ${pidFile} is not running` };
  return { ok: true, pid };
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The worker processes whose parent is `masterPid`. This kernel has no
 * /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN off), so every
 * /proc/<pid>/stat is read: about a millisecond with a few hundred processes.
 */
export function listWorkers(masterPid: number, procRoot = '/proc'): WorkerProcess[] {
  const out: WorkerProcess[] = [];
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readText(`${procRoot}/${name}/stat`);
    const parsed = stat === null ? null : parseProcStat(stat);
    if (!parsed || parsed.ppid !== masterPid) continue;
    const cmdline = readText(`${procRoot}/${name}/cmdline`);
    const w = cmdline === null ? null : workerFromCmdline(parsed.pid, cmdline);
    if (w) out.push(w);
  }
  return out;
}

export interface CommandResult {
  /** Exit code, or null when killed (timeout, abort) or not started. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the command could not run or was killed. */
  error?: string;
}

/** Runs a command bounded by `timeoutMs` and `signal`; never throws. */
export function runCommand(file: string, args: readonly string[], timeoutMs: number, signal: AbortSignal): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, signal, maxBuffer: 1 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const e = err as NodeJS.ErrnoException & { code?: string | number; killed?: boolean };
      if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr });
      resolve({ code: null, stdout, stderr, error: e.name === 'AbortError' ? 'aborted' : e.killed ? `killed after ${timeoutMs} ms` : (e.code ?? e.message) });
    });
  });
}

export type HealthAnswer = { ok: true; status: number; body: string } | { ok: false; error: string };

/**
 * One GET on a fresh connection (no keep-alive pool: a pooled connection to an
 * old worker would answer for the old generation). Body capped at 64 KiB. Never throws.
 */
export function httpGet(url: string, timeoutMs: number, signal: AbortSignal): Promise<HealthAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (a: HealthAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(a);
    };
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    let req: ReturnType<typeof httpRequest>;
    try {
      req = request(url, { method: 'GET', agent: false, headers: { connection: 'close' }, signal }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (body.length < 65_536) body += c;
        });
        res.on('end', () => done({ ok: true, status: res.statusCode ?? 0, body }));
        res.on('error', (e) => done({ ok: false, error: (e as NodeJS.ErrnoException).code ?? e.message }));
      });
    } catch (e) {
      return resolve({ ok: false, error: (e as Error).message });
    }
    const timer = setTimeout(() => {
      req.destroy();
      done({ ok: false, error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    req.on('error', (e) => done({ ok: false, error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end();
  });
}
