/**
 * The vipflow ↔ keepalived scenario shared by the interop test files: node
 * `v` runs `vipflow run`, node `k` runs keepalived 2.2.7, both read the same
 * keepalived.conf text (bar priority and, for unicast, the addresses).
 *
 *   1. keepalived 100, vipflow 150: vipflow is elected Master.
 *   2. SIGKILL vipflow: keepalived takes over (failover vipflow → keepalived).
 *   3. vipflow 150 again: it preempts keepalived.
 *   4. SIGTERM vipflow: keepalived honours its priority 0 and takes over.
 *   5. vipflow 50: keepalived stays Master, vipflow Backup.
 *   6. SIGKILL keepalived: vipflow takes over (failover keepalived → vipflow).
 *   7. keepalived 100 again: it preempts vipflow.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, startKeepalived, sweepStaleLabs, type KeepalivedProcess, type Lab } from '../../lab/index.js';
import { confFile, type InstanceConf } from './daemon-conf.js';
import { holders, startVipflow, waitForHolder, type VipflowDaemon } from '../../lab/vipflow.js';

export interface InteropCase {
  label: string;
  version: 2 | 3;
  family: 4 | 6;
  unicast?: boolean;
  /** Seconds. */
  advertInt: number;
  password?: string;
  vrid: number;
}

export interface InteropContext {
  lab: Lab;
  vipflows: VipflowDaemon[];
  keepaliveds: KeepalivedProcess[];
  /** For unique daemon names. */
  seq: { n: number };
  timings: string[];
}

export const NODES = ['v', 'k'] as const;

export function vipOf(lab: Lab, c: InteropCase): string {
  const v4 = lab.node('v').ipv4!;
  const subnet = v4.split('.')[2]!;
  return c.family === 4 ? `198.18.${subnet}.${100 + (c.vrid % 100)}` : `fd00:198:18:${Number(subnet).toString(16)}::${(0x100 + c.vrid).toString(16)}`;
}

const addressOf = (lab: Lab, node: string, family: 4 | 6): string => (family === 4 ? lab.node(node).ipv4! : lab.node(node).ipv6!);

function conf(lab: Lab, c: InteropCase, self: 'v' | 'k', priority: number): string {
  const other = self === 'v' ? 'k' : 'v';
  const inst: InstanceConf = {
    name: `VI_${c.vrid}`,
    vrid: c.vrid,
    version: c.version,
    priority,
    advertInt: c.advertInt,
    vips: [`${vipOf(lab, c)}/${c.family === 4 ? 24 : 64}`],
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(c.unicast ? { unicastSource: addressOf(lab, self, c.family), unicastPeers: [addressOf(lab, other, c.family)] } : {}),
  };
  return confFile(`${self}${c.vrid}`, [inst]);
}

export async function startV(ctx: InteropContext, c: InteropCase, priority: number, override?: string): Promise<VipflowDaemon> {
  const d = await startVipflow(ctx.lab, 'v', `v${c.vrid}-${ctx.seq.n++}`, override ?? conf(ctx.lab, c, 'v', priority));
  ctx.vipflows.push(d);
  return d;
}

export async function startK(ctx: InteropContext, c: InteropCase, priority: number, override?: string): Promise<KeepalivedProcess> {
  const k = await startKeepalived(ctx.lab, 'k', `k${c.vrid}-${ctx.seq.n++}`, override ?? conf(ctx.lab, c, 'k', priority));
  ctx.keepaliveds.push(k);
  return k;
}

/** How often keepalived logged that the instance entered `state` so far. */
export function entered(k: KeepalivedProcess, c: InteropCase, state: 'MASTER' | 'BACKUP' | 'FAULT'): number {
  return k.log().split(`(VI_${c.vrid}) Entering ${state} STATE`).length - 1;
}

/** Waits until keepalived entered `state` more than `before` times; resolves to when the test saw it, or undefined. */
export async function waitEntered(
  k: KeepalivedProcess,
  c: InteropCase,
  state: 'MASTER' | 'BACKUP',
  before: number,
  timeoutMs: number,
): Promise<number | undefined> {
  return pollUntil(() => (entered(k, c, state) > before ? performance.now() : undefined), timeoutMs, 10);
}

