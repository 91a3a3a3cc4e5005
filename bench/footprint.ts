// CPU and memory of 1, 100 and 1,000 VRRP instances: one vipflow daemon beside
// one keepalived, each as Master of every instance, with a Backup node of the
// same implementation so adverts are received too. Namespace lab prefix
// vfbnfp (--prefix): nodes m (Master) and b (Backup), subnets 144..147 (--subnet: the first).
//
//   npx tsx bench/footprint.ts [--quick] [--seconds S] [--counts 1,100,1000] [--interval 1] [--runs 1]
//       [--impl keepalived|vipflow] [--tsx] [--addon FILE.node] [--node-args "--cpu-prof --cpu-prof-dir=/tmp/p"]
//       [--prefix vfbnfp] [--subnet 144] [--settle 6.5]
//
// --interval is advert_int in seconds (0.1: centisecond-scale adverts).
// --runs repeats every measurement (keepalived's cost jumps between runs) and
// prints each figure as a range, the ratio from the medians. --node-args are
// given to the vipflow daemons' node (profiling).
//
// Only 255 VRIDs exist per interface and family, so instances spread over
// four interfaces, 250 each, every interface on its own bridge (one L2
// segment each: on a shared segment the same VRID would collide).
// VRRPv3. This kernel has no 8021q module, so no VLANs.
// CPU = time on CPU of every thread from /proc/<pid>/task/*/schedstat over the
// window (keepalived: parent + VRRP child), as % of one core: utime + stime
// count 10 ms ticks, too coarse for a Backup using a few ms a second.
// RSS = VmRSS at the end of the window; each run's line splits it into
// anonymous memory and mapped files' pages (RssAnon, RssFile).
import { parseArgs } from 'node:util';
import { createLab, pollUntil, sleep, sweepStaleLabs, type Lab } from '../lab/index.js';
import { addSegments } from './lib/segments.js';
import { silentLogger } from '../core/logger.js';
import { onCpuMs, residentKiB, sum, type ResidentKiB } from './lib/proc-usage.js';
import { IMPLS, routerConfig, startRouter, type Impl, type Router, type RouterInstance } from './lib/routers.js';
import { fmt, median, ratio, table } from './lib/stats.js';
import { footprintVerdicts, verdictLines, type Role, type RoleFigures } from './lib/footprint-targets.js';
import { prepareVipflow, type VipflowCommand } from './lib/vipflow-build.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    counts: { type: 'string', default: '1,100,1000' },
    tsx: { type: 'boolean', default: false },
    addon: { type: 'string' },
    impl: { type: 'string' },
    interval: { type: 'string', default: '1' },
    runs: { type: 'string', default: '1' },
    'node-args': { type: 'string', default: '' },
    prefix: { type: 'string', default: 'vfbnfp' },
    subnet: { type: 'string', default: '144' },
    settle: { type: 'string', default: '6.5' },
  },
});
const WINDOW_S = Number(opts.seconds ?? (opts.quick ? 5 : 20));
const COUNTS = opts.counts.split(',').map(Number);
const ADVERT_INT = Number(opts.interval);
const RUNS = Math.max(1, Math.floor(Number(opts.runs)));
const NODE_ARGS = opts['node-args'].split(' ').filter((a) => a !== '');
if (!(ADVERT_INT >= 0.01 && ADVERT_INT <= 40.95)) throw new Error(`--interval ${opts.interval}: VRRPv3 allows 0.01 to 40.95 s`);
// --prefix and --subnet let two copies run at once in separate labs.
const PREFIX = opts.prefix;
const SUBNET = Number(opts.subnet);
/** eth0 plus three more interfaces, each on a segment (bridge) of its own with its own /24 (subnets 145..147). */
const EXTRA = [1, 2, 3];
const INTERFACES = ['eth0', ...EXTRA.map((i) => `eth${i}`)];
const PER_INTERFACE = 250;
// Both implementations send a second GARP burst garp_master_delay (5 s) after
// becoming Master: start measuring after it, so the window holds steady state only.
// A longer --settle also lets V8's background compilation of the first minute finish
// (it counts as vipflow's CPU: every thread is measured).
const SETTLE_MS = Number(opts.settle) * 1000;
if (!(SETTLE_MS >= 6500)) throw new Error(`--settle ${opts.settle}: at least 6.5 s (past the second GARP burst)`);
const READY_TIMEOUT_MS = 60_000;

const logger = silentLogger();
const say = (s: string) => process.stdout.write(s + '\n');

