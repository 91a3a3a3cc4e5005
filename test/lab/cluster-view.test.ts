// Real network, NATS and a browser: two vipflow daemons in a namespace lab
// sharing Debian's nats-server, each serving --http on its loopback. Checks
// the cluster view (every node, from the KV bucket) in b's status document, in
// `vipflow status` text and on b's live page in Debian's Chromium; validates
// live status documents against the published JSON Schema with Ajv; then a
// crash of the Master: b's page shows b Master without a reload and b's
// /metrics has one takeover sample of about Master_Down_Interval. Starts: a
// namespace lab, nats-server, two `vipflow run`, chromium. The screenshot of
// b's page is kept in dist/artifacts/status-page-cluster.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Browser } from 'puppeteer-core';
import { silentLogger } from '../../core/logger.js';
import { repoRoot } from '../../core/paths.js';
import { masterDownIntervalMs } from '../../actors/vrrp/index.js';
import type { DaemonStatus } from '../../daemon/daemon.js';
import { createLab, pollUntil, sweepStaleLabs, type Lab, type SpawnedProcess } from '../../lab/index.js';
import { startVipflow, type VipflowDaemon } from '../../lab/vipflow.js';
import { ADVERT_MS, CLUSTER, instanceConf, natsUrl, startNats, stopNats } from './events-lab.js';
import { launchChromiumIn } from '../../lab/chromium.js';

const logger = silentLogger();
const PREFIX = 'vfob';
const SUBNET = 141;
const VIP = `198.18.${SUBNET}.100/24`;
const PORT = 9650;
const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'vipflow.status.v1.json'), 'utf8')) as Record<string, unknown>;

