/**
 * The load balancer's benchmark (issue 12), in keepalived's LVS-NAT topology in
 * namespaces (bench/lib/lb-topology.ts: client — LB — 3 real servers running a
 * tiny node HTTP server):
 *
 *  rps     requests per second through the VIP (nftables NAT, NftBackend, rr over
 *          the 3 servers) against the same servers reached directly through the
 *          LB (plain forwarding), same client program: W parallel loops, each a
 *          new connection per request (no keep-alive), for S seconds. The direct
 *          case runs twice: before any table (no conntrack in the LB) and with
 *          the NAT table installed (conntrack on, the VIP unused). The three
 *          cases are interleaved over 2 rounds (1 with --quick), mean printed.
 *  apply   NftBackend.apply time for 1,000 real servers in one virtual server
 *          (first apply, one weight change) and for 2,000 virtual servers /
 *          37,000 real servers (first apply, one weight change), against
 *          keepalived 2.3's 0.24 s reload of 2,277 VS / 37,205 RS.
 *  down    a real server's HTTP server killed to no more requests sent to it,
 *          through the daemon (`vipflow run` in the LB namespace, TCP_CHECK
 *          delay_loop 1, connect_timeout 1, retry 1, delay_before_retry 1): a
 *          client sends a request every ~10 ms and records which server answered;
 *          the figure is the start of the last request after the kill that went
 *          to the dead server (refused: it fails), p50/max over the repetitions,
 *          against keepalived's bound (delay_loop + retry × delay_before_retry);
 *          beside it, the daemon's logged "real server down" and the status's
 *          table without the server (both after the kill).
 *
 * The kernel has no IPVS, so there is no IPVS (or keepalived) run beside it;
 * the output says so. Client, LB and servers share this machine's cores, so the
 * requests per second are bounded by CPU, not by the network.
 *
 *   node dist/bench/lb.js [--quick] [--parts rps,apply,down] [--seconds S] [--workers W] [--repeats N]
 *
 * Lab prefix lbb (namespaces lbb-lb, lbb-rs1..3, lbb-cl and the lab's bridge).
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { silentLogger } from '../core/logger.js';
import { NftBackend } from '../infra/lb/nft-backend.js';
import type { LbState, LbVirtualService } from '../infra/lb/model.js';
import { pollUntil, sleep, startVipflow, type VipflowDaemon } from '../lab/index.js';
import { CLIENT_ADDRESSES, createLbTopology, LB_VIP, REAL_SERVERS, type LbTopology } from './lib/lb-topology.js';
import { fmt, median, percentile, ratio, table } from './lib/stats.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    parts: { type: 'string', default: 'rps,apply,down' },
    seconds: { type: 'string' },
    workers: { type: 'string', default: '8' },
    repeats: { type: 'string' },
  },
});
const PARTS = new Set(opts.parts.split(','));
const SECONDS = Number(opts.seconds ?? (opts.quick ? 2 : 5));
const WORKERS = Number(opts.workers);
const REPEATS = Number(opts.repeats ?? (opts.quick ? 3 : 5));
const APPLY_REPEATS = opts.quick ? 1 : 3;
const RPS_ROUNDS = opts.quick ? 1 : 2;
const PREFIX = 'lbb';
const SUBNET = 2;
const KEEPALIVED_RELOAD_MS = 240;
/** delay_loop 1 s to the first failing probe, then retry 1 × delay_before_retry 1 s; a refused connection fails at once. */
const KEEPALIVED_DOWN_BOUND_MS = 1000 + 1 * 1000;

const logger = silentLogger();
const say = (s: string): void => void process.stdout.write(s + '\n');
const figures: string[][] = [['figure', 'measured', 'reference', 'note']];

// --- rps ------------------------------------------------------------------------------------

