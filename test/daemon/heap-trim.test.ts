/** The daemon's periodic return of unused memory, on fake trims: when it runs, what it logs, that it stops. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeapTrimmer, type HeapTrimDeps } from '../../daemon/heap-trim.js';
import { recordingLogger } from '../notifiers/helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const noRelease: HeapTrimDeps['releaseExecutable'] = () => Promise.resolve({ releasedKiB: 0, mappings: 0, failed: null, loopMs: 0 });

test('a trim logs what it returned, the executable pages among it', async () => {
  const { log, records } = recordingLogger();
  let rss = 100 * 2 ** 20;
  const t = new HeapTrimmer(log, {
    trim: () => ((rss -= 3 * 2 ** 20), true),
    releaseExecutable: () => ((rss -= 20 * 2 ** 20), Promise.resolve({ releasedKiB: 30_000, mappings: 3, failed: null, loopMs: 0.5 })),
    rss: () => rss,
  });
  assert.equal(await t.trimNow(), true);
  const r = records.find((x) => x.msg === 'unused memory returned to the kernel');
  assert.equal(r?.['released'], true);
  assert.equal(r?.['returnedKiB'], 23 * 1024);
  assert.equal(r?.['executableKiB'], 30_000);
});

test('the first trims wait their delays, then they repeat, and stop stops them', async () => {
  const { log } = recordingLogger();
  const at: number[] = [];
  const t0 = performance.now();
  const t = new HeapTrimmer(log, { trim: () => (at.push(performance.now() - t0), false), releaseExecutable: noRelease, rss: () => 0 });
  t.start([40, 100], 20);
  await sleep(20);
  assert.equal(at.length, 0, 'trimmed before the first delay');
  for (let i = 0; i < 80 && at.length < 4; i++) await sleep(10);
  assert.ok(at.length >= 4, `only ${at.length} trims`);
  assert.ok(at[0]! >= 39, `first trim at ${at[0]} ms`);
  assert.ok(at[1]! >= 99, `second trim at ${at[1]} ms, before its 100 ms`);
  t.stop();
  const n = at.length;
  await sleep(80);
  assert.equal(at.length, n, 'trims went on after stop');
});

test('a failing malloc trim is logged once and stops the trims; it never throws', async () => {
  const { log, records } = recordingLogger();
  let calls = 0;
  const t = new HeapTrimmer(log, {
    trim: () => {
      calls++;
      throw new Error('no mallocTrim in this addon');
    },
    releaseExecutable: noRelease,
    rss: () => 0,
  });
  t.start([5], 5);
  await sleep(60);
  t.stop();
  assert.equal(calls, 1);
  assert.equal(records.filter((x) => x.level === 40).length, 1);
});

test('a failing executable release is logged once and not tried again; the malloc trims go on', async () => {
  const { log, records } = recordingLogger();
  let trims = 0;
  let releases = 0;
  const t = new HeapTrimmer(log, {
    trim: () => (trims++, true),
    releaseExecutable: () => (releases++, Promise.resolve({ releasedKiB: 8, mappings: 1, failed: 'EINVAL', loopMs: 0 })),
    rss: () => 0,
  });
  for (let i = 0; i < 3; i++) assert.equal(await t.trimNow(), true);
  assert.equal(trims, 3);
  assert.equal(releases, 1);
  const warns = records.filter((x) => x.level === 40);
  assert.equal(warns.length, 1);
  assert.match(String((warns[0]!['err'] as { message?: string } | undefined)?.message), /EINVAL after 1 mappings/);
});
