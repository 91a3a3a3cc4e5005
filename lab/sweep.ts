import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../core/logger.js';
import { cleanupNow, liveTempDirs } from './cleanup.js';
import { run } from './run.js';

/**
 * Deletes namespaces `<prefix>-<name>` left by a crashed earlier run, and
 * ends the processes still inside them (only lab processes can be there).
 * Matches the exact prefix: `vfsk` sweeps `vfsk-n1` but never `vfsk2-n1`
 * or `other-vfsk-n1`. Also removes that prefix's temp dirs
 * (`<tmp>/vipflow-lab-<prefix>-XXXXXX`) except those of labs alive in this
 * process. Returns the namespace names it removed.
 */
export async function sweepStaleLabs(prefix: string, logger: Logger): Promise<string[]> {
  if (!/^[a-z][a-z0-9]{0,9}$/.test(prefix)) throw new Error(`bad lab prefix ${prefix}`);
  const r = await run('ip', ['netns', 'list'], 5000);
  if (r.code !== 0) return [];
  const pattern = new RegExp(`^${prefix}-[a-z][a-z0-9]{0,9}$`);
  const stale = r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => pattern.test(n));
  const dirPattern = new RegExp(`^vipflow-lab-${prefix}-[A-Za-z0-9]{6}$`);
  const spare = liveTempDirs();
  let entries: string[] = [];
  try {
    entries = readdirSync(tmpdir());
  } catch {
    // no readable temp dir: nothing to sweep there
  }
  const dirs = entries
    .filter((d) => dirPattern.test(d))
    .map((d) => join(tmpdir(), d))
    .filter((d) => !spare.has(d));
  if (stale.length > 0 || dirs.length > 0) {
    logger.child({ component: 'lab', prefix }).warn({ stale, dirs }, 'removing what an earlier run left');
    cleanupNow({ namespaces: new Set(stale), pids: new Set(), tempDirs: new Set(dirs) });
  }
  return stale;
}
