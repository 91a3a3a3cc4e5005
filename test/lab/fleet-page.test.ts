// Real network, NATS, daemons and a browser: `vipflow fleet --http` in a namespace
// lab. Starts: Debian's nats-server (JetStream) in the `nats` node, two `vipflow run`
// (VRRP between nodes a and b, events and KV state to that server), two `vipflow
// fleet --http` in the `nats` node (one on loopback without credentials, one on the
// lab address with an auth file), Debian's Chromium (headless, puppeteer-core over a
// pipe, in the `nats` node) on the loopback page, and a helper that publishes
// workflow events as a worker would. Checks: the page shows the Master, then the new
// Master after a failover without a reload; a split brain (VRRP cut between a and b)
// flagged on the page; a running workflow run listed and gone when it finishes;
// /api/v1/fleet equals the model `vipflow fleet --json` prints; off loopback a 401
// without credentials; a crashed node marked stale. The screenshot is kept in
// dist/artifacts/fleet-page.png (copied to docs/fleet-page.png for the README).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { silentLogger } from '../../core/logger.js';
import { repoRoot } from '../../core/paths.js';
import type { FleetModel } from '../../infra/events/fleet.js';
import { addDropRule, clearDropRules, createLab, isAlive, pollUntil, sweepStaleLabs, type Lab, type SpawnedProcess } from '../../lab/index.js';
import { startVipflow, vipflowCommand, type VipflowDaemon } from '../../lab/vipflow.js';
import { launchChromiumIn } from '../../lab/chromium.js';
import { CLUSTER, instanceConf, natsUrl, startNats, stopNats } from './events-lab.js';

const logger = silentLogger();
const PREFIX = 'vfp';
const SUBNET = 163;
const VIP = `198.18.${SUBNET}.100/24`;
const PORT = 9661;
const AUTH_PORT = 9662;
const TOKEN = 'fleet-page-test-token';
const INSTANCE = 'VI_ev';
const PAGING_RUN = { workflow: 'page-oncall', runId: 'r-split-1', instance: INSTANCE, trigger: 'cluster.split_brain' };

/** A process in the lab whose stderr is kept (bounded). */
interface Watched {
  proc: SpawnedProcess;
  stderr: () => string;
}

