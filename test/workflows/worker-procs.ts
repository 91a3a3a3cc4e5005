/**
 * Test plumbing for worker tests: `vipflow worker` processes (from src through tsx, or
 * from dist), a daemon-like publisher (NatsBus with an outbox, as the daemon uses), a
 * stream reader, and the trail file the fixture workflows write.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { vipflowCommand } from '../../lab/vipflow.js';
import { repoRoot } from '../../core/paths.js';
import { startNatsServer, type NatsServer } from '../../infra/events/local-nats.js';
import { NatsBus } from '../../infra/events/nats-bus.js';
import type { EventOf, EventType, VipflowEvent } from '../../infra/events/schema.js';
import { createEventSource, type EventSource } from '../../infra/events/source.js';
import { silentLogger } from '../../core/logger.js';
import { samplePayloads } from '../infra/events/fixtures.js';

export const WORKFLOWS_FILE = join(repoRoot, 'test', 'workflows', 'fixtures', 'worker.workflows.ts');

export interface WorkerProc {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  lines: { msg?: string; [k: string]: unknown }[];
  exited: Promise<number | string>;
  waitForLog(msg: string, timeoutMs: number): Promise<boolean>;
}

export function startWorker(o: {
  name: string;
  nats?: string;
  cluster: string;
  trail: string;
  concurrency?: number;
  stopGraceMs?: number;
  workflowArgs?: string[];
}): WorkerProc {
  const args = [
    ...vipflowCommand(),
    'worker',
    ...(o.nats !== undefined ? ['--nats', o.nats] : []),
    ...(o.workflowArgs ?? ['--workflows', WORKFLOWS_FILE]),
    '--cluster',
    o.cluster,
    '--name',
    o.name,
    '--concurrency',
    String(o.concurrency ?? 1),
    '--stop-grace',
    String(o.stopGraceMs ?? 3000),
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, VIPFLOW_TEST_TRAIL: o.trail, VIPFLOW_TEST_WORKER: o.name, VIPFLOW_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: WorkerProc['lines'] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (c: string) => {
    buf += c;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(l) as WorkerProc['lines'][number]);
      } catch {
        lines.push({ msg: l });
      }
    }
  });
  child.stderr!.resume();
  const exited = new Promise<number | string>((r) => child.once('exit', (code, sig) => r(code ?? sig ?? -1)));
  return {
    name: o.name,
    pid: child.pid!,
    child,
    lines,
    exited,
    async waitForLog(msg, timeoutMs) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        if (lines.some((l) => l.msg === msg)) return true;
        if (child.exitCode !== null || child.signalCode !== null) return false;
        await new Promise((r) => setTimeout(r, 20));
      }
      return false;
    },
  };
}

/** SIGTERM (or `sig`) by PID, then waits (bounded) for the exit; SIGKILL if it lingers. */
export async function stopWorker(w: WorkerProc, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  process.kill(w.pid, sig);
  const t = setTimeout(() => w.child.exitCode === null && w.child.signalCode === null && process.kill(w.pid, 'SIGKILL'), 8000);
  await w.exited;
  clearTimeout(t);
}

export interface TrailLine {
  what: string;
  key: string;
  worker: string;
}

export function readTrail(path: string): TrailLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [what = '', key = '', worker = ''] = l.split(' ');
      return { what, key, worker };
    });
}

/** A transition as a daemon publishes it; `reason` steers the fixture workflow's hold step. */
export function fixtureTransition(src: EventSource, instance: string, to: 'master' | 'backup', reason: string): EventOf<'instance.transition'> {
  return src.make('instance.transition', { ...samplePayloads['instance.transition'], instance, from: to === 'master' ? 'backup' : 'master', to, reason });
}

/** The trail lines of one event's run. */
export function runTrail(trail: string, eventId: string): TrailLine[] {
  return readTrail(trail).filter((l) => l.key.startsWith(`${eventId}/`));
}

/** Every event of the given types in the cluster's stream (reads to the end, then stops). */
export async function streamEvents(nats: string, cluster: string, types: EventType[]): Promise<VipflowEvent[]> {
  const bus = new NatsBus({ servers: nats, cluster, log: silentLogger(), manageStream: false });
  try {
    const got: VipflowEvent[] = [];
    const sub = await bus.subscribe({ types }, (e) => void got.push(e), { start: { from: 'all' } });
    await sub.caughtUp;
    await sub.close();
    return got;
  } finally {
    await bus.close();
  }
}

export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Registers before/after hooks for a worker test file: a nats-server, a daemon-like
 * publisher (NatsBus with an outbox; it creates the stream), a trail file, and the
 * worker processes the tests start; all stopped and removed afterwards even on failure.
 */
export function workerScene(cluster: string) {
  const scene = {
    server: undefined as unknown as NatsServer,
    dir: '',
    trail: '',
    bus: undefined as unknown as NatsBus,
    src: undefined as unknown as EventSource,
    workers: [] as WorkerProc[],
    /** A worker process (concurrency 1 unless told), tracked for the after hook. */
    worker(name: string, o: { concurrency?: number; stopGraceMs?: number; workflowArgs?: string[]; nats?: string } = {}): WorkerProc {
      const w = startWorker({ name, nats: scene.server.url, cluster, trail: scene.trail, ...o });
      scene.workers.push(w);
      return w;
    },
    /** A transition as a daemon publishes it; `reason` steers the fixture's hold step. */
    transition(instance: string, to: 'master' | 'backup', reason: string): EventOf<'instance.transition'> {
      return fixtureTransition(scene.src, instance, to, reason);
    },
    /** Trail lines of one event's run. */
    linesFor(eventId: string): TrailLine[] {
      return runTrail(scene.trail, eventId);
    },
    /** workflow.finished events of the fixture workflow's run for one event, from the stream. */
    async finishedFor(eventId: string): Promise<EventOf<'workflow.finished'>[]> {
      const all = await streamEvents(scene.server.url, cluster, ['workflow.finished']);
      return all.filter((e): e is EventOf<'workflow.finished'> => e.type === 'workflow.finished' && e.data.runId === `${eventId}/trail`);
    },
  };
  before(async () => {
    scene.server = await startNatsServer();
    scene.dir = mkdtempSync(join(tmpdir(), 'vipflow-worker-test-'));
    scene.trail = join(scene.dir, 'trail');
    scene.bus = new NatsBus({ servers: scene.server.url, cluster, log: silentLogger(), stateDir: join(scene.dir, 'daemon'), node: 'node-a' });
    if (!(await scene.bus.connected(10_000))) throw new Error('NATS not reachable');
    scene.src = createEventSource({ cluster, node: 'node-a', seq: scene.bus.seq });
  });
  after(async () => {
    await Promise.all(scene.workers.map((w) => stopWorker(w).catch(() => undefined)));
    await scene.bus?.close();
    await scene.server?.dispose();
    if (scene.dir) rmSync(scene.dir, { recursive: true, force: true });
  });
  return scene;
}
