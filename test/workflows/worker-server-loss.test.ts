/**
 * A worker's transition follower after the loss of the NATS server holding it, on a real
 * three-server JetStream cluster on loopback (R3 stream, as at a hub or an R3 site).
 *
 * The follower is an ordered consumer, which has one copy. When its server dies,
 * nats-server 2.9 leaves it assigned there and never answers for it, and nats.js waits
 * forever: without a watchdog the worker still runs new work (its durable consumers are
 * R3) but no longer sees newer transitions, so a superseded run is never cancelled.
 * The test kills exactly the server holding the follower, then publishes a long Master
 * run and the Backup transition that supersedes it, and asserts the cancellation.
 * Three nats-server processes and one `vipflow worker`, stopped and removed afterwards.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type ConsumerInfo } from '@nats-io/jetstream';
import { silentLogger } from '../../core/logger.js';
import type { NatsServer } from '../../infra/events/local-nats.js';
import { NatsBus } from '../../infra/events/nats-bus.js';
import { createEventSource, type EventSource } from '../../infra/events/source.js';
import { streamName } from '../../infra/events/subjects.js';
import { fixtureTransition, runTrail, startWorker, stopWorker, until, type WorkerProc } from './worker-procs.js';
import { startLoopbackCluster } from '../infra/events/nats-server.js';

const CLUSTER = 'wl';
const dir = mkdtempSync(join(tmpdir(), 'vipflow-worker-loss-'));
const trail = join(dir, 'trail');
const servers: NatsServer[] = [];
const names: string[] = [];
let bus: NatsBus | undefined;
let src: EventSource;
let worker: WorkerProc | undefined;
let nc: NatsConnection | undefined;

before(async () => {
  const cluster = await startLoopbackCluster(dir, 'wl');
  servers.push(...cluster.servers);
  names.push(...cluster.names);
});

after(async () => {
  if (worker) await stopWorker(worker).catch(() => undefined);
  await bus?.close().catch(() => undefined);
  await nc?.close().catch(() => undefined);
  for (const s of servers) await s.dispose().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

const transition = (instance: string, to: 'master' | 'backup', reason: string) => fixtureTransition(src, instance, to, reason);
const linesFor = (id: string) => runTrail(trail, id);

test('the server holding the transition follower is killed: a newer transition still cancels the run it supersedes', async () => {
  const urls = servers.map((s) => s.url);
  bus = new NatsBus({ servers: urls, cluster: CLUSTER, log: silentLogger(), stateDir: join(dir, 'daemon'), node: 'node-a', stream: { replicas: 3 } });
  // A JetStream cluster elects its meta leader seconds after the servers start.
  assert.ok(await bus.connected(30_000), 'the publisher reaches the cluster');
  src = createEventSource({ cluster: CLUSTER, node: 'node-a', seq: bus.seq });
  // The stream exists once a first event is acknowledged: a worker started before then only retries its set-up.
  bus.publish(transition('R_0', 'backup', 'quick'));
  await until(() => (bus?.outboxStats()?.delivered ?? 0) >= 1, 60_000, 'the R3 stream created and a first event stored');
  nc = await connect({ servers: urls });
  const jsm = await jetstreamManager(nc);
  /** The newest ephemeral consumer on the stream: the running worker's follower (an earlier worker's may linger). */
  const followerServer = async (): Promise<string | undefined> => {
    let newest: ConsumerInfo | undefined;
    for await (const c of jsm.consumers.list(streamName(CLUSTER)))
      if (c.config.durable_name === undefined && (newest === undefined || c.created > newest.created)) newest = c;
    return newest?.cluster?.leader;
  };
  // The worker talks to the first server only. When the server it is connected to dies, nats.js reconnects and
  // recreates its ordered consumers itself; the freeze comes when another server, holding the follower, dies. So the
  // worker is restarted (at most 8 times) until its follower is placed on another server than its connection's.
  let holder: string | undefined;
  for (let start = 1; start <= 8; start++) {
    worker = startWorker({ name: `w${start}`, nats: urls[0]!, cluster: CLUSTER, trail, concurrency: 1 });
    const consuming = await worker.waitForLog('worker consuming', 60_000);
    assert.ok(
      consuming,
      `the worker starts consuming: ${worker.lines
        .slice(-8)
        .map((l) => JSON.stringify(l).slice(0, 300))
        .join('\n')}`,
    );
    holder = await followerServer();
    assert.ok(holder !== undefined && names.includes(holder), `the follower's server is known: ${holder}`);
    if (holder !== names[0]) break;
    await stopWorker(worker);
    holder = undefined;
  }
  assert.ok(holder !== undefined, 'in 8 starts, a follower was placed away from the server the worker talks to');

  // Before the kill, a run works.
  const warm = transition('W_1', 'master', 'quick');
  bus.publish(warm);
  await until(() => linesFor(warm.id).filter((l) => l.what === 'run').length === 2, 15_000, 'a first run');
  await nc.close();
  nc = undefined;
  const killedAt = Date.now();
  await servers[names.indexOf(holder)]!.kill();

  // The Master run holds 15 s (under its step's 20 s timeout); the Backup transition published once it is inside that
  // hold must cancel it. With concurrency 1 the worker cannot fetch the Backup transition as work before the hold
  // ends, so only the follower can see it in time.
  const master = transition('S_1', 'master', 'hold:15000');
  bus.publish(master);
  await until(() => linesFor(master.id).some((l) => l.what === 'begin'), 40_000, 'the Master run inside its hold step');
  const backup = transition('S_1', 'backup', 'quick');
  const publishedAt = Date.now();
  bus.publish(backup);
  const ended = () => linesFor(master.id).some((l) => l.what === 'undo') || linesFor(master.id).filter((l) => l.what === 'run').length === 2;
  await until(ended, 30_000, 'the Master run cancelled or finished');
  const cancelMs = Date.now() - publishedAt;
  assert.deepEqual(
    linesFor(master.id).map((l) => `${l.what} ${l.key.slice(master.id.length)}`),
    ['run /trail/first', 'begin /trail/hold', 'undo /trail/first'],
    `the superseded run is cancelled and compensated, not completed (${cancelMs} ms after the Backup transition, ${Date.now() - killedAt} ms after the kill)`,
  );
  await until(() => linesFor(backup.id).filter((l) => l.what === 'run').length === 2, 30_000, 'the Backup run');
  const stuck = worker!.lines.filter((l) => /feed is stuck/.test(l.msg ?? ''));
  process.stdout.write(`# cancelled ${cancelMs} ms after the newer transition; follower reopened ${stuck.length} time(s)\n`);
});
