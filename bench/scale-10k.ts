// 10,000 VRRP instances (issue 16; keepalived issue 2191: users run over
// 1,000): a Master and a Backup of one implementation, every instance at 1 s
// adverts, VRRPv3 over IPv4. Measures the time to converge (the Master holds
// every VIP, the Backup none), then holds for --minutes and counts the
// transitions logged after convergence (each is spurious: nothing changes in
// the lab), and prints CPU, RSS and (vipflow) GC pauses of both nodes.
// keepalived runs the same configuration in the same lab, one implementation
// at a time.
//
//   npx tsx bench/scale-10k.ts [--instances 10000] [--minutes 5] [--impl keepalived|vipflow] [--prefix vfsk] [--tsx]
//                              [--node-flags '--max-semi-space-size=2']   (more node flags for vipflow, to compare V8 settings)
//
// Only 255 VRIDs exist per interface and family, so instances spread over
// interfaces of 250 each, every interface on a segment (bridge) of its own:
// 40 segments for 10,000. CPU = utime + stime from /proc over the hold, as % of
// one core (keepalived: parent + VRRP child); RSS = VmRSS at the end of the hold.
// vipflow runs with --trace-gc: its GC pauses in the hold are parsed from its log.
import { parseArgs } from 'node:util';
import { createLab, pollUntil, sleep, sweepStaleLabs, type Lab } from '../lab/index.js';
import { addSegments } from './lib/segments.js';
import { silentLogger } from '../core/logger.js';
import { cpuMs, rssKiB, sum } from './lib/proc-usage.js';
import { IMPLS, routerConfig, startRouter, type Impl, type Router, type RouterInstance } from './lib/routers.js';
import { fmt, table } from './lib/stats.js';
import { prepareVipflow, type VipflowCommand } from './lib/vipflow-build.js';
import { gcPauses, type GcPauses } from './lib/gc-trace.js';

