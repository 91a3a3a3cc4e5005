/** The daemon's periodic return of freed heap memory, on fake trims: when it runs, what it logs, that it stops. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeapTrimmer } from '../../daemon/heap-trim.js';
import { recordingLogger } from '../notifiers/helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a trim logs what it returned', () => {
  const { log, records } = recordingLogger();
  let rss = 100 * 2 ** 20;
  const t = new HeapTrimmer(log, { trim: () => ((rss -= 3 * 2 ** 20), true), rss: () => rss });
  t.trimNow();
  const r = records.find((x) => x.msg === 'freed heap memory returned to the kernel');
  assert.equal(r?.['released'], true);
  assert.equal(r?.['returnedKiB'], 3072);
});

test('the first trim waits, then they repeat, and stop stops them', async () => {
  const { log } = recordingLogger();
  let trims = 0;
  const t = new HeapTrimmer(log, { trim: () => (trims++, false), rss: () => 0 });
  t.start(40, 20);
  await sleep(20);
  assert.equal(trims, 0, 'trimmed before the first delay');
  for (let i = 0; i < 50 && trims < 3; i++) await sleep(10);
  assert.ok(trims >= 3, `only ${trims} trims`);
  t.stop();
  const at = trims;
  await sleep(80);
  assert.equal(trims, at, 'trims went on after stop');
});

test('a failing trim is logged once and stops the trims; it never throws', async () => {
  const { log, records } = recordingLogger();
  let calls = 0;
  const t = new HeapTrimmer(log, {
    trim: () => {
      calls++;
      throw new Error('no mallocTrim in this addon');
    },
    rss: () => 0,
  });
  t.start(5, 5);
  await sleep(60);
  t.stop();
  assert.equal(calls, 1);
  assert.equal(records.filter((x) => x.level === 40).length, 1);
});
