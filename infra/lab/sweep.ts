import type { Logger } from '../logger.js';
import { cleanupNow } from './cleanup.js';
import { run } from './run.js';

/**
 * Deletes namespaces `<prefix>-<name>` left by a crashed earlier run, and
 * ends the processes still inside them (only lab processes can be there).
 * Matches the exact prefix: `vfsk` sweeps `vfsk-n1` but never `vfsk2-n1`
 * or `other-vfsk-n1`. Returns the names it removed.
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
  if (stale.length > 0) {
    logger.child({ component: 'lab', prefix }).warn({ stale }, 'removing namespaces left by an earlier run');
    cleanupNow({ namespaces: new Set(stale), pids: new Set(), tempDirs: new Set() });
  }
  return stale;
}
