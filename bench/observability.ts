// The HTTP endpoint's cost with 1,000 VRRP instances: one vipflow daemon, Master
// of every instance (no peer), serving --http on its loopback. Measures, from
// inside the node's namespace:
//   - /metrics and /api/v1/status: time per request (curl's time_total, one
//     request at a time), body size, the daemon's CPU per request above its idle
//     rate, and VRRP timers that fired late while requests ran;
//   - the live page in Debian's Chromium (headless, puppeteer-core): first
//     paint, first contentful paint, time until all instance cards are drawn,
//     and bytes transferred (HTML, script, and the first view on the event stream).
// Namespace lab prefix vfobb: node m, four interfaces (250 VRIDs each; subnets 152..155).
//
//   npx tsx bench/observability.ts [--quick] [--count N] [--tsx]
import { parseArgs } from 'node:util';
import { createLab, pollUntil, sleep, sweepStaleLabs, type Lab } from '../lab/index.js';
import { silentLogger } from '../core/logger.js';
import { cpuMs } from './lib/proc-usage.js';
import { routerConfig, startRouter, type Router, type RouterInstance } from './lib/routers.js';
import { addSegments } from './lib/segments.js';
import { fmt, median, percentile, table } from './lib/stats.js';
import { prepareVipflow } from './lib/vipflow-build.js';
import { launchChromiumIn } from '../lab/chromium.js';

const { values: opts } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, count: { type: 'string', default: '1000' }, tsx: { type: 'boolean', default: false } },
});
const COUNT = Number(opts.count);
const REQUESTS = opts.quick ? 10 : 30;
const IDLE_S = opts.quick ? 5 : 15;
const PREFIX = 'vfobb';
const SUBNET = 152;
const EXTRA = [1, 2, 3];
const INTERFACES = ['eth0', ...EXTRA.map((i) => `eth${i}`)];
const PER_INTERFACE = 250;
const PORT = 9650;
// After the second GARP burst (garp_master_delay 5 s): steady state only.
const SETTLE_MS = 6500;

const logger = silentLogger();
const say = (s: string) => process.stdout.write(s + '\n');

function instances(count: number): RouterInstance[] {
  return Array.from({ length: count }, (_, k) => {
    const i = Math.floor(k / PER_INTERFACE);
    const vrid = (k % PER_INTERFACE) + 1;
    return { name: `I${k}`, interface: INTERFACES[i]!, vrid, version: 3, priority: 200, advertInt: 1, vips: [`198.19.${150 + i}.${vrid}/32`] };
  });
}

async function vipCount(lab: Lab): Promise<number> {
  const r = await lab.exec('m', 'ip', ['-j', '-4', 'addr', 'show'], 30_000);
  const parsed = JSON.parse(r.code === 0 ? r.stdout || '[]' : '[]') as { addr_info?: { local?: string }[] }[];
  return parsed.flatMap((l) => l.addr_info ?? []).filter((a) => a.local?.startsWith('198.19.')).length;
}

async function lateTimers(lab: Lab): Promise<number> {
  const r = await lab.exec('m', 'curl', ['-s', '--max-time', '10', `http://127.0.0.1:${PORT}/api/v1/status`], 15_000);
  return (JSON.parse(r.stdout) as { eventLoop: { lateTimers: number } }).eventLoop.lateTimers;
}

interface Requests {
  wallMs: number[];
  bytes: number;
  cpuMsPerRequest: number;
  lateTimers: number;
}

/** REQUESTS sequential GETs of `path` with curl in the node; CPU above the idle rate, per request. */
async function measureRequests(lab: Lab, router: Router, path: string, idleCpuPerMs: number): Promise<Requests> {
  const pid = router.pids()[0]!;
  const late0 = await lateTimers(lab);
  const wallMs: number[] = [];
  let bytes = 0;
  const c0 = cpuMs(pid)!;
  const t0 = performance.now();
  for (let k = 0; k < REQUESTS; k++) {
    const r = await lab.exec(
      'm',
      'curl',
      ['-s', '-o', '/dev/null', '--max-time', '20', '-w', '%{time_total} %{size_download}', `http://127.0.0.1:${PORT}${path}`],
      30_000,
    );
    const [time, size] = r.stdout.trim().split(' ').map(Number);
    if (r.code !== 0 || !Number.isFinite(time)) throw new Error(`curl ${path}: exit ${r.code} ${r.stderr}`);
    wallMs.push(time! * 1000);
    bytes = size!;
  }
  const elapsed = performance.now() - t0;
  const cpu = cpuMs(pid)! - c0;
  return { wallMs, bytes, cpuMsPerRequest: (cpu - idleCpuPerMs * elapsed) / REQUESTS, lateTimers: (await lateTimers(lab)) - late0 };
}

interface PageFigures {
  firstPaintMs: number;
  fcpMs: number;
  allCardsMs: number;
  bytes: Map<string, number>;
}

