// A hostile LAN, vipflow beside keepalived 2.2.7 in the same run and the same
// namespace lab (prefix vfhb: Master a at priority 200, Backup b at 100,
// VRRPv3 at 0.1 s adverts, attacker x sending raw VRRP from its own process,
// lab/flood.ts).
//
//   npx tsx bench/hostile-lan.ts [--quick] [--tsx] [--impl keepalived|vipflow]
//
// Floods: adverts for the 254 other VRIDs, and adverts for our VRID at
// priority 50, at rising rates. For each: the packets x sent, the Master's
// sends per second and its advert intervals (p99, max) as x receives them,
// the Master's CPU per second and per dropped packet (/proc utime + stime),
// transitions on either node, and the Master's log growth.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createLab, sleep, sweepStaleLabs, type Lab } from '../lab/index.js';
import { floodFrom, type FloodSpec } from '../lab/flood.js';
import { silentLogger } from '../core/logger.js';
import { encodeVrrp, parseAddress, type VrrpAdvert } from '../wire/codec/index.js';
import { watchAdvertTimes } from '../lab/advert-times.js';
import { IMPLS, routerConfig, startRouter, type Impl, type Router } from './lib/routers.js';
import { fmt, percentile, table } from './lib/stats.js';
import { prepareVipflow, type VipflowCommand } from './lib/vipflow-build.js';
import { cpuMs, sum } from './lib/proc-usage.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    tsx: { type: 'boolean', default: false },
    impl: { type: 'string' },
  },
});

const PREFIX = 'vfhb';
const SUBNET = 221;
const VRID = 40;
const ADVERT_MS = 100;
const VIPS = ['198.18.221.100/24'];
const FLOOD_MS = opts.quick ? 2000 : 4000;
const RATES = opts.quick ? [5000, 20_000] : [5000, 20_000, 50_000];
const KINDS = ['other VRIDs', 'lower priority'] as const;
type Kind = (typeof KINDS)[number];
const logger = silentLogger();

interface Row {
  impl: Impl;
  kind: Kind;
  pps: number;
  sent: number;
  masterPerSec: number;
  p99Ms: number;
  maxMs: number;
  cpuMsPerSec: number;
  cpuUsPerPacket: number;
  transitions: number;
  logKiB: number;
}

function messages(kind: Kind, source: string): FloodSpec['messages'] {
  const ad = (vrid: number, priority: number) =>
    encodeVrrp({ version: 3, vrid, priority, maxAdvertIntervalCs: 10, addresses: VIPS.map((v) => parseAddress(v.split('/')[0]!)!) } as VrrpAdvert, {
      source: parseAddress(source)!,
      destination: parseAddress('224.0.0.18')!,
    }).toString('hex');
  if (kind === 'lower priority') return [{ hex: ad(VRID, 50) }];
  const out = [];
  for (let v = 1; v <= 255; v++) if (v !== VRID) out.push({ hex: ad(v, 250) });
  return out;
}

const TRANSITION = { vipflow: /"msg":"\w+ -> \w+"/g, keepalived: /Entering (MASTER|BACKUP|FAULT) STATE/g };
const transitionsIn = (r: Router, impl: Impl) => (r.log().match(TRANSITION[impl]) ?? []).length;

