/**
 * A harness for lab tests of the checker subsystem (virtual_server blocks):
 * a real `vipflow run` daemon in a lab node with a keepalived.conf of the
 * test's own, observed the way an operator would observe it:
 *
 * - `vipflow status --json` (checks.virtualServers[].realServers[]), polled
 *   with a deadline until a real server reaches a state;
 * - the daemon's JSON log lines ('real server down' / 'real server up' /
 *   'quorum up' / 'quorum down'), waited for after a mark, with the local time
 *   each wait ended (the line's arrival, to a few ms) for latency figures;
 * - notify scripts that append their argv to a file (a root-owned 0755 dir
 *   under the lab's temp dir: enable_script_security refuses scripts a
 *   non-root user could change);
 * - the notify_fifo, read without blocking;
 * - the daemon's memory from /proc.
 *
 * Nothing here is tied to one checker type: HTTP, MISC, DNS, SMTP and UDP
 * tests build their own virtual_server text and real servers.
 */
import { chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChecksStatus } from '../../daemon/checks.js';
import type { Lab } from '../../lab/index.js';
import { pollUntil, run } from '../../lab/run.js';
import { startVipflow, type LogLine, type StartOptions, type VipflowDaemon } from '../../lab/vipflow.js';

export type VirtualServerView = ChecksStatus['virtualServers'][number];
export type RealServerView = VirtualServerView['realServers'][number];
export type CheckerView = RealServerView['checkers'][number];

export interface GlobalDefsOptions {
  routerId: string;
  /** notify_fifo path (the daemon creates the FIFO) */
  notifyFifo?: string;
  /** extra global_defs lines */
  extra?: string[];
}

/**
 * global_defs for a checker daemon: scripts run as root under
 * enable_script_security (as keepalived wants them declared), optional
 * notify_fifo. Append the test's virtual_server blocks.
 */
export function globalDefs(o: GlobalDefsOptions): string {
  return [
    'global_defs {',
    `  router_id ${o.routerId}`,
    '  script_user root',
    '  enable_script_security',
    ...(o.notifyFifo !== undefined ? [`  notify_fifo ${o.notifyFifo}`] : []),
    ...(o.extra ?? []).map((l) => `  ${l}`),
    '}',
    '',
  ].join('\n');
}

/** The real server id the status and the logs use: `<vs address>:<vs port>/<rs address>:<rs port>`. */
export function rsId(vs: string, rs: string): string {
  return `${vs}/${rs}`;
}

export interface SeenLine {
  line: LogLine;
  /** performance.now() when the wait ended (the line's arrival) */
  at: number;
}

export interface CheckDaemon {
  daemon: VipflowDaemon;
  /** The daemon's checks section (throws when status fails). */
  checks(): Promise<ChecksStatus>;
  virtualServer(id: string): Promise<VirtualServerView | undefined>;
  realServer(id: string): Promise<RealServerView | undefined>;
  /**
   * Polls the status until `pred` holds for real server `id`; the view and
   * performance.now() of the poll that saw it, or undefined after timeoutMs.
   */
  waitForRealServer(
    id: string,
    pred: (rs: RealServerView) => boolean,
    timeoutMs: number,
    intervalMs?: number,
  ): Promise<{ rs: RealServerView; at: number } | undefined>;
  /** How many log lines so far: a mark for waitForLine. */
  mark(): number;
  /** The first log line after `mark` matching, with its arrival time, or undefined after timeoutMs. */
  waitForLine(match: (l: LogLine) => boolean, mark: number, timeoutMs: number): Promise<SeenLine | undefined>;
  /** 'real server down' / 'real server up' for real server `id` after `mark`. */
  waitForRs(event: 'down' | 'up', id: string, mark: number, timeoutMs: number): Promise<SeenLine | undefined>;
  /** Log lines after `mark` matching. */
  linesSince(mark: number, match: (l: LogLine) => boolean): LogLine[];
  /** VmRSS and VmHWM (peak) of the daemon process, in KiB. */
  memory(): { rssKiB: number; peakKiB: number };
}

/**
 * Starts `vipflow run` named `name` in `node` with keepalived.conf text
 * `conf` (see startVipflow) and returns it wrapped with the checker views.
 * The caller kills it (daemon.kill()) in an after hook; lab.destroy() ends it too.
 */
export async function startCheckDaemon(lab: Lab, node: string, name: string, conf: string, options: StartOptions = {}): Promise<CheckDaemon> {
  const daemon = await startVipflow(lab, node, name, conf, options);
  const checks = async () => {
    const s = await daemon.status();
    if (s.checks === undefined) throw new Error('the daemon reports no checks section');
    return s.checks;
  };
  const virtualServer = async (id: string) => (await checks()).virtualServers.find((v) => v.id === id);
  const realServer = async (id: string) => {
    for (const v of (await checks()).virtualServers) {
      const r = v.realServers.find((x) => x.id === id);
      if (r !== undefined) return r;
    }
    return undefined;
  };
  const waitForLine = async (match: (l: LogLine) => boolean, mark: number, timeoutMs: number): Promise<SeenLine | undefined> => {
    // The lines array only grows: a line past the mark is found by its index.
    const line = await daemon.waitForLog((l) => match(l) && daemon.lines.indexOf(l) >= mark, timeoutMs);
    return line === undefined ? undefined : { line, at: performance.now() };
  };
  return {
    daemon,
    checks,
    virtualServer,
    realServer,
    async waitForRealServer(id, pred, timeoutMs, intervalMs = 50) {
      return pollUntil(
        async () => {
          const rs = await realServer(id);
          return rs !== undefined && pred(rs) ? { rs, at: performance.now() } : undefined;
        },
        timeoutMs,
        intervalMs,
      );
    },
    mark: () => daemon.lines.length,
    waitForLine,
    waitForRs: (event, id, mark, timeoutMs) =>
      waitForLine((l) => l.msg === (event === 'down' ? 'real server down' : 'real server up') && l.realServer === id, mark, timeoutMs),
    linesSince: (mark, match) => daemon.lines.slice(mark).filter(match),
    memory() {
      const text = readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
      const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
      return { rssKiB: kib('VmRSS'), peakKiB: kib('VmHWM') };
    },
  };
}