describe('the cluster view, the status schema and the takeover histogram, with NATS', () => {
  let lab: Lab;
  let nats: SpawnedProcess | null = null;
  let browser: Browser | null = null;
  const daemons: VipflowDaemon[] = [];

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b', 'nats'], subnet: SUBNET, ipv6: false, logger });
    nats = await startNats(lab);
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    for (const d of daemons) await d.kill();
    if (nats) await stopNats(nats);
    await lab?.destroy();
  });

  const start = (node: string, priority: number) =>
    startVipflow(lab, node, node, instanceConf(node, priority, VIP), {
      prefix: ['/usr/bin/env', `VIPFLOW_NODE_ID=${node}`, `VIPFLOW_CLUSTER=${CLUSTER}`, `VIPFLOW_NATS_URL=${natsUrl(lab)}`],
      args: ['--http', `127.0.0.1:${PORT}`],
    });
  /** GET on the node's own loopback endpoint (the test process is outside the namespace). */
  const get = async (node: string, path: string): Promise<string> => {
    const r = await lab.exec(node, 'curl', ['-s', '--fail', '--max-time', '3', `http://127.0.0.1:${PORT}${path}`], 5000);
    if (r.code !== 0) throw new Error(`GET ${path} in ${node}: curl exit ${r.code} ${r.stderr}`);
    return r.stdout;
  };
  const statusOf = async (node: string) => JSON.parse(await get(node, '/api/v1/status')) as DaemonStatus;

  test('b sees both nodes; its page shows them and then b as Master after a crashes; one takeover sample', async (t) => {
    const validate = new Ajv2020({ strict: false }).compile(schema);
    const a = await start('a', 150);
    daemons.push(a);
    const b = await start('b', 100);
    daemons.push(b);
    assert.ok(await a.waitForState('master', 3000), 'a (150) becomes Master');
    assert.ok(await b.waitForState('backup', 3000), 'b (100) Backup');

    // Both nodes' entries reach b through the KV bucket (each node writes its own on transitions).
    const members = await pollUntil(
      async () => {
        const m = (await statusOf('b')).events.members ?? [];
        return m.some((x) => x.node === 'a' && x.state === 'master') && m.some((x) => x.node === 'b' && x.state === 'backup') ? m : undefined;
      },
      5000,
      100,
    );
    assert.ok(members, 'b lists a (Master) and b (Backup) from the KV bucket');
    assert.deepEqual(
      members.map((m) => [m.instance, m.node, m.stale]),
      [
        ['VI_ev', 'a', false],
        ['VI_ev', 'b', false],
      ],
    );
    for (const node of ['a', 'b']) {
      const doc = JSON.parse(await get(node, '/api/v1/status')) as unknown;
      assert.ok(validate(doc), `${node}'s live status validates against schemas/vipflow.status.v1.json: ${JSON.stringify(validate.errors)}`);
    }
    const text = await b.cli(['status', '--state-dir', b.stateDir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`events: nats bus, cluster ${CLUSTER} node b`));
    assert.match(text.stdout, /node a +VI_ev +MASTER/);
    assert.match(text.stdout, /node b \(this node\) +VI_ev +BACKUP/);
    assert.match(text.stdout, /recent events \(newest first[^\n]*\n {2}\S+ instance\.transition +VI_ev/);

    browser = await launchChromiumIn(lab, 'b');
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${PORT}/`, { waitUntil: 'load', timeout: 10_000 });
    // Browser-side code is written as strings: this project compiles without the DOM library.
    const row = (node: string) => `document.querySelector('#cluster tr[data-node="${node}"]')`;
    await page.waitForFunction(
      `${row('a')}?.querySelector('.state')?.textContent === 'MASTER' && ${row('b')}?.querySelector('.state')?.textContent === 'BACKUP'`,
      {
        timeout: 5000,
      },
    );
    assert.equal(await page.evaluate(`${row('b')}.className.includes('self')`), true, 'b is marked as this node');
    assert.equal(await page.evaluate(`document.querySelector('#clusterBlock').hidden`), false);
    await page.evaluate('window.marker = 4711');

    // a crashes: b takes over after Master_Down_Interval, and writes its new state to the bucket.
    const markB = b.transitions.length;
    await a.kill();
    const up = await b.waitForState('master', 3000, markB);
    assert.ok(up, 'b becomes Master');
    await page.waitForFunction(`${row('b')}?.querySelector('.state')?.textContent === 'MASTER'`, { timeout: 3000, polling: 'mutation' });
    const shownAfterMs = performance.now() - up.seenAt;
    t.diagnostic(`b's page showed b Master ${shownAfterMs.toFixed(0)} ms after b's transition line`);
    assert.ok(shownAfterMs < 1000, `the page shows the new Master within 1 s (${shownAfterMs.toFixed(0)} ms)`);
    assert.equal(await page.evaluate('window.marker'), 4711, 'no reload');
    const artefacts = join(repoRoot, 'dist', 'artifacts');
    mkdirSync(artefacts, { recursive: true });
    await page.setViewport({ width: 412, height: 780 });
    await page.screenshot({ path: join(artefacts, 'status-page-cluster.png'), fullPage: true });

    const metrics = await get('b', '/metrics');
    const value = (series: string) => Number(/^(\S+) (\S+)$/m.exec(metrics.split('\n').find((l) => l.startsWith(series + ' ')) ?? '')?.[2] ?? NaN);
    assert.equal(value('vipflow_takeover_seconds_count{instance="VI_ev"}'), 1, 'one takeover sample');
    const takeover = value('vipflow_takeover_seconds_sum{instance="VI_ev"}');
    const mdi = masterDownIntervalMs({ version: 3, priority: 100, masterAdvertIntervalCs: ADVERT_MS / 10 }) / 1000;
    t.diagnostic(`takeover ${(takeover * 1000).toFixed(0)} ms (Master_Down_Interval ${(mdi * 1000).toFixed(0)} ms)`);
    assert.ok(takeover >= mdi - 0.02 && takeover < mdi + 0.3, `takeover ${takeover} s, about Master_Down_Interval ${mdi} s`);
    assert.ok(value('vipflow_advert_interval_jitter_seconds_count') >= 5, "b measured the interval of a's adverts while Backup");
    assert.ok(validate(JSON.parse(await get('b', '/api/v1/status'))), JSON.stringify(validate.errors));
  });
});
