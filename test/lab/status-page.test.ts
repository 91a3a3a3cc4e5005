// Real network and a real browser: two vipflow daemons in a namespace lab, and
// Debian's Chromium (headless, driven by puppeteer-core over a pipe, started
// inside node a's namespace so it reaches a's loopback endpoint) showing a's
// live status page. Starts: a namespace lab, two `vipflow run` processes,
// chromium. The screenshot is kept in dist/artifacts/status-page.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { silentLogger } from '../../core/logger.js';
import { repoRoot } from '../../core/paths.js';
import { createLab, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { startVipflow, type VipflowDaemon } from '../../lab/vipflow.js';
import { confFile } from './daemon-conf.js';
import { launchChromiumIn } from '../../lab/chromium.js';

const logger = silentLogger();
const PREFIX = 'vfmetp';
const SUBNET = 172;
const VIP = `198.18.${SUBNET}.100/24`;
const PORT = 9650;
const conf = (node: string, priority: number) => confFile(node, [{ name: 'VI_page', vrid: 72, version: 3, priority, advertInt: 0.1, vips: [VIP] }]);

describe('the live status page in headless Chromium', () => {
  let lab: Lab;
  let browser: Browser | null = null;
  const daemons: VipflowDaemon[] = [];

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b'], subnet: SUBNET, ipv6: false, logger });
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    for (const d of daemons) await d.kill();
    await lab?.destroy();
  });

  // Browser-side code is written as strings: this project compiles without the DOM library.
  const CARD = `document.querySelector('.card[data-instance="VI_page"]')`;
  /** The card's state badge and Master line. */
  const card = (page: Page) =>
    page.evaluate(`({ state: ${CARD}?.querySelector('.state')?.textContent ?? '', master: ${CARD}?.querySelector('.who')?.textContent ?? '' })`) as Promise<{
      state: string;
      master: string;
    }>;

  test('shows the Master, then the new Master within 1 s of a failover, without a reload', async (t) => {
    const a = await startVipflow(lab, 'a', 'a', conf('a', 150), { args: ['--http', `127.0.0.1:${PORT}`] });
    daemons.push(a);
    const b = await startVipflow(lab, 'b', 'b', conf('b', 100));
    daemons.push(b);
    assert.ok(await a.waitForState('master', 3000), 'a (150) becomes Master');
    assert.ok(await b.waitForState('backup', 3000));

    browser = await launchChromiumIn(lab, 'a');
    const page = await browser.newPage();
    await page.setViewport({ width: 412, height: 780 });
    const response = await page.goto(`http://127.0.0.1:${PORT}/`, { waitUntil: 'load', timeout: 10_000 });
    assert.equal(response?.status(), 200);
    await page.waitForFunction(`document.querySelector('#connText')?.textContent === 'live'`, { timeout: 5000 });
    await page.waitForFunction(`${CARD}?.querySelector('.state')?.textContent === 'MASTER'`, { timeout: 5000 });
    assert.match((await card(page)).master, /^Master: this node/);
    await page.evaluate('window.marker = 4711');

    // Failover: a's priority drops below b's; b preempts, a goes Backup.
    const markA = a.transitions.length;
    a.writeConfig(conf('a', 90));
    a.signal('SIGHUP');
    const backup = await a.waitForState('backup', 3000, markA);
    assert.ok(backup, 'a goes Backup');
    const bAddress = lab.node('b').ipv4!;
    await page.waitForFunction(
      `${CARD}?.querySelector('.state')?.textContent === 'BACKUP' && (${CARD}.querySelector('.who')?.textContent ?? '').startsWith('Master: ${bAddress}')`,
      { timeout: 3000, polling: 'mutation' },
    );
    const shownAfterMs = performance.now() - backup.seenAt;
    t.diagnostic(`page updated ${shownAfterMs.toFixed(0)} ms after a's transition line`);
    assert.ok(shownAfterMs < 1000, `the page shows the new Master ${shownAfterMs.toFixed(0)} ms after a's transition (< 1 s)`);
    assert.equal(await page.evaluate('window.marker'), 4711, 'no reload: the page kept its state');
    const timeline = (await page.evaluate(`[...document.querySelectorAll('#transitions tr')].map((r) => r.textContent)`)) as string[];
    assert.match(timeline[0] ?? '', /VI_pagemaster → backup/, 'the newest transition first');

    const dir = join(repoRoot, 'dist', 'artifacts');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, 'status-page.png'), fullPage: true });
  });
});