/** keepalived as a crash: SIGKILL to its VRRP child and its parent, so neither sends priority 0. */
export async function crashKeepalived(ctx: InteropContext, k: KeepalivedProcess): Promise<void> {
  const vrrpPidFile = k.confPath.replace(/\.conf$/, '-vrrp.pid');
  const child = existsSync(vrrpPidFile) ? Number(readFileSync(vrrpPidFile, 'utf8').trim()) : NaN;
  for (const pid of [child, k.pid]) {
    if (!Number.isInteger(pid) || pid <= 1) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await k.stop(1000);
}

/** Master_Down_Interval in ms for a Backup of `priority` (v2 Skew_Time is in seconds of priority/256, v3 scales with the interval). */
export function masterDownMs(c: InteropCase, priority: number): number {
  const interval = c.advertInt * 1000;
  const skew = c.version === 2 ? ((256 - priority) * 1000) / 256 : ((256 - priority) * interval) / 256;
  return 3 * interval + skew;
}

export async function runInterop(ctx: InteropContext, c: InteropCase): Promise<void> {
  const { lab } = ctx;
  const vip = vipOf(lab, c);
  const slack = 1500;
  const note = (what: string, ms: number) => ctx.timings.push(`${c.label}: ${what} ${ms.toFixed(0)} ms`);

  // 1. Election: vipflow 150 over keepalived 100.
  const k = await startK(ctx, c, 100);
  let v = await startV(ctx, c, 150);
  assert.ok(await v.waitForState('master', masterDownMs(c, 150) + slack), `${c.label}: vipflow (150) becomes Master`);
  assert.ok(await waitForHolder(lab, NODES, vip, 'v', masterDownMs(c, 100) + slack), `${c.label}: the VIP is on vipflow's node only`);
  assert.ok(entered(k, c, 'MASTER') === 0 || (await waitEntered(k, c, 'BACKUP', 0, 2000)) !== undefined, `${c.label}: keepalived is Backup`);
  assert.deepEqual(await holders(lab, NODES, vip), ['v']);

  // 2. vipflow crashes: keepalived takes over.
  let kMasters = entered(k, c, 'MASTER');
  let t0 = performance.now();
  await v.kill();
  let seen = await waitEntered(k, c, 'MASTER', kMasters, masterDownMs(c, 100) + slack);
  assert.ok(seen, `${c.label}: keepalived takes over after vipflow's SIGKILL`);
  note('SIGKILL vipflow -> keepalived Master', seen - t0);
  assert.ok(await pollUntil(async () => ((await holders(lab, NODES, vip)).includes('k') ? true : undefined), 2000), `${c.label}: keepalived holds the VIP`);

  // 3. vipflow returns with the higher priority and preempts.
  const kBackups = entered(k, c, 'BACKUP');
  v = await startV(ctx, c, 150);
  assert.ok(await v.waitForState('master', masterDownMs(c, 150) + slack), `${c.label}: vipflow preempts keepalived`);
  assert.ok(await waitEntered(k, c, 'BACKUP', kBackups, 2000), `${c.label}: keepalived steps down`);
  assert.ok(await waitForHolder(lab, NODES, vip, 'v', 2000), `${c.label}: the VIP moved back to vipflow only`);

  // 4. vipflow stops gracefully: keepalived honours priority 0.
  kMasters = entered(k, c, 'MASTER');
  t0 = performance.now();
  v.signal('SIGTERM');
  seen = await waitEntered(k, c, 'MASTER', kMasters, masterDownMs(c, 100) + slack);
  assert.ok(seen, `${c.label}: keepalived takes over after vipflow's SIGTERM`);
  note('SIGTERM vipflow -> keepalived Master', seen - t0);
  assert.equal(await v.exited, 0);
  assert.ok(
    v.lines.some((l) => l.msg === 'new master heard: releasing VIPs'),
    `${c.label}: vipflow heard keepalived before releasing the VIP`,
  );
  assert.ok(await waitForHolder(lab, NODES, vip, 'k', 2000), `${c.label}: the VIP is on keepalived's node only`);

  // 5. The reverse roles: vipflow 50 stays Backup under keepalived 100.
  v = await startV(ctx, c, 50);
  assert.ok(await v.waitForState('backup', 2000), `${c.label}: vipflow (50) is Backup`);
  await new Promise((r) => setTimeout(r, Math.min(1500, masterDownMs(c, 50) + 200)));
  assert.ok(
    v.transitions.every((t) => t.to !== 'master'),
    `${c.label}: vipflow (50) never became Master under keepalived (100)`,
  );
  assert.deepEqual(await holders(lab, NODES, vip), ['k']);

  // 6. keepalived crashes: vipflow takes over.
  const mark = v.transitions.length;
  t0 = performance.now();
  await crashKeepalived(ctx, k);
  const t = await v.waitForState('master', masterDownMs(c, 50) + slack, mark);
  assert.ok(t, `${c.label}: vipflow takes over after keepalived's SIGKILL`);
  note('SIGKILL keepalived -> vipflow Master', t.seenAt - t0);
  assert.ok((await holders(lab, NODES, vip)).includes('v'));

  // 7. keepalived returns with the higher priority and preempts.
  const mark2 = v.transitions.length;
  const k2 = await startK(ctx, c, 100);
  assert.ok(await waitEntered(k2, c, 'MASTER', 0, masterDownMs(c, 100) + slack), `${c.label}: keepalived preempts vipflow`);
  assert.ok(await v.waitForState('backup', 2000, mark2), `${c.label}: vipflow steps down`);
  assert.ok(await waitForHolder(lab, NODES, vip, 'k', 2000), `${c.label}: the VIP is on keepalived's node only`);

  // Neither side complained about the other's packets.
  for (const kp of [k, k2]) {
    const complaints = kp
      .log()
      .split('\n')
      .filter((l) => /invalid|mismatch|checksum|error|bad /i.test(l));
    assert.deepEqual(complaints, [], `${c.label}: keepalived complained`);
  }
  for (const d of ctx.vipflows.slice(-3)) {
    const warnings = d.lines.filter((l) => l.level >= 40).map((l) => `${l.msg} ${JSON.stringify(l)}`);
    if (process.env.VIPFLOW_TEST_SHOW_WARNINGS) console.log(warnings.join('\n'));
    assert.deepEqual(
      warnings.filter((w) => /dropped|checksum|send failed/.test(w)),
      [],
      `${c.label}: vipflow dropped keepalived's adverts`,
    );
  }

  // Leave the lab clean for the next case.
  await v.stop();
  await k2.stop();
  assert.ok(await pollUntil(async () => ((await holders(lab, NODES, vip)).length === 0 ? true : undefined), 3000), `${c.label}: VIP removed on stop`);
}

export function ctxTimings(ctx: InteropContext): string {
  return ctx.timings.map((t) => `# ${t}`).join('\n');
}

/**
 * Registers the suite's lab (nodes v and k) in before/after hooks and returns
 * the context the cases share; after() prints the measured handover times and
 * ends every daemon and the lab.
 */
export function interopSuite(prefix: string, subnet: number, ipv6: boolean): InteropContext {
  const logger = silentLogger();
  const ctx = { vipflows: [], keepaliveds: [], seq: { n: 0 }, timings: [] } as unknown as InteropContext;
  before(async () => {
    await sweepStaleLabs(prefix, logger);
    ctx.lab = await createLab({ prefix, nodes: ['v', 'k'], subnet, ipv6, logger });
  });
  after(async () => {
    console.log(ctxTimings(ctx));
    for (const d of ctx.vipflows) await d.kill();
    for (const k of ctx.keepaliveds) await k.stop();
    await ctx.lab?.destroy();
  });
  return ctx;
}