function instances(count: number, priority: number): RouterInstance[] {
  return Array.from({ length: count }, (_, k) => {
    const i = Math.floor(k / PER_INTERFACE);
    const vrid = (k % PER_INTERFACE) + 1;
    return {
      name: `I${k}`,
      interface: INTERFACES[i]!,
      vrid,
      version: 3,
      priority,
      advertInt: ADVERT_INT,
      // 198.19.0.0/16 is inside 198.18.0.0/15; one /24 per interface.
      vips: [`198.19.${140 + i}.${vrid}/32`],
    };
  });
}

let lastIpError = '';

async function vipCount(lab: Lab, node: string): Promise<number> {
  const r = await lab.exec(node, 'ip', ['-j', '-4', 'addr', 'show'], 30_000);
  if (r.code !== 0) {
    lastIpError = r.stderr.slice(0, 300);
    return -1;
  }
  const parsed = JSON.parse(r.stdout || '[]') as { addr_info?: { local?: string }[] }[];
  return parsed.flatMap((l) => l.addr_info ?? []).filter((a) => a.local?.startsWith('198.19.')).length;
}

interface Sample {
  cpuPct: number;
  rssMiB: number;
  /** Of rssMiB: anonymous memory and mapped files' pages (the node binary's, keepalived's libraries). */
  anonMiB: number;
  fileMiB: number;
}
interface Row {
  master: Sample | null;
  backup: Sample | null;
  note: string;
}

async function measure(lab: Lab, impl: Impl, count: number, vipflow: VipflowCommand): Promise<Row> {
  let master: Router | null = null;
  let backup: Router | null = null;
  try {
    // 1,000 instances take vipflow more than the default 20 s to start on a loaded 2-core machine.
    backup = await startRouter(lab, impl, 'b', routerConfig('b', instances(count, 100)), vipflow, READY_TIMEOUT_MS);
    master = await startRouter(lab, impl, 'm', routerConfig('m', instances(count, 200)), vipflow, READY_TIMEOUT_MS);
    const up = await pollUntil(async () => ((await vipCount(lab, 'm')) === count && (await vipCount(lab, 'b')) === 0 ? true : undefined), 120_000, 200);
    if (!up)
      return {
        master: null,
        backup: null,
        note: `m never held all ${count} VIPs alone (m ${await vipCount(lab, 'm')}, b ${await vipCount(lab, 'b')}) ${lastIpError}`,
      };
    await sleep(SETTLE_MS);
    const pids = { m: master.pids(), b: backup.pids() };
    const t0 = performance.now();
    const c0 = { m: sum(pids.m, onCpuMs), b: sum(pids.b, onCpuMs) };
    await sleep(WINDOW_S * 1000);
    const elapsed = performance.now() - t0;
    const c1 = { m: sum(pids.m, onCpuMs), b: sum(pids.b, onCpuMs) };
    const sample = (a: number | null, b: number | null, p: number[]): Sample | null => {
      const mem = p.map(residentKiB);
      if (a === null || b === null || mem.some((m) => m === null)) return null;
      const total = (k: keyof ResidentKiB) => mem.reduce((n, m) => n + m![k], 0) / 1024;
      return { cpuPct: ((b - a) / elapsed) * 100, rssMiB: total('rss'), anonMiB: total('anon'), fileMiB: total('file') };
    };
    // A Master change inside the window would make these figures a failover's, not steady state's.
    const [vm, vb] = [await vipCount(lab, 'm'), await vipCount(lab, 'b')];
    const note = vm === count && vb === 0 ? '' : `VIPs moved during the window (m ${vm}, b ${vb})`;
    return { master: sample(c0.m, c1.m, pids.m), backup: sample(c0.b, c1.b, pids.b), note };
  } finally {
    await Promise.all([master?.stop(), backup?.stop()]);
  }
}

