/**
 * Benchmark of the fleet path (a script, not a test): sites' streams → leaf nodes →
 * the hub's R3 mirrors → `vipflow fleet`'s reader. All on loopback, Debian's
 * nats-server 2.9.10: a hub of three clustered servers (domain hub) and LEAVES leaf
 * nodes (default 4, domains l0..l3). 100 leaf nodes do not fit on this 2-core machine
 * beside the hub, so the 100 simulated sites are 100 clusters, each with its own stream
 * on a leaf node (25 per leaf) and its own R3 mirror at the hub, as `vipflow fleet
 * setup` creates them: the hub does the work of 100 sites, the leaves share it.
 *
 *   npx tsx bench/fleet.ts [--quick] [--sites N] [--leaves N]
 *
 * 1. Throughput: EVENTS transition events published at the sites (one connection per
 *    leaf, acknowledged by the site stream, 256 in flight) → time until every hub
 *    mirror holds all of them: events/s at the site and end to end at the hub.
 * 2. Fleet view latency: one transition published at a random site → seen by a
 *    FleetReader (the code behind `vipflow fleet --watch`) on the hub; p50/p99/max.
 * keepalived has no fleet view or event stream to compare with.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { silentLogger } from '../core/logger.js';
import { FleetReader, applyHubMirrors, hubMirrorConfigs } from '../infra/events/fleet-hub.js';
import { freePort, portOpen } from '../infra/events/local-nats.js';
import { createEventSource, memorySeq, type EventSource } from '../infra/events/source.js';
import { streamName, streamSubjects, subjectFor } from '../infra/events/subjects.js';
import { fmt, table } from './lib/stats.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const quick = process.argv.includes('--quick');
const SITES = arg('--sites', 100);
const LEAVES = arg('--leaves', 4);
const EVENTS = quick ? 20_000 : 100_000;
const PROBES = quick ? 30 : 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? Number.NaN;

const dir = mkdtempSync(join(tmpdir(), 'vipflow-bench-fleet-'));
const children: ChildProcess[] = [];

async function server(name: string, conf: string, port: number): Promise<void> {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, conf);
  const c = spawn('nats-server', ['-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  c.stderr?.resume();
  children.push(c);
  for (let i = 0; i < 200 && !(await portOpen(port)); i++) await sleep(50);
}

async function main(): Promise<void> {
  const hubPorts = await Promise.all([0, 1, 2].map(async () => ({ client: await freePort(), route: await freePort(), leaf: await freePort() })));
  const routes = hubPorts.map((p) => `nats-route://127.0.0.1:${p.route}`).join(', ');
  await Promise.all(
    hubPorts.map((p, i) =>
      server(
        `hub-${i + 1}`,
        `server_name: hub-${i + 1}\nlisten: 127.0.0.1:${p.client}\njetstream { store_dir: ${join(dir, `hub-${i + 1}`)}, domain: hub }\n` +
          `cluster { name: hub, listen: 127.0.0.1:${p.route}, routes: [${routes}] }\nleafnodes { listen: 127.0.0.1:${p.leaf} }\n`,
        p.client,
      ),
    ),
  );
  const leafPorts = await Promise.all(Array.from({ length: LEAVES }, () => freePort()));
  const remotes = hubPorts.map((p) => `nats-leaf://127.0.0.1:${p.leaf}`).join(', ');
  await Promise.all(
    leafPorts.map((port, i) =>
      server(
        `l${i}`,
        `server_name: l${i}\nlisten: 127.0.0.1:${port}\njetstream { store_dir: ${join(dir, `l${i}`)}, domain: l${i} }\nleafnodes { remotes: [ { urls: [${remotes}] } ] }\n`,
        port,
      ),
    ),
  );
  const clusters = Array.from({ length: SITES }, (_, i) => ({ cluster: `site${i}`, leaf: i % LEAVES }));
  const leafConns: NatsConnection[] = await Promise.all(leafPorts.map((p) => connect({ servers: `nats://127.0.0.1:${p}` })));
  for (const c of clusters)
    await (
      await jetstreamManager(leafConns[c.leaf]!)
    ).streams.add({ name: streamName(c.cluster), subjects: [streamSubjects(c.cluster)], duplicate_window: 120e9 });
  const hubUrls = hubPorts.map((p) => `nats://127.0.0.1:${p.client}`);
  const hub = await connect({ servers: hubUrls });
  const hubJsm = await jetstreamManager(hub);
  const sites = Array.from({ length: LEAVES }, (_, l) => ({ site: `l${l}`, clusters: clusters.filter((c) => c.leaf === l).map((c) => c.cluster) }));
  // 16 MiB each: JetStream reserves max_bytes per replica, and 100 x 3 x 1 GiB (the default) does not fit this disk.
  const wanted = hubMirrorConfigs(sites, { replicas: 3, maxBytes: 16 << 20 });
  if (typeof wanted === 'string') throw new Error(wanted);
  // Only the event mirrors: this benchmark measures events; the KV mirrors carry the same kind of traffic.
  const t0 = performance.now();
  for (let i = 0; ; i++) {
    try {
      await applyHubMirrors(
        hubJsm,
        wanted.filter((w) => w.name.startsWith('VIPFLOW_')),
      );
      break;
    } catch (err) {
      if (i > 60) throw err;
      await sleep(500);
    }
  }
  process.stdout.write(`${SITES} site streams on ${LEAVES} leaf nodes, ${SITES} R3 mirrors on a 3-server hub, set up in ${fmt(performance.now() - t0)} ms\n`);

  const sources: EventSource[] = clusters.map((c) => createEventSource({ cluster: c.cluster, node: `n-${c.cluster}`, seq: memorySeq() }));
  const js: JetStreamClient[] = leafConns.map((nc) => jetstream(nc));
  const transition = (i: number, to: 'master' | 'backup') =>
    sources[i]!.make('instance.transition', {
      instance: 'VI_1',
      vrid: 51,
      family: 'ipv4',
      interface: 'eth0',
      from: to === 'master' ? 'backup' : 'master',
      to,
      reason: 'bench',
      effectivePriority: 100,
      basePriority: 100,
      masterSeen: null,
      advertIntervalCs: 100,
    });

  // 1. Throughput.
  const start = performance.now();
  let next = 0;
  const lane = async () => {
    for (let k = next++; k < EVENTS; k = next++) {
      const i = k % SITES;
      const e = transition(i, k % 2 ? 'master' : 'backup');
      await js[clusters[i]!.leaf]!.publish(subjectFor(e), JSON.stringify(e), { msgID: e.id });
    }
  };
  await Promise.all(Array.from({ length: 256 }, lane));
  const published = performance.now() - start;
  let atHub = 0;
  let allAt = Number.NaN;
  for (let i = 0; i < 1200; i++) {
    atHub = 0;
    for await (const s of hubJsm.streams.list()) if (s.config.name.startsWith('VIPFLOW_')) atHub += s.state.messages;
    if (atHub >= EVENTS) {
      allAt = performance.now() - start;
      break;
    }
    await sleep(100);
  }
  process.stdout.write(
    table([
      ['events', 'published at the sites in ms', 'events/s at the sites', 'all at the hub in ms', 'events/s end to end'],
      [
        String(EVENTS),
        fmt(published),
        fmt((EVENTS / published) * 1000, 0),
        Number.isNaN(allAt) ? `only ${atHub}` : fmt(allAt),
        fmt((EVENTS / allAt) * 1000, 0),
      ],
    ]) + '\n',
  );

  // 2. Fleet view latency.
  let waiting: { cluster: string; to: string; resolve: (t: number) => void } | null = null;
  const reader = new FleetReader({
    servers: hubUrls,
    log: silentLogger(),
    eventsSinceMs: 1000,
    onChange: () => {
      const w = waiting;
      if (!w) return;
      const m = reader.fold.view(Date.now());
      const r = m.sites.flatMap((s) => s.clusters).find((c) => c.cluster === w.cluster)?.routers[0];
      if (r?.nodes[0]?.state === w.to) w.resolve(performance.now());
    },
  });
  await reader.start();
  const lat: number[] = [];
  for (let p = 0; p < PROBES; p++) {
    const i = Math.floor(Math.random() * SITES);
    const cur = reader.fold
      .view(Date.now())
      .sites.flatMap((s) => s.clusters)
      .find((c) => c.cluster === clusters[i]!.cluster)?.routers[0]?.nodes[0]?.state;
    const to = cur === 'master' ? 'backup' : 'master';
    const seen = new Promise<number>((resolve) => (waiting = { cluster: clusters[i]!.cluster, to, resolve }));
    const e = transition(i, to);
    const t = performance.now();
    await js[clusters[i]!.leaf]!.publish(subjectFor(e), JSON.stringify(e), { msgID: e.id });
    const got = await Promise.race([seen, sleep(5000).then(() => Number.NaN)]);
    waiting = null;
    lat.push(got - t);
    await sleep(20);
  }
  const ok = lat.filter((x) => !Number.isNaN(x));
  process.stdout.write(
    table([
      ['probes', 'seen', 'fleet latency p50 ms', 'p99 ms', 'max ms'],
      [String(PROBES), String(ok.length), fmt(pct(ok, 0.5)), fmt(pct(ok, 0.99)), fmt(Math.max(...ok))],
    ]) + '\n',
  );
  await reader.close();
  await hub.close();
  for (const nc of leafConns) await nc.close();
}

try {
  await main();
} finally {
  for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGTERM');
  await sleep(500);
  rmSync(dir, { recursive: true, force: true });
}
