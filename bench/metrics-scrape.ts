// The cost of one /metrics scrape (status → exposition text, as the endpoint renders it) with
// 1, 100 and 1,000 instances, in-process, from a synthetic status document
// (test/daemon/status-fixture.ts). The daemon's own status() is not included.
//
//   npx tsx bench/metrics-scrape.ts [--runs N]
import { parseArgs } from 'node:util';
import { StatusMetrics, TransitionTally } from '../daemon/metrics.js';
import { instance, status } from '../test/daemon/status-fixture.js';

const { values: opts } = parseArgs({ options: { runs: { type: 'string', default: '50' } } });
const runs = Number(opts.runs);

for (const n of [1, 100, 1000]) {
  const s = status({
    instances: Array.from({ length: n }, (_, i) => instance({ name: `VI_${i}`, vrid: (i % 255) + 1, interface: `eth${Math.floor(i / 250)}` })),
  });
  const metrics = new StatusMetrics();
  const tally = new TransitionTally();
  let bytes = 0;
  const times: number[] = [];
  // The longest the event loop went without turning during a scrape: what a VRRP timer could be late by.
  let last = performance.now();
  let worstGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - last);
    last = now;
  }, 1);
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    bytes = (await metrics.renderStatus(s, tally)).length;
    times.push(performance.now() - t0);
  }
  clearInterval(ticker);
  times.sort((a, b) => a - b);
  const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(1);
  console.log(
    `${String(n).padStart(5)} instances: scrape p50 ${p(0.5)} ms, p95 ${p(0.95)} ms (wall, yielding), longest loop stall ${worstGap.toFixed(1)} ms, ${(bytes / 1024).toFixed(0)} KiB`,
  );
}
