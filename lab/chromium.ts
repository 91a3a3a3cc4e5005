/**
 * Debian's Chromium, headless, inside one lab node's namespace. puppeteer
 * talks to it over inherited pipes, which cross namespaces, so the page sees
 * the node's network while the test process stays in its own. Its PID is
 * tracked by the lab, so a failed test still ends it.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import type { Lab } from './lab.js';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromiumIn(lab: Lab, node: string, timeoutMs = 20_000): Promise<Browser> {
  const wrapper = join(lab.dir, `chromium-in-${node}.sh`);
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lab.node(node).ns} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const browser = await puppeteer.launch({
    executablePath: wrapper,
    pipe: true,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    timeout: timeoutMs,
  });
  const pid = browser.process()?.pid;
  if (pid !== undefined) lab.track(pid);
  return browser;
}
