/**
 * raiseFileLimit in a child started with low limits (util-linux prlimit). Node
 * itself lifts the soft limit to the hard one at start, so what is left to do
 * is going past the hard limit where the process may (CAP_SYS_RESOURCE, up to
 * fs.nr_open); it never lowers anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { repoRoot } from '../../../core/paths.js';

const module = pathToFileURL(join(repoRoot, 'dist', 'wire', 'socket', 'file-limit.js')).href;

function inChild(soft: number, hard: number, wants: number[]): { soft: number; hard: number; before: number }[] {
  const script = `import(${JSON.stringify(module)}).then((m) => console.log(JSON.stringify(${JSON.stringify(wants)}.map((w) => m.raiseFileLimit(w)))))`;
  const r = spawnSync('prlimit', [`--nofile=${soft}:${hard}`, process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { soft: number; hard: number; before: number }[];
}

test('past the hard limit when allowed, never lower than it was', () => {
  const [within, beyond, lower] = inChild(512, 4096, [2048, 8192, 100]);
  assert.deepEqual(within, { ok: true, soft: 4096, hard: 4096, before: 4096 }, 'Node already lifted the soft limit to the hard one');
  // Root with CAP_SYS_RESOURCE gets 8192 (hard included); a sandbox that refuses keeps 4096.
  assert.ok((beyond!.soft === 8192 && beyond!.hard === 8192) || (beyond!.soft === 4096 && beyond!.hard === 4096), JSON.stringify(beyond));
  assert.equal(lower!.soft, beyond!.soft, 'asking for less changes nothing');
});