describe('vipflow fleet --http: the fleet page in headless Chromium', () => {
  let lab: Lab;
  let nats: SpawnedProcess | null = null;
  let browser: Browser | null = null;
  let page: Page;
  const daemons = new Map<string, VipflowDaemon>();
  const fleets: Watched[] = [];

  const startDaemon = (node: string, priority: number) =>
    startVipflow(lab, node, node, instanceConf(node, priority, VIP), {
      prefix: ['/usr/bin/env', `VIPFLOW_NODE_ID=${node}`, `VIPFLOW_CLUSTER=${CLUSTER}`, `VIPFLOW_NATS_URL=${natsUrl(lab)}`],
    }).then((d) => (daemons.set(node, d), d));

  function startFleet(args: string[]): Watched {
    const proc = lab.spawn(
      'nats',
      process.execPath,
      [...vipflowCommand(), 'fleet', '--nats', natsUrl(lab), '--refresh', '50', ...args],
      ['ignore', 'ignore', 'pipe'],
    );
    let text = '';
    proc.child.stderr?.setEncoding('utf8');
    proc.child.stderr?.on('data', (c: string) => void (text.length < 100_000 && (text += c)));
    const w = { proc, stderr: () => text };
    fleets.push(w);
    return w;
  }

  /** curl inside `node`: status code and body. */
  async function curl(node: string, url: string, headers: string[] = []): Promise<{ status: number; body: string }> {
    const args = ['-s', '--max-time', '3', '-o', '-', '-w', '\n%{http_code}', ...headers.flatMap((h) => ['-H', h]), url];
    const r = await lab.exec(node, 'curl', args, 5000);
    const cut = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) };
  }

  /** Publishes one event to the cluster's stream from the `nats` node (test/lab/fleet-publish.ts). */
  async function publish(type: string, data: unknown): Promise<void> {
    const here = fileURLToPath(import.meta.url);
    const script = join(dirname(here), `fleet-publish${extname(here)}`);
    const loader = extname(here) === '.ts' ? ['--import', pathToFileURL(createRequire(join(repoRoot, 'package.json')).resolve('tsx')).href] : [];
    const r = await lab.exec('nats', process.execPath, [...loader, script, natsUrl(lab), CLUSTER, 'hub-worker', type, JSON.stringify(data)], 20_000);
    assert.equal(r.code, 0, `publishing ${type}: ${r.stderr}`);
  }

  // Browser-side code is written as strings: this project compiles without the DOM library.
  const CARD = `document.querySelector('.card[data-cluster="${CLUSTER}"][data-instance="${INSTANCE}"]')`;
  const row = (node: string) => `${CARD}?.querySelector('tr[data-node="${node}"]')`;
  const shown = (expr: string, timeout: number) => page.waitForFunction(expr, { timeout, polling: 'mutation' });

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b', 'nats'], subnet: SUBNET, ipv6: false, logger });
    nats = await startNats(lab);
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    for (const f of fleets) if (isAlive(f.proc.pid)) process.kill(f.proc.pid, 'SIGTERM');
    for (const d of daemons.values()) await d.kill();
    if (nats) await stopNats(nats);
    await lab?.destroy();
  });

  test('shows the Master and every node, then the new Master after a failover, without a reload', async (t) => {
    const a = await startDaemon('a', 150);
    const b = await startDaemon('b', 100);
    assert.ok(await a.waitForState('master', 3000), 'a (150) becomes Master');
    assert.ok(await b.waitForState('backup', 3000), 'b (100) Backup');
    const authFile = join(lab.dir, 'fleet-http-secret');
    writeFileSync(authFile, `${TOKEN}\n`, { mode: 0o600 });
    const served = [startFleet(['--http', `127.0.0.1:${PORT}`]), startFleet(['--http', `${lab.node('nats').ipv4}:${AUTH_PORT}`, '--http-auth-file', authFile])];
    for (const f of served)
      assert.ok(
        await pollUntil(() => (/serving the fleet page on http/.test(f.stderr()) ? true : undefined), 15_000, 50),
        `fleet --http serves: ${f.stderr()}`,
      );

    browser = await launchChromiumIn(lab, 'nats');
    page = await browser.newPage();
    await page.setViewport({ width: 412, height: 640 });
    const response = await page.goto(`http://127.0.0.1:${PORT}/`, { waitUntil: 'load', timeout: 10_000 });
    assert.equal(response?.status(), 200);
    assert.match(response?.headers()['content-security-policy'] ?? '', /default-src 'none'/);
    await page.waitForFunction(`document.querySelector('#connText')?.textContent === 'live'`, { timeout: 5000 });
    await shown(`(${CARD}?.querySelector('.who')?.textContent ?? '') === 'Master: a · priority 150'`, 10_000);
    await shown(`${row('a')}?.querySelector('.state')?.textContent === 'MASTER' && ${row('b')}?.querySelector('.state')?.textContent === 'BACKUP'`, 5000);
    assert.match((await page.evaluate(`${CARD}.querySelector('.last')?.textContent ?? ''`)) as string, /^last: [ab] → (MASTER|BACKUP) \(\w+\) \d+m?s ago, at /);
    assert.equal(await page.evaluate(`document.querySelector('[data-total="routers"] b')?.textContent`), '1');
    await page.evaluate('window.marker = 4711');

    // Failover: a's priority drops below b's; b preempts, a goes Backup.
    const markB = b.transitions.length;
    a.writeConfig(instanceConf('a', 90, VIP));
    a.signal('SIGHUP');
    const up = await b.waitForState('master', 3000, markB);
    assert.ok(up, 'b takes over');
    await shown(`(${CARD}?.querySelector('.who')?.textContent ?? '') === 'Master: b · priority 100'`, 3000);
    const shownAfterMs = performance.now() - up.seenAt;
    t.diagnostic(`the fleet page showed b Master ${shownAfterMs.toFixed(0)} ms after b's transition line`);
    assert.ok(shownAfterMs < 1000, `the page shows the new Master within 1 s (${shownAfterMs.toFixed(0)} ms)`);
    assert.equal(await page.evaluate('window.marker'), 4711, 'no reload: the page kept its state');
  });

  test('a split brain (VRRP cut between a and b) is flagged on the page, and cleared after the heal', async () => {
    for (const [n, peer] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const)
      assert.equal(await addDropRule(lab, n, 'input', `ip saddr ${lab.node(peer).ipv4} ip protocol vrrp`), undefined, `nft in ${n}`);
    try {
      assert.ok(await daemons.get('a')!.waitForState('master', 3000, daemons.get('a')!.transitions.length), 'a, cut off, becomes Master too');
      await shown(
        `${CARD}?.classList.contains('split') && (${CARD}.querySelector('.flag.split-brain')?.textContent ?? '').startsWith('SPLIT BRAIN: a, b')`,
        5000,
      );
      assert.equal(await page.evaluate(`document.querySelector('[data-total="split brains"] b')?.textContent`), '1');
      assert.equal(await page.evaluate(`document.querySelector('[data-total="split brains"]').classList.contains('bad')`), true);
      // The screenshot with what a hub worker would run on it: a paging workflow in progress.
      await publish('workflow.started', PAGING_RUN);
      await shown(`document.querySelector('[data-total="workflow runs"] b')?.textContent === '1'`, 5000);
      const artefacts = join(repoRoot, 'dist', 'artifacts');
      mkdirSync(artefacts, { recursive: true });
      await page.screenshot({ path: join(artefacts, 'fleet-page.png'), fullPage: true });
    } finally {
      for (const n of ['a', 'b']) assert.equal(await clearDropRules(lab, n), undefined);
    }
    await publish('workflow.finished', { ...PAGING_RUN, status: 'succeeded', durationMs: 900 });
    // a (90) hears b (100) again and yields.
    await shown(
      `!${CARD}?.classList.contains('split') && (${CARD}?.querySelector('.who')?.textContent ?? '') === 'Master: b · priority 100' && document.querySelector('table.runs') === null`,
      5000,
    );
  });

  test('a running workflow run is listed, and gone once it finished', async () => {
    const run = { workflow: 'dns-update', runId: 'r-fleet-1', instance: INSTANCE };
    await publish('workflow.started', { ...run, trigger: 'instance.transition' });
    await shown(
      `[...document.querySelectorAll('table.runs tr')].some((r) => r.textContent.startsWith('dns-update (r-fleet-1) for ${INSTANCE} on hub-worker, running '))`,
      5000,
    );
    assert.equal(await page.evaluate(`document.querySelector('[data-total="workflow runs"] b')?.textContent`), '1');
    await publish('workflow.finished', { ...run, status: 'succeeded', durationMs: 1200 });
    await shown(`document.querySelector('table.runs') === null`, 5000);
  });

  test('/api/v1/fleet is the model `vipflow fleet --json` prints; /healthz answers', async () => {
    // Times move between two reads (the model's time, ages, the daemons' 5 s heartbeats): compared without them.
    const timeless = (m: FleetModel) =>
      JSON.parse(JSON.stringify(m), (k: string, v: unknown) => (k === 'generatedAt' || k === 'ageMs' || k === 'heartbeatAt' ? undefined : v)) as unknown;
    const cli = await lab.exec('nats', process.execPath, [...vipflowCommand(), 'fleet', '--nats', natsUrl(lab), '--json'], 20_000);
    assert.equal(cli.code, 0, cli.stderr);
    const http = await curl('nats', `http://127.0.0.1:${PORT}/api/v1/fleet`);
    assert.equal(http.status, 200);
    const printed = JSON.parse(cli.stdout) as FleetModel;
    const served = JSON.parse(http.body) as FleetModel;
    assert.equal(printed.totals.routers, 1);
    assert.deepEqual(timeless(served), timeless(printed));
    assert.deepEqual(Object.keys(served).sort(), Object.keys(printed).sort());
    const health = await curl('nats', `http://127.0.0.1:${PORT}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual((({ status, sites, clusters, routers }) => ({ status, sites, clusters, routers }))(JSON.parse(health.body) as Record<string, unknown>), {
      status: 'ok',
      sites: 1,
      clusters: 1,
      routers: 1,
    });
  });

  test('off loopback: 401 without credentials, the model with them; no credentials file is refused', async () => {
    const base = `http://${lab.node('nats').ipv4}:${AUTH_PORT}`;
    for (const path of ['/', '/api/v1/fleet', '/api/v1/fleet/live', '/healthz']) {
      const r = await curl('a', base + path);
      assert.equal(r.status, 401, `${path} without credentials`);
      assert.equal((await curl('a', base + path, ['Authorization: Bearer wrong-token'])).status, 401, `${path} with a wrong token`);
    }
    const ok = await curl('a', `${base}/api/v1/fleet`, [`Authorization: Bearer ${TOKEN}`]);
    assert.equal(ok.status, 200);
    const m = JSON.parse(ok.body) as FleetModel;
    assert.equal(m.sites[0]?.clusters[0]?.routers[0]?.master, 'b');
    const refused = await lab.exec('nats', process.execPath, [...vipflowCommand(), 'fleet', '--nats', natsUrl(lab), '--http', `${lab.node('nats').ipv4}:9663`]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /refusing to serve HTTP on 198\.18\.\d+\.\d+:9663 without credentials/);
  });

  test('a crashed Master: the page shows the new Master at once and the dead node stale once its heartbeat is old', async () => {
    const a = daemons.get('a')!;
    const mark = a.transitions.length;
    await daemons.get('b')!.kill();
    assert.ok(await a.waitForState('master', 3000, mark), 'a takes over');
    // b's KV entry still says Master: the live one is shown, and b turns stale after 3 heartbeats of 5 s.
    await shown(`(${CARD}?.querySelector('.who')?.textContent ?? '') === 'Master: a · priority 90'`, 3000);
    await shown(`${row('b')}?.classList.contains('stale') && ${row('b')}.textContent.startsWith('b (stale)MASTER')`, 30_000);
    assert.equal(await page.evaluate(`${CARD}.classList.contains('split')`), false, 'a stale Master is no split brain');
  });

  test('SIGTERM with a page open: fleet --http exits 0 and the page says it lost the feed', async () => {
    const f = fleets[0]!;
    process.kill(f.proc.pid, 'SIGTERM');
    const code = await Promise.race([f.proc.exited, new Promise((r) => setTimeout(() => r('still running after 5 s'), 5000))]);
    assert.equal(code, 0, f.stderr());
    await shown(`document.querySelector('#connText')?.textContent === 'reconnecting…'`, 5000);
  });
});
