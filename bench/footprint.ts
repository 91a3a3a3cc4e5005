// CPU and memory of 1, 100 and 1,000 VRRP instances: one vipflow daemon beside
// one keepalived, each as Master of every instance, with a Backup node of the
// same implementation so adverts are received too. Namespace lab prefix
// vfbnfp: nodes m (Master) and b (Backup).
//
//   npx tsx bench/footprint.ts [--quick] [--seconds S] [--counts 1,100,1000] [--impl keepalived|vipflow] [--tsx] [--addon FILE.node]
//
// Only 255 VRIDs exist per interface and family, so instances spread over
// four interfaces, 250 each, every interface on its own bridge (one L2
// segment each: on a shared segment the same VRID would collide).
// VRRPv3, advert_int 1. This kernel has no 8021q module, so no VLANs.
// CPU = utime + stime from /proc/<pid>/stat over the window (keepalived: parent
// + VRRP child), as % of one core; RSS = VmRSS at the end of the window.
import { parseArgs } from 'node:util';
import { createLab, pollUntil, sleep, sweepStaleLabs, type Lab } from '../lab/index.js';
import { addSegments } from './lib/segments.js';
import { silentLogger } from '../core/logger.js';
import { cpuMs, rssKiB, sum } from './lib/proc-usage.js';
import { IMPLS, routerConfig, startRouter, type Impl, type Router, type RouterInstance } from './lib/routers.js';
import { fmt, ratio, table } from './lib/stats.js';
import { prepareVipflow, type VipflowCommand } from './lib/vipflow-build.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    counts: { type: 'string', default: '1,100,1000' },
    tsx: { type: 'boolean', default: false },
    addon: { type: 'string' },
    impl: { type: 'string' },
  },
});
const WINDOW_S = Number(opts.seconds ?? (opts.quick ? 5 : 20));
const COUNTS = opts.counts.split(',').map(Number);
const PREFIX = 'vfbnfp';
const SUBNET = 144;
/** eth0 plus three more interfaces, each on a segment (bridge) of its own with its own /24 (subnets 145..147). */
const EXTRA = [1, 2, 3];
const INTERFACES = ['eth0', ...EXTRA.map((i) => `eth${i}`)];
const PER_INTERFACE = 250;
// Both implementations send a second GARP burst garp_master_delay (5 s) after
// becoming Master: start measuring after it, so the window holds steady state only.
const SETTLE_MS = 6500;

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
      advertInt: 1,
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
    backup = await startRouter(lab, impl, 'b', routerConfig('b', instances(count, 100)), vipflow);
    master = await startRouter(lab, impl, 'm', routerConfig('m', instances(count, 200)), vipflow);
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
    const c0 = { m: sum(pids.m, cpuMs), b: sum(pids.b, cpuMs) };
    await sleep(WINDOW_S * 1000);
    const elapsed = performance.now() - t0;
    const c1 = { m: sum(pids.m, cpuMs), b: sum(pids.b, cpuMs) };
    const sample = (a: number | null, b: number | null, p: number[]): Sample | null => {
      const rss = sum(p, rssKiB);
      return a === null || b === null || rss === null ? null : { cpuPct: ((b - a) / elapsed) * 100, rssMiB: rss / 1024 };
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
  say(`footprint benchmark: ${WINDOW_S} s windows, counts ${COUNTS.join(', ')}; building vipflow...`);
  const vipflow = await prepareVipflow(opts.tsx, opts.addon);
  say(`vipflow from ${vipflow.describe}`);
  await sweepStaleLabs(PREFIX, logger);
  const lab = await createLab({ prefix: PREFIX, nodes: ['m', 'b'], subnet: SUBNET, ipv6: false, logger });
  const results = new Map<string, Row>();
  try {
    await addSegments(lab, SUBNET, EXTRA);
    for (const count of COUNTS) {
      if (count > PER_INTERFACE * INTERFACES.length) throw new Error(`at most ${PER_INTERFACE * INTERFACES.length} instances`);
      for (const impl of IMPLS.filter((x) => !opts.impl || x === opts.impl)) {
        let row: Row;
        try {
          row = await measure(lab, impl, count, vipflow);
        } catch (err) {
          row = { master: null, backup: null, note: String(err).slice(0, 300) };
        }
        results.set(`${impl} ${count}`, row);
        const show = (s: Sample | null) => (s ? `${fmt(s.cpuPct, 2)}% CPU, ${fmt(s.rssMiB)} MiB` : '-');
        say(`  ${impl.padEnd(10)} ${String(count).padStart(4)} instances: master ${show(row.master)}; backup ${show(row.backup)} ${row.note}`);
      }
    }
  } finally {
    await lab.destroy();
    vipflow.dispose();
  }

  const rows = [['instances', 'role', 'keepalived CPU %', 'vipflow CPU %', 'CPU vf/ka', 'keepalived RSS MiB', 'vipflow RSS MiB', 'RSS vf/ka']];
  for (const count of COUNTS) {
    for (const role of ['master', 'backup'] as const) {
      const ka = results.get(`keepalived ${count}`)?.[role] ?? null;
      const vf = results.get(`vipflow ${count}`)?.[role] ?? null;
      rows.push([
        String(count),
        role,
        fmt(ka?.cpuPct ?? NaN, 2),
        fmt(vf?.cpuPct ?? NaN, 2),
        ratio(vf?.cpuPct ?? NaN, ka?.cpuPct ?? NaN),
        fmt(ka?.rssMiB ?? NaN),
        fmt(vf?.rssMiB ?? NaN),
        ratio(vf?.rssMiB ?? NaN, ka?.rssMiB ?? NaN),
      ]);
    }
  }
  say('');
  say(table(rows));
  say('');
  say(`CPU: % of one core over ${WINDOW_S} s (clock-tick resolution 10 ms, so ${fmt(1 / WINDOW_S, 2)}% is one tick); keepalived = parent + VRRP child.`);
  say('VRRPv3, advert_int 1, one Master and one Backup node per implementation, measured one implementation at a time.');
  for (const [k, r] of results) if (r.note) say(`note ${k}: ${r.note}`);
}

await main();
