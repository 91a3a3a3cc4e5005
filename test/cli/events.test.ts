/**
 * `vipflow events` as a user runs it (cli/main.ts under tsx, one process: node --import tsx,
 * so a signal reaches the CLI itself) against a real nats-server.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../core/paths.js';
import { parseEvent, type VipflowEvent } from '../../infra/events/schema.js';
import { createEventSource } from '../../infra/events/source.js';
import { natsFixture, until } from '../infra/events/nats-server.js';
import { samplePayloads, transition } from '../infra/events/fixtures.js';
import { parseSince } from '../../cli/events.js';

const fx = natsFixture({ node: 'node-a' });
const running = new Set<number>();
after(() => {
  for (const pid of running) process.kill(pid, 'SIGKILL');
});

interface Run {
  pid: number;
  lines: string[];
  stderr: () => string;
  exit: Promise<number | null>;
  /** Closes the read end of the CLI's stdout, as `| head -1` does after its line. */
  closeStdout: () => void;
}

function vipflow(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'cli', 'main.ts'), 'events', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const parts = out.split('\n');
    out = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  running.add(child.pid!);
  void exit.then(() => running.delete(child.pid!));
  // Bounded: a hung CLI is stopped by its PID rather than hanging the suite.
  const guard = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 30_000);
  void exit.then(() => clearTimeout(guard));
  return { pid: child.pid!, lines, stderr: () => err, exit, closeStdout: () => child.stdout.destroy() };
}

async function publishSample(cluster: string): Promise<VipflowEvent[]> {
  const pub = fx.bus(cluster, { stateDir: fx.tempDir() });
  const src = createEventSource({ cluster, node: 'node-a', seq: pub.seq });
  const evs: VipflowEvent[] = [
    transition(src, 'VI_1', 'master', 'master-down-timer'),
    src.make('daemon.stop', samplePayloads['daemon.stop']),
    transition(src, 'VI_2', 'backup', 'higher-priority-advert'),
  ];
  for (const e of evs) pub.publish(e);
  await until(() => pub.outboxStats()!.delivered === evs.length, 10_000, 'published');
  return evs;
}

test('--json prints every event of the stream, one valid event per line, then exits 0', async () => {
  const evs = await publishSample('cli');
  const r = vipflow(['--nats', fx.server.url, '--cluster', 'cli', '--json']);
  assert.equal(await r.exit, 0, r.stderr());
  const parsed = r.lines.map((l) => parseEvent(l));
  assert.ok(parsed.every((p) => p.ok));
  assert.deepEqual(
    parsed.map((p) => p.ok && p.event.id),
    evs.map((e) => e.id),
  );
});

test('human lines with a type filter; an unreachable server is exit 1', async () => {
  await publishSample('human');
  const r = vipflow(['--nats', fx.server.url, '--cluster', 'human', '--type', 'instance.transition']);
  assert.equal(await r.exit, 0, r.stderr());
  assert.equal(r.lines.length, 2);
  assert.match(r.lines[0]!, /^\d{4}-\d\d-\d\dT[\d:]+\.\d{9}Z node-a VI_1 backup→master \(master-down-timer\) vrid 51 ipv4 eth0 prio 100 master 198\.18\.0\.2$/);
  assert.match(r.lines[1]!, / node-a VI_2 master→backup \(higher-priority-advert\)/);
  const down = vipflow(['--nats', 'nats://127.0.0.1:1', '--cluster', 'human']);
  assert.equal(await down.exit, 1);
  assert.match(down.stderr(), /cannot reach NATS/);
});

test('--follow prints new events as they come, and stops on SIGINT', async () => {
  const pub = fx.bus('follow', { stateDir: fx.tempDir() });
  const src = createEventSource({ cluster: 'follow', node: 'node-b', seq: pub.seq });
  pub.publish(transition(src, 'VI_9', 'backup'));
  await until(() => pub.outboxStats()!.delivered === 1, 10_000, 'stream created');
  const r = vipflow(['--nats', fx.server.url, '--cluster', 'follow', '--follow', '--json', '--since', '1h']);
  await until(() => r.lines.length === 1, 20_000, 'history line');
  const next = transition(src, 'VI_9', 'master');
  pub.publish(next);
  await until(() => r.lines.length === 2, 10_000, 'followed line');
  const p = parseEvent(r.lines[1]!);
  assert.equal(p.ok && p.event.id, next.id);
  process.kill(r.pid, 'SIGINT');
  // The CLI closes its subscription and connection and exits cleanly.
  assert.equal(await r.exit, 0, r.stderr());
});

test('--since accepts durations and ISO times', () => {
  const now = Date.UTC(2026, 10, 26, 9, 0, 0);
  assert.equal(parseSince('15m', now)?.toISOString(), '2026-11-26T08:45:00.000Z');
  assert.equal(parseSince('2026-11-26T08:00:00Z', now)?.toISOString(), '2026-11-26T08:00:00.000Z');
  assert.equal(parseSince('yesterday', now), undefined);
});

test('`vipflow events --follow | head -1`: once the reader is gone, the next event ends it quietly with exit 141', async () => {
  const pub = fx.bus('head', { stateDir: fx.tempDir() });
  const src = createEventSource({ cluster: 'head', node: 'node-c', seq: pub.seq });
  pub.publish(transition(src, 'VI_8', 'backup'));
  await until(() => pub.outboxStats()!.delivered === 1, 10_000, 'stream created');
  const r = vipflow(['--nats', fx.server.url, '--cluster', 'head', '--follow', '--json']);
  await until(() => r.lines.length === 1, 20_000, 'first line');
  // What head does after its line: close the pipe.
  r.closeStdout();
  pub.publish(transition(src, 'VI_8', 'master'));
  assert.equal(await r.exit, 141, r.stderr());
  assert.equal(r.stderr(), '');
});