export interface ArgvRecorder {
  /** The script's path; put it first in a notify_* command line. */
  script: string;
  /** `"<script> args..."`: a quoted command line for notify_up / quorum_down / misc_path ... */
  command(...args: string[]): string;
  /** Each run's argv ($0 and its arguments, space separated), in order. */
  runs(): string[];
  /** Polls until `n` runs were recorded; the runs then, or undefined after timeoutMs. */
  waitForRuns(n: number, timeoutMs: number): Promise<string[] | undefined>;
}

/**
 * A shell script that appends its argv to a file, one line per run, in a
 * root-owned 0755 directory under the lab's temp dir (never a world-writable
 * one: enable_script_security would refuse to run it as root).
 * `exitCode` makes it usable as a MISC_CHECK too.
 */
export function argvRecorder(lab: Lab, name: string, exitCode = 0): ArgvRecorder {
  if (!/^[a-z][a-z0-9_-]*$/.test(name)) throw new Error(`bad recorder name ${name}`);
  const dir = join(lab.dir, 'scripts');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const script = join(dir, `${name}.sh`);
  const log = join(dir, `${name}.log`);
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$0 $*" >> ${log}\nexit ${exitCode}\n`);
  chmodSync(script, 0o755);
  const runs = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  return {
    script,
    command: (...args) => `"${[script, ...args].join(' ')}"`,
    runs,
    waitForRuns: (n, timeoutMs) => pollUntil(() => (runs().length >= n ? runs() : undefined), timeoutMs, 25),
  };
}

export interface FifoReader {
  /** Every complete line read so far (reads what is waiting first). */
  lines(): string[];
  /** Polls until `n` lines were read; the lines then, or undefined after timeoutMs. */
  waitForLines(n: number, timeoutMs: number): Promise<string[] | undefined>;
  close(): void;
}

/**
 * Reads a notify_fifo the daemon created (call after the daemon started), non-blocking:
 * the daemon holds the FIFO open read-write itself, so lines wait in the pipe until read.
 */
export function readFifo(path: string): FifoReader {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let text = '';
  let closed = false;
  const drain = () => {
    if (closed) return;
    const buf = Buffer.alloc(65536);
    for (let i = 0; i < 64; i++) {
      let n = 0;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return;
        throw err;
      }
      if (n <= 0) return;
      text += buf.subarray(0, n).toString('utf8');
    }
  };
  const lines = () => {
    drain();
    return text.split('\n').slice(0, -1);
  };
  return {
    lines,
    waitForLines: (n, timeoutMs) => pollUntil(() => (lines().length >= n ? lines() : undefined), timeoutMs, 25),
    close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}

/**
 * A self-signed certificate and key made with openssl in `dir` (keepalived's
 * SSL_GET does not verify the certificate). Returns the two paths.
 */
export async function selfSignedCert(dir: string, commonName: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${commonName}.crt`);
  const key = join(dir, `${commonName}.key`);
  const r = await run(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=${commonName}`, '-keyout', key, '-out', cert],
    30_000,
  );
  if (r.code !== 0) throw new Error(`openssl req failed: ${r.stderr.trim()}`);
  // nginx's master reads them as root; keep the key private.
  chmodSync(key, 0o600);
  return { cert, key };
}

export interface CheckerTiming {
  delayLoopMs: number;
  /** the probe's own time limit when it times out (connect_timeout for connection checkers) */
  connectTimeoutMs: number;
  retry: number;
  delayBeforeRetryMs: number;
  /** scheduling, process start-up and status polling */
  marginMs: number;
}

/**
 * keepalived's bounds on noticing a change, for a checker with this timing:
 *
 * - down(timesOut): from the fault to the real server down. Up to delay_loop
 *   until the first failing probe, then `retry` more probes delay_before_retry
 *   apart; when the fault makes probes time out (dropped packets), each of the
 *   retry + 1 probes takes up to connect_timeout; a refused connection fails at once.
 * - up(timesOut): from the fault's end to the real server up. A down checker
 *   probes every delay_before_retry or delay_loop (tcp_epilog keeps retrying);
 *   one probe may be timing out when the fault ends.
 */
export function detectionBounds(t: CheckerTiming): { down(timesOut: boolean): number; up(timesOut: boolean): number } {
  return {
    down: (timesOut) => t.delayLoopMs + t.retry * t.delayBeforeRetryMs + (timesOut ? (t.retry + 1) * t.connectTimeoutMs : 0) + t.marginMs,
    up: (timesOut) => Math.max(t.delayLoopMs, t.delayBeforeRetryMs) + (timesOut ? t.connectTimeoutMs : 0) + t.marginMs,
  };
}

/** Milliseconds, rounded, for the figures the tests print. */
export const ms = (x: number): number => Math.round(x);