/** W loops for ms, each request on a new connection from `from` to the next URL of its own rotation; prints {ok, fail}. */
const LOAD = `
const http = require('http');
const [urls, workers, ms, from] = process.argv.slice(1);
const list = urls.split(',');
let ok = 0, fail = 0;
const end = Date.now() + Number(ms);
const one = (url) => new Promise((r) => {
  const q = http.get(url, { agent: false, timeout: 2000, localAddress: from }, (res) => { res.resume(); res.on('end', () => { ok++; r(); }); });
  q.on('error', () => { fail++; r(); });
  q.on('timeout', () => q.destroy());
});
const loop = async (w) => { for (let i = w; Date.now() < end; i++) await one(list[i % list.length]); };
Promise.all(Array.from({ length: Number(workers) }, (_, w) => loop(w))).then(() => console.log(JSON.stringify({ ok, fail })));
`;

async function load(topo: LbTopology, urls: string[], from: string): Promise<{ rps: number; fail: number }> {
  const ms = SECONDS * 1000;
  const r = await topo.inClient(process.execPath, ['-e', LOAD, urls.join(','), String(WORKERS), String(ms), from], ms + 30_000);
  if (r.code !== 0) throw new Error(`load client: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { ok: number; fail: number };
  // The client's own loop runs for `ms` (its start-up excluded), to within one request.
  return { rps: out.ok / SECONDS, fail: out.fail };
}

function vipService(topo: LbTopology): LbVirtualService {
  return {
    id: `${LB_VIP}:80/tcp`,
    virtualServer: `${LB_VIP}:80`,
    service: { kind: 'address', family: 4, protocol: 'tcp', address: LB_VIP, port: 80 },
    scheduler: 'rr',
    lbKind: 'NAT',
    destinations: REAL_SERVERS.map((rs) => ({ address: topo.address(rs), port: 80, weight: 1 })),
  };
}

async function rpsPart(topo: LbTopology, backend: NftBackend): Promise<void> {
  say(`\n[rps] ${WORKERS} parallel loops, a new connection per request, ${SECONDS} s per case, ${RPS_ROUNDS} round(s) of the three cases interleaved`);
  say(
    `  client, LB and servers share this machine's ${availableParallelism()} cores (load average ${loadavg()[0]!.toFixed(1)}): the rates are CPU-bound, and vary by some 15% from run to run`,
  );
  const direct = REAL_SERVERS.map((rs) => `http://${topo.address(rs)}/`);
  await backend.clear();
  // A first run warms the JIT, the servers and the namespaces' caches; not counted.
  await load(topo, direct, CLIENT_ADDRESSES[4]);
  const cases: { name: string; short: string; rps: number[]; fail: number }[] = [
    { name: 'direct, no table in the LB (plain forwarding)', short: 'direct (plain forwarding)', rps: [], fail: 0 },
    { name: 'direct, NAT table installed (conntrack on)', short: 'direct (conntrack on)', rps: [], fail: 0 },
    { name: 'through the VIP (nftables NAT, rr)', short: 'through the VIP (nftables)', rps: [], fail: 0 },
  ];
  for (let round = 0; round < RPS_ROUNDS; round++) {
    for (const [i, c] of cases.entries()) {
      if (i === 0) await backend.clear();
      if (i === 1) {
        const applied = await backend.apply({ services: [vipService(topo)] });
        if (!applied.ok) throw new Error(`apply: ${applied.error}`);
      }
      // Each case its own client address (see CLIENT_ADDRESSES).
      const r = await load(topo, i === 2 ? [`http://${LB_VIP}/`] : direct, CLIENT_ADDRESSES[i]!);
      c.rps.push(r.rps);
      c.fail += r.fail;
      say(`  ${c.name}: ${fmt(r.rps, 0)} req/s (${r.fail} failed)`);
    }
    const [counters] = await backend.counters();
    say(
      `  per real server through the VIP this round: ${counters?.destinations.map((d) => `${d.address} ${d.connections ?? d.packets} ${d.connections === undefined ? 'packets' : 'connections'}`).join(', ') ?? 'no counters'}`,
    );
  }
  await backend.clear();
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const [plain, tracked, vip] = cases.map((c) => mean(c.rps)) as [number, number, number];
  for (const c of cases)
    figures.push([
      `req/s ${c.short}`,
      fmt(mean(c.rps), 0),
      '',
      c === cases[2]
        ? `VIP/direct ${ratio(vip, plain)} (plain), ${ratio(vip, tracked)} (conntrack on); ${c.fail} failed`
        : `${c.fail} failed${RPS_ROUNDS > 1 ? `, mean of ${RPS_ROUNDS}` : ''}`,
    ]);
  figures.push(['req/s through the VIP (IPVS)', 'n/a', '', 'no IPVS in this kernel']);
}

