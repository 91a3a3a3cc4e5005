// Random bytes from /dev/urandom without node:crypto (core/random-bytes.ts),
// and node:crypto loaded only at its first use (core/lazy-crypto.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytesLight, randomSeed31 } from '../../core/random-bytes.js';
import { nodeCrypto } from '../../core/lazy-crypto.js';

test('randomBytesLight gives n bytes, different each call', () => {
  for (const n of [1, 4, 16, 64]) assert.equal(randomBytesLight(n).length, n);
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) seen.add(randomBytesLight(16).toString('hex'));
  assert.equal(seen.size, 20);
});

test('randomSeed31 stays in [0, 2^31 - 1) and varies', () => {
  const seeds = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const s = randomSeed31();
    assert.ok(Number.isInteger(s) && s >= 0 && s < 0x7fffffff, `${s}`);
    seeds.add(s);
  }
  assert.ok(seeds.size > 45, `${seeds.size} distinct of 50`);
});

test('nodeCrypto loads node:crypto once', () => {
  const c = nodeCrypto();
  assert.equal(c, nodeCrypto());
  assert.equal(c.createHash('sha256').update('x').digest('hex').length, 64);
});
