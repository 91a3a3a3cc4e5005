/**
 * Runs `vipflow run` in a lab node as a real process and watches it: its
 * JSON log lines (stdout), its status through `vipflow status --json`, its
 * exit. From dist/ (npm test) the compiled CLI runs; from sources the same
 * command runs through tsx, so a test file behaves the same either way.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DaemonStatus } from '../daemon/daemon.js';
import type { Lab } from './lab.js';
import { isAlive, pollUntil, run, within } from './run.js';
import { repoRoot } from '../core/paths.js';

export interface LogLine {
  level: number;
  time: string;
  msg: string;
  instance?: string;
  from?: string;
  to?: string;
  reason?: string;
  [key: string]: unknown;
}

/** A state change as the daemon logs it, with the local time the test saw the line. */
export interface SeenTransition {
  instance: string;
  from: string;
  to: string;
  reason: string;
  /** performance.now() in the test process when the line arrived. */
  seenAt: number;
}

const fromDist = fileURLToPath(import.meta.url).includes(`${join(repoRoot, 'dist')}/`);

/** The argv prefix that runs the vipflow CLI with this Node. */
export function vipflowCommand(): string[] {
  if (fromDist) return [join(repoRoot, 'dist', 'cli', 'main.js')];
  // An absolute loader URL: `--import tsx` would resolve against the cwd.
  const tsx = createRequire(join(repoRoot, 'package.json')).resolve('tsx');
  return ['--import', pathToFileURL(tsx).href, join(repoRoot, 'cli', 'main.ts')];
}

