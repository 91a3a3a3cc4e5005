/**
 * Prometheus Alertmanager (Debian's prometheus-alertmanager) for tests: on the root
 * namespace's loopback, or inside a lab node. Every path is private (config and storage
 * under a temp or lab dir) and clustering is off (`--cluster.listen-address=` empty), so
 * parallel instances never gossip with each other. Its API is read with fetch on
 * loopback, or with curl run inside the node for a lab instance (the test process lives
 * in the root namespace and cannot reach lab addresses).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register, release, type CleanupRecord } from './cleanup.js';
import type { Lab } from './lab.js';
import { isAlive, pollUntil, sleep } from './run.js';

/** An alert as `GET /api/v2/alerts` returns it (the fields tests read). */
export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
}

export interface AlertmanagerProcess {
  pid: number;
  /** Base URL for the notifier, e.g. http://127.0.0.1:40123. */
  url: string;
  /** `GET /api/v2/alerts` (Alertmanager lists only alerts that have not ended). */
  alerts(): Promise<GettableAlert[]>;
  /** SIGTERM, then SIGKILL after a bound; removes a temp dir it created. Idempotent. */
  stop(): Promise<void>;
}

// A receiver that sends nothing: the tests read alerts from the API, not from notifications.
const CONFIG = `route:
  receiver: discard
receivers:
  - name: discard
`;

/** A TCP port free on 127.0.0.1 right now (the kernel's choice). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Where {
  /** Start it in this lab node (listening on `host`); default: the root namespace's loopback. */
  lab?: Lab;
  node?: string;
  host?: string;
  port?: number;
}

/**
 * Starts Alertmanager and resolves once `/-/ready` answers (within 15 s), else throws
 * with its log. On loopback the port is a free one unless given.
 */
export async function startAlertmanager(where: Where = {}): Promise<AlertmanagerProcess> {
  const inLab = where.lab !== undefined && where.node !== undefined;
  const dir = inLab ? mkdtempIn(where.lab!.dir) : mkdtempSync(join(tmpdir(), 'vipflow-am-'));
  const host = where.host ?? '127.0.0.1';
  const port = where.port ?? (inLab ? 9093 : await freeLoopbackPort());
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  writeFileSync(join(dir, 'am.yml'), CONFIG);
  const args = [
    `--config.file=${join(dir, 'am.yml')}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=${host.includes(':') ? `[${host}]` : host}:${port}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ];
  let log = '';
  const keep = (c: Buffer) => void (log.length < 64_000 && (log += c.toString()));
  let pid: number;
  let exited: Promise<unknown>;
  const record: CleanupRecord = { namespaces: new Set(), pids: new Set(), tempDirs: new Set(inLab ? [] : [dir]) };
  if (inLab) {
    const p = where.lab!.spawn(where.node!, 'prometheus-alertmanager', args);
    p.child.stderr?.on('data', keep);
    pid = p.pid;
    exited = p.exited;
  } else {
    register(record);
    const child = spawn('prometheus-alertmanager', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    if (child.pid === undefined) throw new Error('cannot start prometheus-alertmanager');
    child.stderr?.on('data', keep);
    pid = child.pid;
    record.pids.add(pid);
    exited = new Promise((r) => child.once('exit', r));
  }
  const get = async (path: string): Promise<{ status: number; body: string } | undefined> => {
    if (!inLab) {
      try {
        const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(2000) });
        return { status: res.status, body: await res.text() };
      } catch {
        return undefined;
      }
    }
    const r = await where.lab!.exec(where.node!, 'curl', ['-s', '-g', '--max-time', '2', '-w', '\n%{http_code}', `${url}${path}`], 5000);
    if (r.code !== 0) return undefined;
    const nl = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(nl + 1)), body: r.stdout.slice(0, nl) };
  };
  let stopped = false;
  const am: AlertmanagerProcess = {
    pid,
    url,
    async alerts() {
      const r = await get('/api/v2/alerts');
      if (!r || r.status !== 200) throw new Error(`GET ${url}/api/v2/alerts failed: ${r ? `${r.status} ${r.body}` : 'no answer'}`);
      return JSON.parse(r.body) as GettableAlert[];
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
      const ended = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!ended && isAlive(pid)) process.kill(pid, 'SIGKILL');
      if (!inLab) {
        rmSync(dir, { recursive: true, force: true });
        record.pids.delete(pid);
        record.tempDirs.delete(dir);
        release(record);
      }
    },
  };
  const ready = await pollUntil(async () => ((await get('/-/ready'))?.status === 200 ? true : undefined), 15_000, 100);
  if (!ready) {
    await am.stop();
    throw new Error(`alertmanager on ${url} not ready within 15 s: ${log.trim()}`);
  }
  return am;
}

function mkdtempIn(parent: string): string {
  return mkdtempSync(join(parent, 'alertmanager-'));
}
