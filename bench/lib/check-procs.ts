/**
 * The checker benchmark's helper processes in a lab node: the real servers
 * (check-servers.ts), the checker subsystem alone (check-child.ts) and nginx,
 * each spawned under `ip netns exec` and ended by its PID when the lab goes.
 * The first two talk JSON lines (see their headers).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, pollUntil, type Lab, type SpawnedProcess } from '../../lab/index.js';
import { privateNginxConf } from '../../lab/nginx.js';

const here = dirname(fileURLToPath(import.meta.url));
const ext = fileURLToPath(import.meta.url).endsWith('.ts') ? '.ts' : '.js';
const loader = ext === '.ts' ? ['--import', 'tsx'] : [];

/** node and its arguments to run a program that sits next to this file (compiled or through tsx). */
export function nodeProgram(name: string): string[] {
  return [process.execPath, ...loader, join(here, `${name}${ext}`)];
}

/** `vipflow` as this checkout runs it: dist/cli/main.js next to dist/bench, or the sources through tsx. */
export function vipflowProgram(): string[] {
  return [process.execPath, ...loader, join(here, '..', '..', 'cli', `main${ext}`)];
}

export interface JsonLine {
  kind: string;
  at: number;
  [k: string]: unknown;
}

export interface LineChild {
  proc: SpawnedProcess;
  lines: JsonLine[];
  stderr(): string;
  send(line: string): void;
  /** The first line (from index `from`) that satisfies `pred`, or undefined after timeoutMs or when the process ended. */
  waitFor(pred: (l: JsonLine) => boolean, timeoutMs: number, from?: number): Promise<JsonLine | undefined>;
  /** SIGTERM by PID. */
  stop(): void;
}

/** Spawns `argv` in the node with stdin, stdout and stderr piped, collecting stdout's JSON lines. */
export function spawnLineChild(lab: Lab, node: string, argv: readonly string[]): LineChild {
  const proc = lab.spawn(node, argv[0]!, argv.slice(1), ['pipe', 'pipe', 'pipe']);
  const lines: JsonLine[] = [];
  let buffered = '';
  let err = '';
  proc.child.stdout?.setEncoding('utf8');
  proc.child.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as JsonLine);
      } catch {
        // not ours (a stray print): ignored
      }
    }
  });
  proc.child.stderr?.setEncoding('utf8');
  proc.child.stderr?.on('data', (c: string) => void (err.length < 20_000 && (err += c)));
  proc.child.stdin?.on('error', () => undefined);
  return {
    proc,
    lines,
    stderr: () => err,
    send: (line) => void proc.child.stdin?.write(line + '\n'),
    async waitFor(pred, timeoutMs, from = 0) {
      return pollUntil(
        () => {
          for (let i = from; i < lines.length; i++) if (pred(lines[i]!)) return lines[i];
          return isAlive(proc.pid) ? undefined : null;
        },
        timeoutMs,
        5,
      ).then((l) => l ?? undefined);
    },
    stop() {
      try {
        process.kill(proc.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}

/** check-servers.ts in the node, waited for (10 s) until every listener listens. */
export async function startCheckServers(lab: Lab, node: string, specs: readonly string[], lifetimeMs: number): Promise<LineChild> {
  const c = spawnLineChild(lab, node, [...nodeProgram('check-servers'), String(lifetimeMs), ...specs]);
  if (!(await c.waitFor((l) => l.kind === 'ready', 10_000))) {
    c.stop();
    throw new Error(`check-servers did not start: ${c.stderr().slice(0, 2000)}`);
  }
  return c;
}

/** check-child.ts in the node with `conf`, waited for (60 s) until its checkers started. */
export async function startCheckChild(lab: Lab, node: string, conf: string, lifetimeMs: number): Promise<LineChild> {
  const c = spawnLineChild(lab, node, [...nodeProgram('check-child'), conf, String(lifetimeMs)]);
  if (!(await c.waitFor((l) => l.kind === 'ready', 60_000))) {
    c.stop();
    throw new Error(`check-child did not start: ${c.stderr().slice(0, 2000)}`);
  }
  return c;
}

/** The connections a check-servers process accepted so far, or NaN when it does not answer within 2 s. */
export async function serverConnections(servers: LineChild): Promise<number> {
  const from = servers.lines.length;
  servers.send('count');
  const l = await servers.waitFor((x) => x.kind === 'count', 2000, from);
  return l ? Number(l.connections) : Number.NaN;
}

export interface LabNginx {
  proc: SpawnedProcess;
  /** Requests nginx handled so far (stub_status), or NaN when it does not answer. */
  requests(): Promise<number>;
}

/**
 * nginx in the node on 0.0.0.0:`port` (every 127/8 address of the node's lo),
 * answering 200 on every path, with stub_status on 127.0.0.1:`port`/nginx_status.
 */
export async function startLabNginx(lab: Lab, node: string, port: number): Promise<LabNginx> {
  const base = join(lab.dir, `nginx-chk-${node}`);
  mkdirSync(join(base, 'tmp'), { recursive: true });
  chmodSync(lab.dir, 0o711);
  chmodSync(base, 0o755);
  const conf = join(base, 'nginx.conf');
  writeFileSync(
    conf,
    privateNginxConf(
      base,
      8192,
      `    listen ${port} backlog=4096;
    location = /nginx_status { stub_status; }
    location / { default_type text/plain; return 200 "ok\\n"; }
`,
    ),
  );
  const proc = lab.spawn(node, 'nginx', ['-c', conf, '-p', base]);
  const status = async (): Promise<string | undefined> => {
    const r = await lab.exec(node, 'curl', ['-s', '--max-time', '2', `http://127.0.0.1:${port}/nginx_status`], 3000);
    return r.code === 0 ? r.stdout : undefined;
  };
  if (!(await pollUntil(status, 5000, 50))) throw new Error(`nginx in ${node} did not answer on port ${port} within 5 s`);
  return {
    proc,
    async requests() {
      // "server accepts handled requests\n A H R"
      const m = /\n\s*(\d+)\s+(\d+)\s+(\d+)/.exec((await status()) ?? '');
      return m ? Number(m[3]) : Number.NaN;
    },
  };
}
