/**
 * Runs the built vipflow as another user (setpriv), for tests of what an
 * unprivileged user sees. That user may not be able to read the checkout (a
 * clone under a 0700 home, as CI may make): then the parts the command needs
 * (package.json, dist/, node_modules/, the addon) are copied, hard-linked when
 * the file system allows, into a temp dir that user can read, and removed by
 * `cleanup`. Never changes the permissions of the checkout itself.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../core/paths.js';
import { run } from './run.js';

export interface AsUser {
  /** `setpriv ... node <dist/cli/main.js>`: append the vipflow arguments. */
  argv: string[];
  /** Whether a readable copy had to be made. */
  copied: boolean;
  cleanup(): void;
}

const PARTS = ['package.json', 'dist', 'node_modules', join('wire', 'native', 'build'), join('wire', 'native', 'prebuilds')];

export async function vipflowAsUser(uid: number, gid: number): Promise<AsUser> {
  const drop = [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'];
  const main = (root: string) => join(root, 'dist', 'cli', 'main.js');
  const readable = (await run('setpriv', [...drop, 'test', '-r', main(repoRoot)], 10_000)).code === 0;
  if (readable) return { argv: ['setpriv', ...drop, process.execPath, main(repoRoot)], copied: false, cleanup: () => undefined };
  const copy = mkdtempSync(join(tmpdir(), 'vipflow-as-user-'));
  chmodSync(copy, 0o755);
  for (const part of PARTS) {
    const to = join(copy, part);
    await run('mkdir', ['-p', join(to, '..')]);
    // Hard links keep each file's own mode (0644 from npm and tsc); a copy is the fallback across file systems.
    const linked = await run('cp', ['-al', join(repoRoot, part), to], 120_000);
    if (linked.code !== 0) {
      const copied = await run('cp', ['-a', join(repoRoot, part), to], 300_000);
      if (copied.code !== 0) throw new Error(`cannot copy ${part} for uid ${uid}: ${copied.stderr.trim()}`);
    }
  }
  const cleanup = () => rmSync(copy, { recursive: true, force: true });
  if ((await run('setpriv', [...drop, 'test', '-r', main(copy)], 10_000)).code !== 0) {
    cleanup();
    throw new Error(`uid ${uid} cannot read ${main(copy)} even in a copy under ${tmpdir()}`);
  }
  return { argv: ['setpriv', ...drop, process.execPath, main(copy)], copied: true, cleanup };
}