async function runImpl(lab: Lab, impl: Impl, vipflow: VipflowCommand, rows: Row[]): Promise<void> {
  const conf = (p: number) =>
    routerConfig(`r${p}`, [{ name: 'VI_h', interface: 'eth0', vrid: VRID, version: 3, priority: p, advertInt: ADVERT_MS / 1000, vips: VIPS }]);
  const a = await startRouter(lab, impl, 'a', conf(200), vipflow);
  const b = await startRouter(lab, impl, 'b', conf(100), vipflow);
  const aAddr = lab.node('a').ipv4!;
  const xAddr = lab.node('x').ipv4!;
  // Kernel receive timestamps in x (tcpdump), so the bench process's own scheduling cannot blur the intervals.
  const watcher = await watchAdvertTimes(lab, 'x', aAddr, VRID);
  try {
    await sleep(3000); // a Master, b Backup, start-up done
    for (const kind of KINDS) {
      for (const pps of RATES) {
        const pids = a.pids();
        const t0 = Date.now();
        const cpu0 = sum(pids, cpuMs);
        const tr0 = transitionsIn(a, impl) + transitionsIn(b, impl);
        const log0 = logSize(a);
        // A sender starved past its bound (a saturated machine) loses this row, not the run.
        const r = await floodFrom(lab, 'x', { interface: 'eth0', family: 4, pps, durationMs: FLOOD_MS, messages: messages(kind, xAddr) }).catch(
          (err: unknown) => {
            process.stdout.write(`${impl} ${kind} ${pps}/s: no figures, ${err instanceof Error ? err.message : String(err)}\n`);
            return null;
          },
        );
        if (r === null) {
          await sleep(1200);
          continue;
        }
        const t1 = Date.now();
        await sleep(300); // tcpdump's lines for the last packets
        const cpu1 = sum(pids, cpuMs);
        const inside = watcher.times().filter((t) => t >= t0 && t <= t1);
        const gaps: number[] = [];
        for (let i = 1; i < inside.length; i++) gaps.push(inside[i]! - inside[i - 1]!);
        if (inside.length) gaps.push(inside[0]! - t0, t1 - inside[inside.length - 1]!);
        const cpu = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : Number.NaN;
        rows.push({
          impl,
          kind,
          pps,
          sent: r.sent,
          masterPerSec: (inside.length * 1000) / (t1 - t0),
          p99Ms: percentile(gaps, 99),
          maxMs: gaps.length ? Math.max(...gaps) : Number.NaN,
          cpuMsPerSec: (cpu * 1000) / (t1 - t0),
          cpuUsPerPacket: (cpu * 1000) / Math.max(1, r.sent),
          transitions: transitionsIn(a, impl) + transitionsIn(b, impl) - tr0,
          logKiB: (logSize(a) - log0) / 1024,
        });
        // Settle: the queues drain and a spurious takeover, if any, resolves.
        await sleep(1200);
        process.stdout.write(`${impl} ${kind} ${pps}/s done\n`);
      }
    }
  } finally {
    watcher.stop();
    await Promise.all([a.stop(), b.stop()]);
  }

  function logSize(r: Router): number {
    return Buffer.byteLength(r.log());
  }
}

async function main(): Promise<void> {
  await sweepStaleLabs(PREFIX, logger);
  const lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b', 'x'], subnet: SUBNET, ipv6: false, logger });
  const rows: Row[] = [];
  const vipflow = await prepareVipflow(opts.tsx);
  try {
    for (const impl of IMPLS) if (!opts.impl || opts.impl === impl) await runImpl(lab, impl, vipflow, rows);
  } finally {
    vipflow.dispose();
    await lab.destroy();
  }
  process.stdout.write(
    `\nHostile LAN: VRRPv3 0.1 s adverts, Master a (200) and Backup b (100); x floods for ${FLOOD_MS / 1000} s. ` +
      `Master intervals from kernel timestamps in x (1.5 x advert_int = ${1.5 * ADVERT_MS} ms).\n\n`,
  );
  process.stdout.write(
    table([
      ['impl', 'flood', 'rate/s', 'sent', 'Master sends/s', 'interval p99 ms', 'max ms', 'CPU ms/s', 'CPU us/packet', 'transitions', 'log KiB'],
      ...rows.map((r) => [
        r.impl,
        r.kind,
        String(r.pps),
        String(r.sent),
        fmt(r.masterPerSec, 0),
        fmt(r.p99Ms),
        fmt(r.maxMs),
        fmt(r.cpuMsPerSec, 0),
        fmt(r.cpuUsPerPacket, 2),
        String(r.transitions),
        fmt(r.logKiB, 0),
      ]),
    ]) + '\n',
  );
  // Timing under a loaded machine means little: say how loaded it was.
  process.stdout.write(`\nload average at the end: ${readFileSync('/proc/loadavg', 'utf8').trim()}\n`);
}

await main();