export interface VipflowDaemon {
  pid: number;
  node: string;
  stateDir: string;
  configPath: string;
  readonly lines: LogLine[];
  readonly transitions: SeenTransition[];
  stderr(): string;
  /** Exit code or signal name. */
  exited: Promise<number | string>;
  /** The first log line (already seen or future) matching, or undefined after timeoutMs. */
  waitForLog(match: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine | undefined>;
  /** Waits for a transition into `to` (of `instance`, else of any) logged after `after` (a transitions.length mark). */
  waitForState(to: string, timeoutMs: number, after?: number, instance?: string): Promise<SeenTransition | undefined>;
  /** `vipflow status --json` run in the node against this daemon. */
  status(): Promise<DaemonStatus>;
  /** Any vipflow subcommand run in the node. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Rewrites the config file (for SIGHUP tests). */
  writeConfig(text: string): void;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, then waits for the exit (bounded); returns the exit. */
  stop(timeoutMs?: number): Promise<number | string | undefined>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
}

export interface StartOptions {
  logLevel?: string;
  /** Wait for 'vipflow running' (default true). */
  waitReady?: boolean;
  /** A command prefix (e.g. `env VAR=...`, or privilege tools) before the Node binary. */
  prefix?: string[];
  /** Extra `vipflow run` options (e.g. `--workflows FILE`). */
  args?: string[];
  /** The argv that runs vipflow, for `run` and `cli()` (default: this Node with dist/ or the sources); e.g. an installed `vipflow`. */
  command?: string[];
}

/**
 * Starts a daemon named `name` (unique per lab) in `node` with `config`
 * (keepalived.conf text). Resolves once it logged 'vipflow running', or
 * throws with its stderr when it exits or is not ready within 15 s.
 */
export async function startVipflow(lab: Lab, node: string, name: string, config: string, options: StartOptions = {}): Promise<VipflowDaemon> {
  const configPath = join(lab.dir, `vipflow-${name}.conf`);
  const stateDir = join(lab.dir, `vipflow-${name}-state`);
  writeFileSync(configPath, config);
  const command = options.command ?? [process.execPath, ...vipflowCommand()];
  const argv = [...command, 'run', '--config', configPath, '--state-dir', stateDir, '--log-level', options.logLevel ?? 'info', ...(options.args ?? [])];
  const [cmd, ...args] = [...(options.prefix ?? []), ...argv];
  const proc = lab.spawn(node, cmd!, args);
  const lines: LogLine[] = [];
  const transitions: SeenTransition[] = [];
  const waiters = new Set<() => void>();
  let partial = '';
  let err = '';
  proc.child.stdout?.setEncoding('utf8');
  proc.child.stderr?.setEncoding('utf8');
  proc.child.stdout?.on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    const now = performance.now();
    for (const text of parts) {
      if (!text.trim()) continue;
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { level: 0, time: '', msg: text };
      }
      if (lines.length < 100_000) lines.push(line);
      if (typeof line.from === 'string' && typeof line.to === 'string' && typeof line.reason === 'string')
        transitions.push({ instance: String(line.instance ?? ''), from: line.from, to: line.to, reason: line.reason, seenAt: now });
    }
    for (const w of [...waiters]) w();
  });
  proc.child.stderr?.on('data', (chunk: string) => {
    if (err.length < 1_000_000) err += chunk;
  });
  let exitValue: number | string | undefined;
  const exited = proc.exited.then((v) => {
    exitValue = v;
    for (const w of [...waiters]) w();
    return v;
  });

  const waitFor = <T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> => {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const waiter = () => {
        const v = check();
        if (v === undefined && exitValue === undefined) return;
        waiters.delete(waiter);
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        resolve(undefined);
      }, timeoutMs);
      waiters.add(waiter);
    });
  };
  const cli = (cliArgs: string[]) => lab.exec(node, command[0]!, [...command.slice(1), ...cliArgs], 15_000);

  const daemon: VipflowDaemon = {
    pid: proc.pid,
    node,
    stateDir,
    configPath,
    lines,
    transitions,
    stderr: () => err,
    exited,
    waitForLog: (match, timeoutMs) => waitFor(() => lines.find(match), timeoutMs),
    waitForState: (to, timeoutMs, after = 0, instance) =>
      waitFor(() => transitions.slice(after).find((t) => t.to === to && (instance === undefined || t.instance === instance)), timeoutMs),
    async status() {
      const r = await cli(['status', '--state-dir', stateDir, '--json']);
      if (r.code !== 0) throw new Error(`vipflow status failed (${r.code}): ${r.stderr}`);
      return JSON.parse(r.stdout) as DaemonStatus;
    },
    cli,
    writeConfig: (text) => writeFileSync(configPath, text),
    signal(sig) {
      if (exitValue === undefined) process.kill(proc.pid, sig);
    },
    async stop(timeoutMs = 5000) {
      if (exitValue === undefined && isAlive(proc.pid)) process.kill(proc.pid, 'SIGTERM');
      // within() clears its timer: a pending one would keep the test process alive for timeoutMs after the exit.
      const r = await within(exited, timeoutMs);
      return r === 'timeout' ? undefined : r;
    },
    async kill() {
      if (exitValue === undefined && isAlive(proc.pid)) process.kill(proc.pid, 'SIGKILL');
      await within(exited, 3000);
    },
  };
  if (options.waitReady === false) return daemon;
  const ready = await daemon.waitForLog((l) => l.msg === 'vipflow running', 15_000);
  if (!ready) {
    await daemon.kill();
    throw new Error(`vipflow ${name} in ${node} not running (exit ${String(exitValue)}): ${err.trim() || lines.map((l) => l.msg).join(' | ')}`);
  }
  return daemon;
}

/** The node's addresses on eth0 as a set of strings (fast path for the handover polls). */
export async function addressesOf(lab: Lab, node: string): Promise<Set<string>> {
  const r = await run('ip', ['-n', lab.node(node).ns, '-j', 'addr', 'show', 'dev', 'eth0'], 3000);
  if (r.code !== 0) return new Set();
  const parsed = JSON.parse(r.stdout || '[]') as { addr_info?: { local: string }[] }[];
  return new Set(parsed.flatMap((l) => (l.addr_info ?? []).map((a) => a.local)));
}

/** Which of `nodes` hold `vip` right now. */
export async function holders(lab: Lab, nodes: readonly string[], vip: string): Promise<string[]> {
  const sets = await Promise.all(nodes.map((n) => addressesOf(lab, n)));
  return nodes.filter((_, i) => sets[i]!.has(vip));
}

/** Polls until exactly `node` (of `nodes`) holds `vip`; resolves to whether it happened within timeoutMs. */
export async function waitForHolder(lab: Lab, nodes: readonly string[], vip: string, node: string, timeoutMs: number): Promise<boolean> {
  const r = await pollUntil(
    async () => {
      const h = await holders(lab, nodes, vip);
      return h.length === 1 && h[0] === node ? true : undefined;
    },
    timeoutMs,
    20,
  );
  return r === true;
}
