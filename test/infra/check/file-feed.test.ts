/**
 * FILE_CHECK end to end on real files: watchTrackFiles (inotify on a temp
 * directory) feeding a CheckRunner; values written with writeFileSync and
 * renamed into place, as an operator's `echo` or an atomic update would.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualServerSchema } from '../../../config/model.js';
import { silentLogger } from '../../../core/logger.js';
import { watchTrackFiles } from '../../../infra/check/file-feed.js';
import { planChecks } from '../../../infra/check/plan.js';
import { CheckRunner, type CheckEvent } from '../../../infra/check/runner.js';
import { pollUntil } from '../../../lab/run.js';
import { VirtualClock } from '../../../sim/clock.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'vipflow-file-check-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('a track_file drives its FILE_CHECK: weight from the value, down at weight 0 with a non-zero value, back when removed', async () => {
  const weightFile = join(dir, 'weight');
  const drainFile = join(dir, 'drain');
  writeFileSync(weightFile, '3\n');
  const trackFiles = [
    { name: 'weight', file: weightFile, weight: 1, reverse: false },
    { name: 'drain', file: drainFile, weight: 0, reverse: false, initFile: { value: 0, overwrite: false } },
  ];
  const vs = VirtualServerSchema.parse({
    target: { kind: 'address', address: '192.0.2.10', port: 80 },
    realServers: [
      {
        address: '192.0.2.21',
        weight: 10,
        checkers: [
          { type: 'FILE_CHECK', trackFile: 'weight', weight: 5 },
          { type: 'FILE_CHECK', trackFile: 'drain' },
        ],
      },
    ],
  });
  const plan = planChecks({ virtualServers: [vs], virtualServerGroups: [], trackFiles });
  assert.deepEqual(plan.issues, []);
  const feed = watchTrackFiles(trackFiles, { log: silentLogger(), settleMs: 10 });
  const events: CheckEvent[] = [];
  const runner = new CheckRunner(plan, { clock: new VirtualClock(), log: silentLogger(), probes: {}, trackFiles: feed, listeners: [(e) => events.push(e)] });
  try {
    runner.start();
    const rs = () => runner.status()[0]!.realServers[0]!;
    assert.deepEqual([rs().alive, rs().weight], [true, 25], 'read at start: 10 + 3 x 5; drain created by init_file as 0');
    writeFileSync(join(dir, 'weight.tmp'), '0x2\n');
    renameSync(join(dir, 'weight.tmp'), weightFile);
    assert.ok(await pollUntil(() => (rs().weight === 20 ? true : undefined), 3000), `weight ${rs().weight}`);
    writeFileSync(drainFile, '1\n');
    assert.ok(await pollUntil(() => (rs().alive ? undefined : true), 3000), 'drained');
    assert.deepEqual(
      events.filter((e) => e.type === 'realserver.down'),
      [
        {
          type: 'realserver.down',
          virtualServer: '192.0.2.10:80',
          realServer: '192.0.2.10:80/192.0.2.21:80',
          reason: 'file',
          detail: 'track_file drain is 1',
          checker: '192.0.2.10:80/192.0.2.21:80/FILE_CHECK#1',
        },
      ],
    );
    unlinkSync(drainFile);
    assert.ok(await pollUntil(() => (rs().alive ? true : undefined), 3000), 'a removed file reads as 0');
    assert.equal(rs().weight, 20);
  } finally {
    runner.stop();
    feed.stop();
  }
});
