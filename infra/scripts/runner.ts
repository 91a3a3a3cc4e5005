/**
 * Runs notify programs off the VRRP path. `enqueue` only appends to a
 * queue and returns: the caller (a transition listener on the VRRP event
 * loop turn) never waits for a fork, a script or its output.
 *
 * Per queue key (one per VRRP instance) programs run one at a time in the
 * order enqueued, so `notify_backup` then `notify_master` can never
 * overlap or swap. Different instances run in parallel.
 *
 * Each program is spawned detached (its own process group, like
 * keepalived's setpgid(0, 0)), so the timeout kills the script and every
 * child it started with one kill(-pgid). stdout/stderr are logged line by
 * line; the exit code or signal is logged. Nothing here throws to the caller.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '../../core/logger.js';

export interface Job {
  argv: string[];
  /** Extra log context (instance, hook, state). */
  context?: Record<string, unknown>;
  /**
   * Called in the job's turn, just before spawning: who runs it (spawn sets
   * uid/gid and drops supplementary groups; absent: the daemon's own), or a
   * reason to refuse it (logged). Lets user lookup and script security see
   * things as they are when the program would run, off the caller's path.
   */
  prepare?: () => Prepared;
}

export type Prepared = { ok: true; uid?: number; gid?: number } | { ok: false; reason: string };

export interface JobOutcome {
  /** null when it never started (refused, spawn failed) or was killed. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  refused: string | null;
  /** ms from enqueue to spawn: how long the queue (and earlier jobs) delayed it. */
  startDelayMs: number;
  durationMs: number;
}

export interface RunnerOptions {
  log: Logger;
  /** Kill the program's process group after this long. */
  timeoutMs: number;
  /** Lines of output logged per run; the rest are counted. */
  maxLogLines?: number;
  /** Called after every job (tests, metrics). */
  onDone?: (job: Job, outcome: JobOutcome) => void;
  /** What the programs are, in the log messages (default 'notify script'; MISC_CHECK's say so). */
  label?: string;
  /**
   * Level of the lines every run writes (started, exited, failed): 'info' by default; 'debug' for
   * programs run every few seconds (MISC_CHECK), whose outcome the caller logs when it matters.
   */
  routineLevel?: 'info' | 'debug';
}

interface Queued {
  job: Job;
  enqueuedAt: number;
}

// Like keepalived before exec: no inherited field splitting or loader overrides.
const DROPPED_ENV = ['IFS', 'LD_PRELOAD', 'LD_LIBRARY_PATH'];

export class ScriptRunner {
  private readonly queues = new Map<string, Queued[]>();
  private readonly running = new Map<string, ChildProcess | null>();
  private readonly idleWaiters: (() => void)[] = [];
  private closed = false;

  private readonly label: string;
  private readonly routine: 'info' | 'debug';

  constructor(private readonly options: RunnerOptions) {
    this.label = options.label ?? 'notify script';
    this.routine = options.routineLevel ?? 'info';
  }

  /** Appends a job to `key`'s queue; starts it now if that queue is idle. Never blocks, never throws. */
  enqueue(key: string, job: Job): void {
    if (this.closed) {
      this.options.log.warn({ ...job.context, argv: job.argv }, `${this.label} not run: the daemon is stopping`);
      return;
    }
    const q = this.queues.get(key) ?? [];
    q.push({ job, enqueuedAt: performance.now() });
    this.queues.set(key, q);
    if (!this.running.has(key)) this.next(key);
  }

