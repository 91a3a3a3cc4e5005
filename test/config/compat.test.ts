/**
 * The compatibility corpus (test/config/compat/): configs in the shapes real
 * keepalived.conf files take, each with keepalived 2.2.7's verdict and
 * vipflow's in manifest.json.
 *
 * - vipflow: each file loads as recorded (a model or not, the same errors, the
 *   recorded warnings), and agrees with keepalived: it runs exactly the files
 *   keepalived runs, and reports something wherever `keepalived -t` fails, so
 *   `check-config --strict` fails there too. An exception needs a
 *   `disagreement` text in the manifest.
 * - keepalived (when installed and run as root): `keepalived -t` on each file,
 *   in a namespace of its own with the interfaces the files name, still gives
 *   the recorded exit status and messages, and, where -t fails, a real start
 *   (VRRP only) shows whether keepalived runs the file as recorded, so the
 *   manifest cannot drift from what keepalived does. Real peers: Debian's
 *   keepalived, no mocks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../core/paths.js';
import { silentLogger } from '../../core/logger.js';
import { loadKeepalivedFile } from '../../config/keepalived/index.js';
import { createLab, type Lab } from '../../lab/lab.js';
import { startKeepalived } from '../../lab/keepalived.js';
import { isAlive } from '../../lab/run.js';
import { sweepStaleLabs } from '../../lab/sweep.js';

interface Entry {
  file: string;
  configIds?: string[];
  keepalived: { exit: number; messages: string[]; runs: boolean; hostNote?: string; note?: string };
  vipflow: { loads: boolean; errors: string[]; warnings: string[] };
  disagreement?: string;
}

const dir = join(repoRoot, 'test', 'config', 'compat');
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { configs: Entry[] };

test('the corpus has at least 25 configs, each in the manifest once', () => {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.conf'))
    .sort();
  assert.ok(files.length >= 25, `only ${files.length} configs`);
  assert.deepEqual(manifest.configs.map((c) => c.file).sort(), files);
});

for (const c of manifest.configs) {
  test(`vipflow on ${c.file}: as recorded, and as keepalived${c.disagreement ? ' (documented disagreement)' : ''}`, () => {
    const r = loadKeepalivedFile(join(dir, c.file), { configIds: c.configIds ?? [] });
    const errors = r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
    const warnings = r.diagnostics.filter((d) => d.severity === 'warning').map((d) => d.message);
    const show = r.diagnostics.map((d) => `${d.line}:${d.column} ${d.severity}: ${d.message}`).join('\n');
    assert.equal(r.model !== undefined, c.vipflow.loads, `loads?\n${show}`);
    assert.deepEqual(errors, c.vipflow.errors, show);
    for (const w of c.vipflow.warnings) assert.ok(warnings.includes(w), `missing warning "${w}"; got:\n${show}`);

    const runsAlike = c.keepalived.runs === (r.model !== undefined);
    const flaggedAlike = c.keepalived.exit === 0 || r.diagnostics.length > 0;
    if (c.disagreement) {
      assert.ok(!runsAlike || !flaggedAlike, `documented disagreement no longer holds, remove it from the manifest: ${c.disagreement}`);
      return;
    }
    assert.ok(runsAlike, `keepalived ${c.keepalived.runs ? 'runs' : 'refuses'} this file, vipflow ${r.model ? 'loads' : 'refuses'} it:\n${show}`);
    assert.ok(flaggedAlike, 'keepalived -t fails on this file but vipflow reports nothing (check-config --strict would pass)');
  });
}

const haveKeepalived = spawnSync('keepalived', ['--version'], { encoding: 'utf8' }).status === 0;
const isRoot = process.getuid?.() === 0;
const PREFIX = 'vfcmp';
const SUBNET = 171;

describe('keepalived -t still gives the recorded verdicts', { skip: !haveKeepalived || !isRoot ? 'needs keepalived and root' : false }, () => {
  let lab: Lab | undefined;
  const logger = silentLogger();

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['k'], subnet: SUBNET, ipv6: false, logger });
    // The files name eth0 and eth1; keepalived -t fails on an interface that does not exist.
    const steps: string[][] = [
      ['ip', 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p'],
      ['ip', 'link', 'set', 'eth1', 'up'],
      ['ip', 'link', 'set', 'eth1p', 'up'],
      ['ip', 'addr', 'add', `198.18.${SUBNET + 1}.1/24`, 'dev', 'eth1'],
    ];
    for (const [cmd, ...args] of steps) {
      const r = await lab.exec('k', cmd!, args);
      assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
    }
  });
  after(async () => {
    await lab?.destroy();
  });

  for (const c of manifest.configs) {
    test(c.file, async () => {
      const ids = (c.configIds ?? []).flatMap((i) => ['-i', i]);
      // keepalived resolves relative includes from its working directory: run it from the corpus directory.
      const r = await lab!.exec('k', 'sh', ['-c', 'cd "$1" && shift && exec keepalived -t "$@"', 'sh', dir, ...ids, '-f', c.file], 20_000);
      const out = r.stdout + r.stderr;
      assert.equal(r.code === 0, c.keepalived.exit === 0, `keepalived -t exit ${r.code}, recorded ${c.keepalived.exit}:\n${out}`);
      for (const m of c.keepalived.messages) assert.ok(out.includes(m), `keepalived no longer says "${m}":\n${out}`);
    });
  }

  // keepalived -t fails on most files keepalived runs anyway: for those, start it for real (VRRP only, -P) to check `runs`.
  // Each start costs about a second, mostly keepalived's own start-up, so a batch of files runs side by side (each
  // keepalived with its own config, pid and log files) and each file's test reads its own outcome.
  const realRuns = manifest.configs.map((c, k) => ({ c, k })).filter(({ c }) => c.keepalived.exit !== 0);
  const outcomes = new Map<number, Promise<{ runs: boolean; log: string }>>();
  const BATCH = 6;
  const realRun = async (c: Entry, k: number): Promise<{ runs: boolean; log: string }> => {
    // The copy lives in the lab's directory: relative includes must still find the corpus's files.
    const text = readFileSync(join(dir, c.file), 'utf8').replace(/^include\s+(\S+)/gm, (_l, path: string) => `include ${join(dir, path)}`);
    const kp = await startKeepalived(lab!, 'k', `run${k}`, text);
    try {
      // An instance entering its first state (Fault included) means it runs; a refusal ends the process ("permanent error").
      await kp.waitForLog(/Entering (BACKUP|MASTER|FAULT) STATE|permanent error/, 4000);
      const log = kp.log();
      return { runs: !/permanent error/.test(log) && isAlive(kp.pid), log };
    } finally {
      await kp.stop();
    }
  };
  realRuns.forEach(({ c, k }, i) => {
    test(`${c.file}: keepalived ${c.keepalived.runs ? 'runs' : 'refuses'} it`, async () => {
      if (!outcomes.has(k))
        for (const r of realRuns.slice(i, i + BATCH)) {
          const outcome = realRun(r.c, r.k);
          outcome.catch(() => undefined); // awaited (and reported) by its own test
          outcomes.set(r.k, outcome);
        }
      const { runs, log } = await outcomes.get(k)!;
      assert.equal(runs, c.keepalived.runs, log);
    });
  });
});