async function main(): Promise<void> {
  say(`footprint benchmark: ${WINDOW_S} s windows, counts ${COUNTS.join(', ')}, advert_int ${ADVERT_INT} s, ${RUNS} run(s) each; building vipflow...`);
  const built = await prepareVipflow(opts.tsx, opts.addon);
  // Before the script, after the shebang's flags: a --node-args flag overrides one of those.
  const vipflow = { ...built, args: [...built.args.slice(0, -1), ...NODE_ARGS, ...built.args.slice(-1)] };
  say(`vipflow from ${vipflow.describe}`);
  await sweepStaleLabs(PREFIX, logger);
  const lab = await createLab({ prefix: PREFIX, nodes: ['m', 'b'], subnet: SUBNET, ipv6: false, logger });
  const results = new Map<string, Row[]>();
  try {
    await addSegments(lab, SUBNET, EXTRA);
    for (const count of COUNTS) {
      if (count > PER_INTERFACE * INTERFACES.length) throw new Error(`at most ${PER_INTERFACE * INTERFACES.length} instances`);
      // Runs alternate between the implementations, so a slow spell of the shared machine hits both.
      for (let run = 0; run < RUNS; run++) {
        for (const impl of IMPLS.filter((x) => !opts.impl || x === opts.impl)) {
          let row: Row;
          try {
            row = await measure(lab, impl, count, vipflow);
          } catch (err) {
            row = { master: null, backup: null, note: String(err).slice(0, 300) };
          }
          const key = `${impl} ${count}`;
          results.set(key, [...(results.get(key) ?? []), row]);
          const show = (s: Sample | null) => (s ? `${fmt(s.cpuPct, 3)}% CPU, ${fmt(s.rssMiB)} MiB (anon ${fmt(s.anonMiB)}, file ${fmt(s.fileMiB)})` : '-');
          say(`  ${impl.padEnd(10)} ${String(count).padStart(4)} instances: master ${show(row.master)}; backup ${show(row.backup)} ${row.note}`);
        }
      }
    }
  } finally {
    await lab.destroy();
    vipflow.dispose();
  }

  const rows = [['instances', 'role', 'keepalived CPU %', 'vipflow CPU %', 'CPU vf/ka', 'keepalived RSS MiB', 'vipflow RSS MiB', 'RSS vf/ka']];
  /** The figure over the runs: one value, or "min-max"; and the median for the ratio. */
  const over = (impl: Impl, count: number, role: 'master' | 'backup', field: keyof Sample, digits: number) => {
    const xs = (results.get(`${impl} ${count}`) ?? []).flatMap((r) => (r[role] ? [r[role][field]] : []));
    const text = xs.length === 0 ? '-' : xs.length === 1 ? fmt(xs[0]!, digits) : `${fmt(Math.min(...xs), digits)}-${fmt(Math.max(...xs), digits)}`;
    return { text, median: median(xs) };
  };
  for (const count of COUNTS) {
    for (const role of ['master', 'backup'] as const) {
      const [kaCpu, vfCpu] = [over('keepalived', count, role, 'cpuPct', 3), over('vipflow', count, role, 'cpuPct', 3)];
      const [kaRss, vfRss] = [over('keepalived', count, role, 'rssMiB', 1), over('vipflow', count, role, 'rssMiB', 1)];
      rows.push([String(count), role, kaCpu.text, vfCpu.text, ratio(vfCpu.median, kaCpu.median), kaRss.text, vfRss.text, ratio(vfRss.median, kaRss.median)]);
    }
  }
  say('');
  say(table(rows));
  say('');
  say(`CPU: % of one core over ${WINDOW_S} s, every thread's time on CPU (schedstat); keepalived = parent + VRRP child.`);
  say(`VRRPv3, advert_int ${ADVERT_INT} s, one Master and one Backup node per implementation, measured one implementation at a time.`);
  if (RUNS > 1) say(`${RUNS} runs each: figures are min-max, ratios of the medians.`);
  if (NODE_ARGS.length > 0) say(`vipflow's node ran with ${NODE_ARGS.join(' ')}: its figures include that.`);
  for (const [k, rs] of results) for (const r of rs) if (r.note) say(`note ${k}: ${r.note}`);
  const figures = (impl: Impl, count: number): RoleFigures => {
    const of = (role: Role) => {
      const [cpu, rss] = [over(impl, count, role, 'cpuPct', 3).median, over(impl, count, role, 'rssMiB', 1).median];
      return Number.isFinite(cpu) && Number.isFinite(rss) ? { cpuPct: cpu, rssMiB: rss } : null;
    };
    return { master: of('master'), backup: of('backup') };
  };
  if (opts.impl !== 'keepalived') {
    say('');
    const measured = COUNTS.map((count) => ({ count, vipflow: figures('vipflow', count), keepalived: figures('keepalived', count) }));
    for (const line of verdictLines(footprintVerdicts(measured, ADVERT_INT))) say(line);
    if (SETTLE_MS < 30_000)
      say(`  (settled ${opts.settle} s: V8 still compiles in a daemon's first half minute, and that counts as its CPU; the README's figures use --settle 30)`);
  }
}

await main();
