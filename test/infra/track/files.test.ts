/** The track_file watcher on a real temporary directory (inotify through fs.watch). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../core/logger.js';
import { TrackFiles } from '../../../infra/track/files.js';
import type { TrackFile } from '../../../config/model.js';

const def = (name: string, file: string, extra: Partial<TrackFile> = {}): TrackFile => ({ name, file, weight: 1, reverse: false, ...extra });

/** Waits (bounded) until `pred` holds. */
async function until(pred: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return pred();
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'vftf-files-'));
  const seen: [string, number][] = [];
  const files = new TrackFiles({ log: silentLogger(), onValue: (name, value) => seen.push([name, value]) });
  return { dir, seen, files, done: () => (files.stop(), rmSync(dir, { recursive: true, force: true })) };
}

test('the value is read at start, then on write, replace by rename, and removal (0)', async () => {
  const { dir, seen, files, done } = setup();
  try {
    const f = join(dir, 'prio');
    writeFileSync(f, '7\n');
    files.start([def('p', f)], { reload: false });
    assert.equal(files.value('p'), 7);
    writeFileSync(f, '12\n');
    assert.ok(await until(() => files.value('p') === 12), 'write seen');
    writeFileSync(join(dir, '.tmp'), '-4\n');
    renameSync(join(dir, '.tmp'), f);
    assert.ok(await until(() => files.value('p') === -4), 'rename over the file seen');
    rmSync(f);
    assert.ok(await until(() => files.value('p') === 0), 'removal reads as 0');
    writeFileSync(f, '0x10');
    assert.ok(await until(() => files.value('p') === 16), 'created again');
    assert.deepEqual(
      seen.map(([, v]) => v),
      [12, -4, 0, 16],
      'each change reported once, the start value not at all',
    );
  } finally {
    done();
  }
});

test('a file created after start, in an existing directory, is seen; an out-of-range number keeps the previous value', async () => {
  const { dir, files, done } = setup();
  try {
    const f = join(dir, 'later');
    files.start([def('l', f)], { reload: false });
    assert.equal(files.value('l'), 0);
    writeFileSync(f, '3');
    assert.ok(await until(() => files.value('l') === 3));
    writeFileSync(f, '99999999999');
    assert.ok(await until(() => files.status()[0]!.ignored === 1));
    assert.equal(files.value('l'), 3);
  } finally {
    done();
  }
});

test('a symlinked file is watched where it really lives', async () => {
  const { dir, files, done } = setup();
  try {
    const real = join(dir, 'real');
    writeFileSync(real, '1');
    symlinkSync(real, join(dir, 'link'));
    files.start([def('s', join(dir, 'link'))], { reload: false });
    writeFileSync(real, '2');
    assert.ok(await until(() => files.value('s') === 2));
  } finally {
    done();
  }
});

test('init_file creates a missing file; overwrite replaces an existing one at start but not at a reload', () => {
  const { dir, files, done } = setup();
  try {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const c = join(dir, 'c');
    writeFileSync(b, '9\n');
    writeFileSync(c, '9\n');
    files.start([def('a', a, { initFile: { value: 5, overwrite: false } }), def('b', b, { initFile: { value: 5, overwrite: false } })], { reload: false });
    assert.equal(readFileSync(a, 'utf8'), '5\n');
    assert.equal(readFileSync(b, 'utf8'), '9\n', 'without overwrite an existing file is kept');
    files.start([def('c', c, { initFile: { value: -2, overwrite: true } })], { reload: true });
    assert.equal(readFileSync(c, 'utf8'), '9\n', 'no overwrite at a reload');
    const d = join(dir, 'd');
    writeFileSync(d, '9\n');
    files.start([def('d', d, { initFile: { value: -2, overwrite: true } })], { reload: false });
    assert.equal(readFileSync(d, 'utf8'), '-2\n');
    assert.equal(files.value('d'), -2);
  } finally {
    done();
  }
});