const { values: opts } = parseArgs({
  options: {
    instances: { type: 'string', default: '10000' },
    minutes: { type: 'string', default: '5' },
    impl: { type: 'string' },
    prefix: { type: 'string', default: 'vfsk' },
    tsx: { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
  },
});
const COUNT = Number(opts.instances);
const HOLD_MS = Number(opts.minutes) * 60_000;
const PER_INTERFACE = 250;
const SEGMENTS = Math.ceil(COUNT / PER_INTERFACE);
// The lab's first segment is 198.18.160.0/24, the others follow: 40 segments end at .199.
const SUBNET = 160;
if (!Number.isInteger(COUNT) || COUNT < 1 || SEGMENTS > 60) throw new Error(`--instances 1..${60 * PER_INTERFACE}`);
const EXTRA = Array.from({ length: SEGMENTS - 1 }, (_, i) => i + 1);
const CONVERGE_MS = 600_000;
const logger = silentLogger();
const say = (s: string) => process.stdout.write(s + '\n');

function instances(priority: number): RouterInstance[] {
  return Array.from({ length: COUNT }, (_, k) => {
    const i = Math.floor(k / PER_INTERFACE);
    const vrid = (k % PER_INTERFACE) + 1;
    // 198.19.0.0/16 is inside 198.18.0.0/15; one /24 per interface.
    return { name: `I${k}`, interface: `eth${i}`, vrid, version: 3, priority, advertInt: 1, vips: [`198.19.${100 + i}.${vrid}/32`] };
  });
}

/** Polls (1 s apart) the Master-holds-all, Backup-holds-none split must last to count as converged. */
const STABLE_POLLS = 10;

async function vipCount(lab: Lab, node: string): Promise<number> {
  const r = await lab.exec(node, 'ip', ['-4', '-o', 'addr', 'show'], 60_000);
  if (r.code !== 0) return -1;
  return r.stdout.split('\n').filter((l) => l.includes(' inet 198.19.')).length;
}

/** Transitions each implementation logs: vipflow's "<from> -> <to>" lines, keepalived's "Entering <STATE> STATE". */
function transitions(impl: Impl, log: string): number {
  const re = impl === 'vipflow' ? /"msg":"[a-z]+ -> [a-z]+"/g : /Entering [A-Z]+ STATE/g;
  return log.match(re)?.length ?? 0;
}

interface NodeFigures {
  cpuPct: number;
  rssMiB: number;
  transitions: number;
  gc: GcPauses | null;
}
interface Row {
  convergeS: number | null;
  m: NodeFigures | null;
  b: NodeFigures | null;
  note: string;
}

async function measure(lab: Lab, impl: Impl, vipflow: VipflowCommand): Promise<Row> {
  let m: Router | null = null;
  let b: Router | null = null;
  try {
    const t0 = performance.now();
    b = await startRouter(lab, impl, 'b', routerConfig('b', instances(100)), vipflow, CONVERGE_MS);
    m = await startRouter(lab, impl, 'm', routerConfig('m', instances(200)), vipflow, CONVERGE_MS);
    // Converged once the split has held for STABLE_POLLS polls in a row: a Backup whose
    // timers run late can match for a moment between two rounds of takeovers.
    let heldSince: number | null = null;
    let heldPolls = 0;
    const converged = await pollUntil(
      async () => {
        const split = (await vipCount(lab, 'm')) === COUNT && (await vipCount(lab, 'b')) === 0;
        heldPolls = split ? heldPolls + 1 : 0;
        if (heldPolls === 1) heldSince = performance.now();
        return heldPolls >= STABLE_POLLS ? true : undefined;
      },
      CONVERGE_MS,
      1000,
    );
    if (!converged)
      return {
        convergeS: null,
        m: null,
        b: null,
        note: `not converged in ${CONVERGE_MS / 1000} s: m ${await vipCount(lab, 'm')}, b ${await vipCount(lab, 'b')} VIPs`,
      };
    const convergeS = ((heldSince ?? performance.now()) - t0) / 1000;
    // garp_master_delay (5 s) sends a second burst after becoming Master: the hold starts after it.
    await sleep(6500);
    const routers = { m, b };
    const mark = { m: m.log().length, b: b.log().length };
    const pids = { m: m.pids(), b: b.pids() };
    const c0 = { m: sum(pids.m, cpuMs), b: sum(pids.b, cpuMs) };
    const h0 = performance.now();
    const deadline = h0 + HOLD_MS;
    let lost = '';
    // Every 10 s: a VIP count off by one is a transition the logs would also show; stop early if a daemon died.
    while (performance.now() < deadline && lost === '') {
      await sleep(Math.min(10_000, deadline - performance.now()));
      if (m.pids().length === 0 || b.pids().length === 0) lost = 'a daemon exited during the hold';
    }
    const elapsed = performance.now() - h0;
    const figures = (node: 'm' | 'b'): NodeFigures | null => {
      const c1 = sum(pids[node], cpuMs);
      const rss = sum(pids[node], rssKiB);
      const c = c0[node];
      if (c === null || c1 === null || rss === null) return null;
      const log = routers[node].log().slice(mark[node]);
      return { cpuPct: ((c1 - c) / elapsed) * 100, rssMiB: rss / 1024, transitions: transitions(impl, log), gc: impl === 'vipflow' ? gcPauses(log) : null };
    };
    const row = { convergeS, m: figures('m'), b: figures('b') };
    const [vm, vb] = [await vipCount(lab, 'm'), await vipCount(lab, 'b')];
    const note = [lost, vm === COUNT && vb === 0 ? '' : `VIPs at the end: m ${vm}, b ${vb}`].filter((x) => x !== '').join('; ');
    return { ...row, note };
  } finally {
    await Promise.all([m?.stop(), b?.stop()]);
  }
}

async function main(): Promise<void> {
  say(`scale benchmark: ${COUNT.toLocaleString('en')} instances on ${SEGMENTS} segments, 1 s adverts, hold ${fmt(HOLD_MS / 60_000)} min; building vipflow...`);
  const built = await prepareVipflow(opts.tsx);
  // --trace-gc goes to stdout, which is the log the benchmark reads.
  const nodeFlags = opts['node-flags'].split(' ').filter((f) => f !== '');
  const vipflow: VipflowCommand = { ...built, args: [...nodeFlags, '--trace-gc', ...built.args] };
  say(`vipflow from ${built.describe}${nodeFlags.length > 0 ? ` with ${nodeFlags.join(' ')}` : ''}`);
  await sweepStaleLabs(opts.prefix, logger);
  const lab = await createLab({ prefix: opts.prefix, nodes: ['m', 'b'], subnet: SUBNET, ipv6: false, logger });
  const rows = new Map<Impl, Row>();
  try {
    await addSegments(lab, SUBNET, EXTRA);
    for (const impl of IMPLS.filter((x) => !opts.impl || x === opts.impl)) {
      let row: Row;
      try {
        row = await measure(lab, impl, vipflow);
      } catch (err) {
        row = { convergeS: null, m: null, b: null, note: String(err).slice(0, 400) };
      }
      rows.set(impl, row);
      say(`  ${impl}: converged ${row.convergeS === null ? '-' : `${fmt(row.convergeS)} s`} ${row.note}`);
    }
  } finally {
    await lab.destroy();
    built.dispose();
  }
  const out = [['implementation', 'node', 'converged s', 'transitions in hold', 'CPU %', 'RSS MiB', 'GC pauses', 'GC longest ms', 'GC total ms']];
  for (const [impl, r] of rows)
    for (const node of ['m', 'b'] as const) {
      const f = r[node];
      out.push([
        impl,
        node === 'm' ? 'master' : 'backup',
        r.convergeS === null ? '-' : fmt(r.convergeS),
        f ? String(f.transitions) : '-',
        f ? fmt(f.cpuPct, 2) : '-',
        f ? fmt(f.rssMiB) : '-',
        f?.gc ? String(f.gc.count) : '-',
        f?.gc ? fmt(f.gc.longestMs, 2) : '-',
        f?.gc ? fmt(f.gc.totalMs) : '-',
      ]);
    }
  say('');
  say(table(out));
  say('');
  say(`Target (issue 16): ${COUNT.toLocaleString('en')} instances converge and hold with 0 transitions after convergence.`);
  say('converged = both daemons started to the Master holding every VIP and the Backup none, held for 10 polls 1 s apart; CPU over the hold, % of one core.');
}

await main();