// --- apply ----------------------------------------------------------------------------------

function thousand(weight: (k: number) => number): LbState {
  const address = '198.18.3.110';
  return {
    services: [
      {
        id: `${address}:80/tcp`,
        virtualServer: `${address}:80`,
        service: { kind: 'address', family: 4, protocol: 'tcp', address, port: 80 },
        scheduler: 'wrr',
        lbKind: 'NAT',
        destinations: Array.from({ length: 1000 }, (_, k) => ({
          address: `198.18.${100 + Math.floor(k / 250)}.${(k % 250) + 1}`,
          port: 80,
          weight: weight(k),
        })),
      },
    ],
  };
}

/** 2,000 virtual servers on 198.19.0-7.x, 37,000 real servers on 198.19.16+.x (1,000 × 18 + 1,000 × 19). */
function big(): LbState {
  const services: LbVirtualService[] = [];
  let n = 0;
  for (let i = 0; i < 2000; i++) {
    const address = `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    services.push({
      id: `${address}:80/tcp`,
      virtualServer: `${address}:80`,
      service: { kind: 'address', family: 4, protocol: 'tcp', address, port: 80 },
      scheduler: 'wrr',
      lbKind: 'NAT',
      destinations: Array.from({ length: i < 1000 ? 18 : 19 }, () => {
        n++;
        return { address: `198.19.${16 + Math.floor(n / 250)}.${(n % 250) + 1}`, port: 8000 + (n % 100), weight: (n % 5) + 1 };
      }),
    });
  }
  return { services };
}

async function timed(backend: NftBackend, state: LbState): Promise<number> {
  const r = await backend.apply(state);
  if (!r.ok) throw new Error(`apply refused: ${r.error.slice(0, 300)}`);
  return r.ms;
}

async function applyPart(backend: NftBackend): Promise<void> {
  say(`\n[apply] NftBackend.apply, one nft transaction each, ${APPLY_REPEATS} repetition(s), median`);
  const rows: { name: string; first: number[]; change: number[]; mode: string[] }[] = [
    { name: '1,000 RS in one VS', first: [], change: [], mode: [] },
    { name: '2,000 VS / 37,000 RS', first: [], change: [], mode: [] },
  ];
  for (let i = 0; i < APPLY_REPEATS; i++) {
    await backend.clear();
    rows[0]!.first.push(
      await timed(
        backend,
        thousand(() => 1),
      ),
    );
    rows[0]!.change.push(
      await timed(
        backend,
        thousand((k) => (k === 500 ? 5 : 1)),
      ),
    );
    rows[0]!.mode.push(backend.lastApplyMode ?? '?');
    await backend.clear();
    const state = big();
    rows[1]!.first.push(await timed(backend, state));
    state.services[1000]!.destinations[3]!.weight = 50;
    rows[1]!.change.push(await timed(backend, state));
    rows[1]!.mode.push(backend.lastApplyMode ?? '?');
    await backend.clear();
  }
  for (const r of rows) {
    say(`  ${r.name}: first apply ${r.first.join(', ')} ms; one weight changed ${r.change.join(', ')} ms (${[...new Set(r.mode)].join(', ')})`);
    figures.push([`apply ${r.name}, first`, `${fmt(median(r.first), 0)} ms`, `${KEEPALIVED_RELOAD_MS} ms`, 'keepalived 2.3 reload, 2,277 VS / 37,205 RS']);
    figures.push([
      `apply ${r.name}, one weight`,
      `${fmt(median(r.change), 0)} ms`,
      `${KEEPALIVED_RELOAD_MS} ms`,
      `${[...new Set(r.mode)].join(', ')} transaction`,
    ]);
  }
}

// --- down -----------------------------------------------------------------------------------

/** A request every gap ms on a new connection, for ms; prints {log: [[startedAt (Date.now), name | 'FAIL']...]}. */
const PACE = `
const http = require('http');
const [url, ms, gap, from] = process.argv.slice(1);
const log = [];
const end = Date.now() + Number(ms);
(async () => {
  while (Date.now() < end) {
    const at = Date.now();
    await new Promise((r) => {
      const q = http.get(url, { agent: false, timeout: 1000, localAddress: from }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => { log.push([at, b]); r(); });
      });
      q.on('error', () => { log.push([at, 'FAIL']); r(); });
      q.on('timeout', () => q.destroy());
    });
    const wait = at + Number(gap) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  console.log(JSON.stringify({ log }));
})();
`;

function daemonConf(topo: LbTopology): string {
  return [
    'global_defs {',
    `  router_id ${PREFIX}-lb`,
    '}',
    `virtual_server ${LB_VIP} 80 {`,
    '  delay_loop 1',
    '  lb_algo rr',
    '  lb_kind NAT',
    '  protocol TCP',
    ...REAL_SERVERS.flatMap((rs) => [
      `  real_server ${topo.address(rs)} 80 {`,
      '    weight 1',
      '    TCP_CHECK {',
      '      connect_timeout 1',
      '      retry 1',
      '      delay_before_retry 1',
      '    }',
      '  }',
    ]),
    '}',
    '',
  ].join('\n');
}

/** Polls the daemon until its applied table has exactly these real servers; the Date.now() when seen, or undefined. */
async function waitTable(daemon: VipflowDaemon, addresses: string[], timeoutMs: number): Promise<number | undefined> {
  const want = [...addresses].sort().join(',');
  return pollUntil(
    async () => {
      const lb = (await daemon.status()).lb;
      const have = (lb.table[0]?.destinations ?? [])
        .filter((d) => d.weight > 0)
        .map((d) => d.address)
        .sort()
        .join(',');
      return have === want ? Date.now() : undefined;
    },
    timeoutMs,
    50,
  );
}

async function downPart(topo: LbTopology): Promise<void> {
  say(`\n[down] the daemon (nftables backend), TCP_CHECK delay_loop 1, connect_timeout 1, retry 1, delay_before_retry 1; ${REPEATS} kills`);
  const daemon = await startVipflow(topo.lab, 'lb', 'lbbench', daemonConf(topo));
  const all = REAL_SERVERS.map((rs) => topo.address(rs));
  const gaps: number[] = [];
  const tableGaps: number[] = [];
  const downGaps: number[] = [];
  try {
    if ((await waitTable(daemon, all, 15_000)) === undefined) throw new Error('the daemon never balanced over the 3 real servers');
    // Real servers start alive, and before a checker's first success one failure is enough to go down (keepalived's
    // retry_it starts at retry): a kill before the first probe (BOOTSTRAP_DELAY 1 s + up to a warmup of delay_loop) would
    // be noticed sooner than in steady state. Wait until every checker has probed.
    await sleep(3000);
    for (let i = 0; i < REPEATS; i++) {
      const victim = REAL_SERVERS[i % REAL_SERVERS.length]!;
      const windowMs = 6000;
      const client = topo.inClient(process.execPath, ['-e', PACE, `http://${LB_VIP}/`, String(windowMs), '10', CLIENT_ADDRESSES[3]], windowMs + 15_000);
      await sleep(1000);
      const mark = daemon.lines.length;
      const killedAt = await topo.killServer(victim);
      const removedAt = await waitTable(
        daemon,
        all.filter((a) => a !== topo.address(victim)),
        8000,
      );
      const r = await client;
      // The daemon's own log: when it declared the real server down, and why (its ISO time, same clock).
      const down = daemon.lines.slice(mark).find((l) => l.msg === 'real server down' && String(l.realServer).includes(topo.address(victim)));
      const downAt = down === undefined ? undefined : Date.parse(down.time) - killedAt;
      if (r.code !== 0) throw new Error(`client: ${r.stderr}`);
      const log = (JSON.parse(r.stdout) as { log: [number, string][] }).log;
      // After the kill, the dead server cannot answer: its requests are the failed ones (refused by its kernel).
      const bad = log.filter(([at, who]) => at >= killedAt && (who === 'FAIL' || who === victim));
      const before = log.filter(([at]) => at < killedAt).length;
      const last = bad.length === 0 ? 0 : bad[bad.length - 1]![0] - killedAt;
      const served = new Set(log.filter(([at]) => at < killedAt).map(([, who]) => who));
      say(
        `  kill ${i + 1} (${victim}): last request to it ${last} ms after the kill (${bad.length} failed of ${log.length - before} after the kill, ${log.length} in all); ` +
          `logged down ${downAt === undefined ? 'not seen' : `${downAt} ms`} (${String(down?.reason ?? '')} ${String(down?.detail ?? '')}); ` +
          `table without it ${removedAt === undefined ? 'not seen' : `${removedAt - killedAt} ms`}; served before: ${[...served].sort().join(' ')}`,
      );
      gaps.push(last);
      if (removedAt !== undefined) tableGaps.push(removedAt - killedAt);
      if (downAt !== undefined) downGaps.push(downAt);
      await topo.startServer(victim);
      if ((await waitTable(daemon, all, 10_000)) === undefined) throw new Error(`${victim} never came back into the table`);
    }
  } finally {
    await daemon.stop(5000);
  }
  figures.push([
    'kill to last request to the dead RS',
    `p50 ${fmt(median(gaps), 0)} / max ${fmt(Math.max(...gaps), 0)} ms`,
    `${KEEPALIVED_DOWN_BOUND_MS} ms`,
    `keepalived's bound (refused), ${gaps.length} kills`,
  ]);
  figures.push([
    'kill to the daemon\'s "real server down"',
    `p50 ${fmt(median(downGaps), 0)} / max ${fmt(percentile(downGaps, 100), 0)} ms`,
    '',
    'from its log',
  ]);
  figures.push([
    "kill to the daemon's table without it",
    `p50 ${fmt(median(tableGaps), 0)} / max ${fmt(percentile(tableGaps, 100), 0)} ms`,
    '',
    'status polled every 50 ms (each a `vipflow status` run)',
  ]);
}

// ----------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  say(`load-balancer benchmark: parts ${[...PARTS].join(', ')}${opts.quick ? ' (quick)' : ''}`);
  say('No IPVS in this kernel: no IPVS (nor keepalived) figures beside the nftables ones. Reference: keepalived 2.3 reloads 2,277 VS / 37,205 RS in 0.24 s.');
  let topo: LbTopology | undefined;
  let failed = 0;
  try {
    topo = await createLbTopology(PREFIX, SUBNET, logger);
    const t = topo;
    const backend = new NftBackend({ netns: t.lbNs, logger });
    // One part failing leaves the others' figures standing; the failure is a figure too.
    const part = async (name: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        failed++;
        say(`  ${name} failed: ${String(err).slice(0, 1000)}`);
        figures.push([name, 'failed', '', String(err).slice(0, 80)]);
      } finally {
        await backend.clear();
      }
    };
    if (PARTS.has('rps')) await part('rps', () => rpsPart(t, backend));
    if (PARTS.has('apply')) await part('apply', () => applyPart(backend));
    if (PARTS.has('down')) await part('down', () => downPart(t));
  } finally {
    await topo?.destroy();
  }
  say('\nfigures');
  say(table(figures));
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
