/**
 * Shared setup for the events lab tests: a namespace lab whose `nats` node runs
 * Debian's nats-server (JetStream, store in the lab dir, so a restart keeps the
 * stream), vipflow daemons in router nodes pointed at it, and readers that run
 * inside the namespace (the test process cannot reach the lab's addresses).
 */
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { InstanceState } from '../../infra/events/nats-bus.js';
import { parseEvent, type VipflowEvent } from '../../infra/events/schema.js';
import { isAlive, pollUntil, type Lab, type SpawnedProcess } from '../../lab/index.js';
import { startVipflow, vipflowCommand, type VipflowDaemon } from '../../lab/vipflow.js';
import { repoRoot } from '../../core/paths.js';
import { confFile } from './daemon-conf.js';

export const CLUSTER = 'lab';
export const ADVERT_MS = 100;

export function natsUrl(lab: Lab): string {
  return `nats://${lab.node('nats').ipv4}:4222`;
}

/** Starts nats-server in the `nats` node (same store dir every time; `extra`: e.g. `-c FILE`); resolves once it accepts clients. */
export async function startNats(lab: Lab, extra: string[] = []): Promise<SpawnedProcess> {
  const ip = lab.node('nats').ipv4!;
  const p = lab.spawn(
    'nats',
    '/usr/sbin/nats-server',
    [...extra, '-js', '-a', ip, '-p', '4222', '-sd', join(lab.dir, 'jetstream')],
    ['ignore', 'ignore', 'pipe'],
  );
  let log = '';
  p.child.stderr?.setEncoding('utf8');
  p.child.stderr?.on('data', (c: string) => {
    if (log.length < 100_000) log += c;
  });
  const ready = await pollUntil(async () => (/Server is ready/.test(log) ? true : undefined), 10_000, 20);
  if (!ready) throw new Error(`nats-server not ready: ${log}`);
  return p;
}

export async function stopNats(p: SpawnedProcess): Promise<void> {
  if (isAlive(p.pid)) process.kill(p.pid, 'SIGTERM');
  await Promise.race([p.exited, new Promise((r) => setTimeout(r, 5000))]);
}

export interface DaemonOpts {
  nats?: boolean;
  /** More `NAME=value` for the daemon's environment (e.g. NATS credentials). */
  env?: string[];
  splitBrain?: 'page' | 'fence';
}

export function instanceConf(node: string, priority: number, vip: string): string {
  return confFile(node, [{ name: 'VI_ev', vrid: 50, version: 3, priority, advertInt: ADVERT_MS / 1000, vips: [vip] }]);
}

/**
 * `vipflow run` in `node` as node id `node`; the event options travel as
 * environment variables (the lab helper takes a command prefix, and `env` is one).
 * The same `name` reuses the state dir (and so the outbox).
 */
export function startEventDaemon(lab: Lab, node: string, name: string, priority: number, vip: string, o: DaemonOpts = {}): Promise<VipflowDaemon> {
  const env = [`VIPFLOW_NODE_ID=${node}`, `VIPFLOW_CLUSTER=${CLUSTER}`];
  if (o.nats !== false) env.push(`VIPFLOW_NATS_URL=${natsUrl(lab)}`);
  if (o.splitBrain) env.push(`VIPFLOW_SPLIT_BRAIN=${o.splitBrain}`);
  env.push(...(o.env ?? []));
  return startVipflow(lab, node, name, instanceConf(node, priority, vip), { prefix: ['/usr/bin/env', ...env] });
}

/** Every event of the cluster's stream, read with `vipflow events --json` inside `node` (`extra`: e.g. `--nats-creds FILE`). */
export async function readEvents(lab: Lab, node: string, types: string[] = [], extra: string[] = []): Promise<VipflowEvent[]> {
  const args = [...vipflowCommand(), 'events', '--nats', natsUrl(lab), '--cluster', CLUSTER, '--json', ...types.flatMap((t) => ['--type', t]), ...extra];
  const r = await lab.exec(node, process.execPath, args, 20_000);
  if (r.code !== 0) throw new Error(`vipflow events failed (${r.code}): ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const p = parseEvent(l);
      if (!p.ok) throw new Error(`not an event: ${l}`);
      return p.event;
    });
}

/** The KV view (instance state per node), read by a helper program inside `node` (with a creds file if given). */
export async function readKv(lab: Lab, node: string, credentialsFile?: string): Promise<InstanceState[]> {
  const here = fileURLToPath(import.meta.url);
  const script = join(dirname(here), `events-kv-dump${extname(here)}`);
  const loader = extname(here) === '.ts' ? ['--import', pathToFileURL(createRequire(join(repoRoot, 'package.json')).resolve('tsx')).href] : [];
  const r = await lab.exec(node, process.execPath, [...loader, script, natsUrl(lab), CLUSTER, ...(credentialsFile ? [credentialsFile] : [])], 20_000);
  if (r.code !== 0) throw new Error(`KV dump failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as InstanceState[];
}

/** Transitions of `node` in a list of events, as `from>to` strings. */
export function transitionsOf(events: VipflowEvent[], node: string): string[] {
  return events.flatMap((e) => (e.node === node && e.type === 'instance.transition' ? [`${e.data.from}>${e.data.to}`] : []));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
