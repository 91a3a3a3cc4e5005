// A client's view of a brief takeover, vipflow beside keepalived 2.2.7 in the
// same lab shape as test/lab/arp-repair.test.ts (prefix vfhab): routers a
// (priority 254) and b (250), VRRPv3 at 0.1 s, keepalived's default garp
// settings; node x spoofs a priority-0 advert from a's address
// (lab/spoofed-advert.ts) so b takes over for a few ms; node c pings the VIP
// every 10 ms. Per round: requests lost and how long after the spoof the
// client was answered for good; the gratuitous ARP bursts a and b sent
// (tcpdump in c). Rounds are ROUND_GAP apart, longer than a stale entry lasts.
//
//   npx tsx bench/brief-takeover.ts [--impl keepalived|vipflow] [--rounds 2] [--gap-ms 10000]
import { parseArgs } from 'node:util';
import { silentLogger } from '../core/logger.js';
import { createLab, sleep, startCapture, sweepStaleLabs, type Lab } from '../lab/index.js';
import { startPinger } from '../lab/pinger.js';
import { spoofedAdvertCommand } from '../lab/spoofed-advert.js';
import { formatMac, interfaceInfo } from '../wire/socket/index.js';
import { waitHolder } from './lib/lab-cmd.js';
import { IMPLS, routerConfig, startRouter, type Impl, type Router } from './lib/routers.js';
import { prepareVipflow } from './lib/vipflow-build.js';

const { values: opts } = parseArgs({
  options: { impl: { type: 'string' }, rounds: { type: 'string', default: '2' }, 'gap-ms': { type: 'string', default: '10000' } },
});
const ROUNDS = Number(opts.rounds);
const GAP_MS = Number(opts['gap-ms']);
const PREFIX = 'vfhab';
const SUBNET = 192;
const VIP = `198.18.${SUBNET}.100`;
const VRID = 62;
const logger = silentLogger();

async function one(impl: Impl, lab: Lab): Promise<string[]> {
  const vipflow = await prepareVipflow(true);
  const routers: Router[] = [];
  const out: string[] = [];
  try {
    const conf = (id: string, priority: number) =>
      routerConfig(id, [{ name: 'VI_arp', interface: 'eth0', vrid: VRID, version: 3, priority, advertInt: 0.1, vips: [`${VIP}/24`] }]);
    routers.push(await startRouter(lab, impl, 'b', conf('b', 250), vipflow));
    await sleep(500);
    routers.push(await startRouter(lab, impl, 'a', conf('a', 254), vipflow));
    if (!(await waitHolder(lab, ['a', 'b'], 'a', VIP, 5000))) throw new Error(`${impl}: a does not hold the VIP`);
    await sleep(6000); // past a's garp_master_delay burst (5 s)
    const mac = (n: string) => {
      const r = interfaceInfo('eth0', lab.node(n).ns);
      return r.ok ? formatMac(r.value.mac) : '?';
    };
    const macs = { a: mac('a'), b: mac('b') };
    const capture = await startCapture(lab, 'c', { filter: ['arp'], timeoutMs: ROUNDS * GAP_MS + 10_000 });
    const pinger = startPinger(lab, 'c', VIP, 10);
    await sleep(500);
    const spoofs: number[] = [];
    const spoof = spoofedAdvertCommand(['--source', lab.node('a').ipv4!, '--vrid', String(VRID), '--priority', '0', '--interval-cs', '10', '--addresses', VIP]);
    for (let i = 0; i < ROUNDS; i++) {
      const r = await lab.exec('x', process.execPath, spoof, 10_000);
      spoofs.push((JSON.parse(r.stdout) as { firstAt: number }).firstAt);
      await sleep(GAP_MS);
    }
    const { sentAt, replies } = await pinger.stop();
    capture.stop();
    const day = new Date(spoofs[0]!);
    const garps = (await capture.done).flatMap((l) => {
      const m = /^(\d\d):(\d\d):(\d\d\.\d+) ([0-9a-f:]{17}) > .*Request who-has (\S+) .*tell (\S+),/.exec(l);
      if (!m || m[5] !== VIP || m[6] !== VIP) return [];
      const at = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), Number(m[1]), Number(m[2])) + Number(m[3]) * 1000;
      return [{ at, who: m[4] === macs.a ? 'a' : m[4] === macs.b ? 'b' : m[4]! }];
    });
    const answered = new Set(replies.map((r) => r.sequence));
    for (const [i, t] of spoofs.entries()) {
      const end = t + GAP_MS - 200;
      let lost = 0;
      let lastLost = -1;
      for (let q = 0; q < sentAt.length; q++) {
        if (sentAt[q]! < t || sentAt[q]! >= end) continue;
        if (!answered.has(q)) {
          lost++;
          lastLost = q;
        }
      }
      const recovered = lastLost < 0 ? 'no loss' : `answered for good ${Math.round(sentAt[lastLost + 1]! - t)} ms after the spoof`;
      // Bursts: frames from one router less than 50 ms apart.
      const bursts: string[] = [];
      let last: { who: string; at: number; n: number } | null = null;
      for (const g of garps.filter((x) => x.at >= t && x.at < end)) {
        if (last && last.who === g.who && g.at - last.at < 50) last.n++;
        else {
          if (last) bursts.push(`${last.who}@${Math.round(last.at - t)}x${last.n}`);
          last = { who: g.who, at: g.at, n: 1 };
        }
      }
      if (last) bursts.push(`${last.who}@${Math.round(last.at - t)}x${last.n}`);
      out.push(`${impl} round ${i}: ${lost} requests lost, ${recovered}; gratuitous ARP bursts (ms after the spoof): ${bursts.join(' ') || 'none'}`);
    }
  } finally {
    for (const r of routers) await r.stop();
    vipflow.dispose();
  }
  return out;
}

await sweepStaleLabs(PREFIX, logger);
const lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b', 'c', 'x'], subnet: SUBNET, ipv6: false, logger });
try {
  for (const impl of opts.impl ? [opts.impl as Impl] : IMPLS) for (const line of await one(impl, lab)) console.log(line);
} finally {
  await lab.destroy();
}