async function measurePage(lab: Lab): Promise<PageFigures> {
  const browser = await launchChromiumIn(lab, 'm', 30_000);
  try {
    const page = await browser.newPage();
    const cdp = await page.createCDPSession();
    await cdp.send('Network.enable');
    const urls = new Map<string, string>();
    const bytes = new Map<string, number>();
    cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, new URL(e.request.url).pathname));
    // Bytes on the wire (headers and body) per finished request; the event stream never finishes: its first message's data instead.
    cdp.on('Network.loadingFinished', (e) => bytes.set(urls.get(e.requestId) ?? '?', e.encodedDataLength));
    cdp.on('Network.eventSourceMessageReceived', (e) => {
      const path = urls.get(e.requestId) ?? '?';
      if (!bytes.has(path)) bytes.set(path, e.data.length);
    });
    await page.setViewport({ width: 412, height: 780 });
    await page.goto(`http://127.0.0.1:${PORT}/`, { waitUntil: 'load', timeout: 30_000 });
    // Browser-side code as strings: this project compiles without the DOM library.
    await page.waitForFunction(`document.querySelectorAll('.card').length === ${COUNT}`, { timeout: 30_000 });
    const allCardsMs = (await page.evaluate('performance.now()')) as number;
    // Paint entries can arrive after load: observe them (buffered), bounded.
    const paints = (await page.evaluate(`new Promise((resolve) => {
      const seen = {};
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) seen[e.name] = e.startTime;
        if ('first-contentful-paint' in seen) resolve(seen);
      }).observe({ type: 'paint', buffered: true });
      setTimeout(() => resolve(seen), 3000);
    })`)) as Record<string, number>;
    await sleep(200);
    return { firstPaintMs: paints['first-paint'] ?? NaN, fcpMs: paints['first-contentful-paint'] ?? NaN, allCardsMs, bytes };
  } finally {
    await browser.close().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  say(`observability benchmark: ${COUNT} instances, ${REQUESTS} requests per path, idle window ${IDLE_S} s; building vipflow...`);
  const vipflow = await prepareVipflow(opts.tsx);
  say(`vipflow from ${vipflow.describe}`);
  await sweepStaleLabs(PREFIX, logger);
  const lab = await createLab({ prefix: PREFIX, nodes: ['m'], subnet: SUBNET, ipv6: false, logger });
  let router: Router | null = null;
  try {
    await addSegments(lab, SUBNET, EXTRA);
    router = await startRouter(lab, 'vipflow', 'm', routerConfig('m', instances(COUNT)), vipflow, 120_000, ['--http', `127.0.0.1:${PORT}`]);
    const up = await pollUntil(async () => ((await vipCount(lab)) === COUNT ? true : undefined), 120_000, 250);
    if (!up) throw new Error(`m never held all ${COUNT} VIPs (${await vipCount(lab)})`);
    await sleep(SETTLE_MS);
    const pid = router.pids()[0]!;
    const c0 = cpuMs(pid)!;
    const t0 = performance.now();
    await sleep(IDLE_S * 1000);
    const idleCpuPerMs = (cpuMs(pid)! - c0) / (performance.now() - t0);
    say(`idle: ${fmt(idleCpuPerMs * 100, 2)}% of a core`);

    const metrics = await measureRequests(lab, router, '/metrics', idleCpuPerMs);
    const status = await measureRequests(lab, router, '/api/v1/status', idleCpuPerMs);
    const page = await measurePage(lab);

    const rows = [['request', 'p50 ms', 'p95 ms', 'max ms', 'daemon CPU ms/request', 'body KiB', 'late VRRP timers']];
    for (const [name, r] of [
      ['/metrics', metrics],
      ['/api/v1/status', status],
    ] as const)
      rows.push([
        name,
        fmt(median(r.wallMs)),
        fmt(percentile(r.wallMs, 95)),
        fmt(Math.max(...r.wallMs)),
        fmt(r.cpuMsPerRequest),
        fmt(r.bytes / 1024, 0),
        String(r.lateTimers),
      ]);
    say('');
    say(table(rows));
    say('');
    const kib = (path: string) => fmt((page.bytes.get(path) ?? NaN) / 1024, 1);
    say(
      table([
        ['page', 'first paint ms', 'first contentful paint ms', `all ${COUNT} cards ms`, 'HTML KiB', 'script KiB', 'event stream KiB (first view)'],
        ['/', fmt(page.firstPaintMs), fmt(page.fcpMs), fmt(page.allCardsMs), kib('/'), kib('/app.js'), kib('/api/v1/live')],
      ]),
    );
    say('');
    say(`Requests one at a time with curl inside the node; CPU from /proc (10 ms ticks) above the idle rate; ${REQUESTS} requests per path.`);
    say('Page times from navigation start, in headless Chromium (412x780) in the same namespace; bytes as received (headers included, no compression).');
  } finally {
    await router?.stop();
    await lab.destroy();
    vipflow.dispose();
  }
}

await main();
