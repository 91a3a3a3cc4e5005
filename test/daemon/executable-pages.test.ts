/**
 * The node binary's start-up pages handed back: which mappings smaps offers
 * (pure), and, for real in this process, that releasing them lowers the
 * binary's resident pages while everything that runs on them (V8's builtins,
 * ICU, zlib, OpenSSL) still gives the same answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { deflateSync, inflateSync } from 'node:zlib';
import { releasableMappings, releaseExecutablePages } from '../../daemon/executable-pages.js';
import { releaseMappedPages } from '../../wire/socket/index.js';

const mapping = (range: string, perms: string, path: string, kib: { rss: number; anon: number; locked?: number }) =>
  [
    `${range} ${perms} 00000000 fe:01 1234                       ${path}`,
    `Size:              27184 kB`,
    `Rss:               ${kib.rss} kB`,
    `Pss:               ${kib.rss} kB`,
    `Anonymous:         ${kib.anon} kB`,
    `Locked:            ${kib.locked ?? 0} kB`,
    `VmFlags: rd ex mr mw me`,
  ].join('\n');

test("only the executable's private, read-only, unwritten, unlocked and resident mappings are offered", () => {
  const smaps = [
    mapping('55d0c0a00000-55d0c1170000', 'r--p', '/usr/bin/node', { rss: 7000, anon: 0 }),
    mapping('55d0c1170000-55d0c2bfc000', 'r-xp', '/usr/bin/node', { rss: 20000, anon: 0 }),
    // Relocated data: written since it was mapped, so releasing it would bring back the file's bytes.
    mapping('55d0c2bfc000-55d0c2c1c000', 'r--p', '/usr/bin/node', { rss: 128, anon: 128 }),
    mapping('55d0c2c1c000-55d0c2c20000', 'rw-p', '/usr/bin/node', { rss: 16, anon: 16 }),
    mapping('55d0c2c20000-55d0c2c30000', 'r--p', '/usr/bin/node', { rss: 0, anon: 0 }),
    mapping('55d0c2c30000-55d0c2c40000', 'r--p', '/usr/bin/node', { rss: 64, anon: 0, locked: 64 }),
    mapping('55d0c2c40000-55d0c2c50000', 'r--s', '/usr/bin/node', { rss: 64, anon: 0 }),
    mapping('7f0000000000-7f0000100000', 'r-xp', '/usr/lib/x86_64-linux-gnu/libc.so.6', { rss: 1000, anon: 0 }),
    mapping('7f0000100000-7f0000200000', 'r-xp', '/usr/bin/node-other', { rss: 1000, anon: 0 }),
    mapping('7ffd00000000-7ffd00021000', 'rw-p', '[stack]', { rss: 40, anon: 40 }),
  ].join('\n');
  const got = releasableMappings(smaps, '/usr/bin/node');
  assert.deepEqual(got, [
    { start: 0x55d0c0a00000n, length: 0x770000n, residentKiB: 7000 },
    { start: 0x55d0c1170000n, length: 0x1a8c000n, residentKiB: 20000 },
  ]);
});

test('a mapping whose Anonymous or Locked line is missing is not offered, and a path with spaces matches whole', () => {
  const partial = ['55d0c0a00000-55d0c1170000 r-xp 00000000 fe:01 1234   /opt/my node/bin/node', 'Rss:  100 kB', 'Anonymous:  0 kB'].join('\n');
  assert.deepEqual(releasableMappings(partial, '/opt/my node/bin/node'), []);
  const whole = mapping('55d0c0a00000-55d0c1170000', 'r-xp', '/opt/my node/bin/node', { rss: 100, anon: 0 });
  assert.equal(releasableMappings(whole, '/opt/my node/bin/node').length, 1);
  assert.equal(releasableMappings(whole, '/opt/my').length, 0);
});

test('a release that fails counts only the mappings before it and names the errno', async () => {
  const smaps = [
    mapping('1000-3000', 'r--p', '/x/node', { rss: 8, anon: 0 }),
    mapping('3000-5000', 'r-xp', '/x/node', { rss: 8, anon: 0 }),
    mapping('5000-7000', 'r--p', '/x/node', { rss: 8, anon: 0 }),
  ].join('\n');
  let asked: bigint[] = [];
  const r = await releaseExecutablePages({
    smaps: () => Promise.resolve(smaps),
    executable: '/x/node',
    release: (ranges) => {
      asked = ranges.map((x) => x.start);
      return Promise.resolve({ released: 1, error: 'EINVAL' });
    },
  });
  assert.deepEqual(asked, [0x1000n, 0x3000n, 0x5000n]);
  assert.deepEqual({ ...r, loopMs: 0 }, { releasedKiB: 8, mappings: 1, failed: 'EINVAL', loopMs: 0 });
  assert.ok(r.loopMs >= 0);
});

function executableResidentKiB(): number {
  const exe = readlinkSync('/proc/self/exe');
  let total = 0;
  let ours = false;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+ *(.*)$/.exec(line);
    if (header) ours = header[1] === exe;
    else if (ours && line.startsWith('Rss:')) total += Number(/(\d+)/.exec(line)![1]);
  }
  return total;
}

/** Work on the binary's code and data: V8 builtins (sort, regexps, JSON), ICU, zlib, OpenSSL. */
function workload(): string {
  const words = Array.from({ length: 2000 }, (_, i) => `w${(i * 7919) % 2003}`).sort();
  const json = JSON.stringify({ words: words.slice(0, 50), re: 'a1b22c333'.replace(/\d+/g, (d) => `<${d.length}>`) });
  const intl = new Intl.DateTimeFormat('de-DE', { dateStyle: 'full', timeZone: 'UTC' }).format(new Date(Date.UTC(2026, 11, 5)));
  const number = new Intl.NumberFormat('fr-FR').format(1234567.891);
  const zipped = inflateSync(deflateSync(Buffer.from(json.repeat(20)))).toString();
  const digest = createHash('sha256').update(zipped).update(intl).update(number).digest('hex');
  return `${digest} ${intl} ${number} ${json.length}`;
}

test("releasing this process's executable pages lowers their resident size and changes no result", async () => {
  const expected = workload();
  const before = executableResidentKiB();
  assert.ok(before > 4096, `node's binary holds only ${before} KiB resident: not the node this test expects`);
  const r = await releaseExecutablePages();
  assert.equal(r.failed, null);
  assert.ok(r.mappings >= 1);
  const after = executableResidentKiB();
  assert.ok(after < before / 2, `resident pages of the binary ${before} -> ${after} KiB`);
  for (let i = 0; i < 3; i++) assert.equal(workload(), expected);
  // A second release right after finds less to release: what came back is what the work touched.
  const again = await releaseExecutablePages();
  assert.equal(again.failed, null);
  assert.ok(again.releasedKiB < r.releasedKiB, `${again.releasedKiB} KiB released again, ${r.releasedKiB} the first time`);
});

test('the addon refuses a range that is not page-aligned, and counts the ranges released before it', async () => {
  const exe = readlinkSync('/proc/self/exe');
  const [first] = releasableMappings(readFileSync('/proc/self/smaps', 'utf8'), exe);
  assert.ok(first, 'no releasable mapping of the node binary');
  assert.deepEqual(await releaseMappedPages([first, { start: first.start + 1n, length: 4096n }]), { released: 1, error: 'EINVAL' });
  assert.deepEqual(await releaseMappedPages([{ start: first.start, length: 0n }]), { released: 0, error: 'EINVAL' });
  assert.deepEqual(await releaseMappedPages([]), { released: 0, error: null });
});