  /** Jobs waiting or running, over all keys. */
  pending(): number {
    let n = this.running.size;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /**
   * Stops accepting jobs, lets queued and running ones finish for up to
   * `graceMs`, then kills the running process groups and drops the rest.
   */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    if (this.pending() === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<void>((r) => this.idleWaiters.push(r));
    const late = await Promise.race([idle.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs)))]);
    clearTimeout(timer);
    if (!late) return;
    let dropped = 0;
    for (const q of this.queues.values()) dropped += q.length;
    this.queues.clear();
    for (const child of this.running.values()) if (child?.pid) killGroup(child.pid);
    this.options.log.warn({ dropped, killed: this.running.size, graceMs }, `${this.label}s still pending at stop: killed or dropped`);
  }

  private next(key: string): void {
    const q = this.queues.get(key);
    const item = q?.shift();
    if (!item) {
      this.queues.delete(key);
      this.running.delete(key);
      if (this.pending() === 0) for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    this.running.set(key, null);
    this.run(key, item).then(
      () => this.next(key),
      (err: unknown) => {
        this.options.log.error({ err, ...item.job.context }, `${this.label} runner failed`);
        this.next(key);
      },
    );
  }

  private run(key: string, { job, enqueuedAt }: Queued): Promise<void> {
    const log = this.options.log.child({ ...job.context, argv: job.argv });
    const finish = (outcome: JobOutcome) => {
      try {
        this.options.onDone?.(job, outcome);
      } catch (err) {
        log.error({ err }, `${this.label} onDone listener failed`);
      }
    };
    const startDelayMs = performance.now() - enqueuedAt;
    const prepared = safe(
      (): Prepared => job.prepare?.() ?? { ok: true },
      (err): Prepared => ({ ok: false, reason: `prepare failed: ${String(err)}` }),
    );
    if (!prepared.ok) {
      const refused = prepared.reason;
      log.error({ reason: refused }, `${this.label} refused`);
      finish({ exitCode: null, signal: null, timedOut: false, refused, startDelayMs, durationMs: 0 });
      return Promise.resolve();
    }
    const env = { ...process.env };
    for (const k of DROPPED_ENV) delete env[k];
    return new Promise<void>((done) => {
      const started = performance.now();
      let child: ChildProcess;
      try {
        child = spawn(job.argv[0]!, job.argv.slice(1), {
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
          cwd: '/',
          env,
          ...(prepared.uid !== undefined ? { uid: prepared.uid } : {}),
          ...(prepared.gid !== undefined ? { gid: prepared.gid } : {}),
        });
      } catch (err) {
        log.error({ err }, `${this.label} could not start`);
        finish({ exitCode: null, signal: null, timedOut: false, refused: `spawn: ${String(err)}`, startDelayMs, durationMs: 0 });
        done();
        return;
      }
      this.running.set(key, child);
      log[this.routine]({ pid: child.pid, uid: prepared.uid, gid: prepared.gid, startDelayMs: round(startDelayMs) }, `${this.label} started`);
      const maxLines = this.options.maxLogLines ?? 200;
      let lines = 0;
      let droppedLines = 0;
      for (const [stream, level] of [
        [child.stdout, 'info'],
        [child.stderr, 'warn'],
      ] as const) {
        if (!stream) continue;
        const rl = createInterface({ input: stream, crlfDelay: Infinity });
        rl.on('line', (line) => {
          if (lines++ >= maxLines) droppedLines++;
          else log[level]({ pid: child.pid, stream: level === 'info' ? 'stdout' : 'stderr', line }, `${this.label} output`);
        });
        rl.on('error', () => undefined);
      }
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        log.warn({ pid: child.pid, timeoutMs: this.options.timeoutMs }, `${this.label} timed out: killing its process group`);
        if (child.pid) killGroup(child.pid);
      }, this.options.timeoutMs);
      let settled = false;
      const settle = (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const durationMs = performance.now() - started;
        if (spawnError) log.error({ err: spawnError }, `${this.label} could not start`);
        else if (droppedLines > 0) log.warn({ droppedLines }, `${this.label} output truncated in the log`);
        if (!spawnError) {
          const fields = { pid: child.pid, exitCode, signal, timedOut, durationMs: round(durationMs) };
          if (exitCode === 0) log[this.routine](fields, `${this.label} exited`);
          else if (this.routine === 'debug') log.debug(fields, `${this.label} failed`);
          else log.warn(fields, `${this.label} failed`);
        }
        finish({ exitCode, signal, timedOut, refused: spawnError ? `spawn: ${spawnError.message}` : null, startDelayMs, durationMs });
        done();
      };
      child.on('error', (err) => settle(null, null, err));
      // 'exit', not 'close': a background child that keeps the pipes open
      // must not hold the queue (keepalived does not wait for it either).
      child.on('exit', (code, signal) => settle(code, signal));
    });
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function safe<T>(fn: () => T, onError: (err: unknown) => T): T {
  try {
    return fn();
  } catch (err) {
    return onError(err);
  }
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
