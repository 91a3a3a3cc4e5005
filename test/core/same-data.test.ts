import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sameData } from '../../core/same-data.js';

test('sameData: equal plain data in any key order; any difference in value, key, length or kind is unequal', () => {
  assert.ok(sameData({ a: 1, b: [1, { c: 'x' }], d: undefined }, { d: undefined, b: [1, { c: 'x' }], a: 1 }));
  assert.ok(sameData([], []));
  assert.ok(!sameData({ a: 1 }, { a: 2 }));
  assert.ok(!sameData({ a: 1 }, { b: 1 }));
  assert.ok(!sameData({ a: undefined }, { b: undefined }), 'same count, other key');
  assert.ok(!sameData({ a: 1 }, { a: 1, b: undefined }), 'an extra key, even undefined');
  assert.ok(!sameData([1, 2], [1, 2, 3]));
  assert.ok(!sameData([1], { 0: 1 }));
  assert.ok(!sameData({ 0: 1 }, [1]));
  assert.ok(!sameData(null, {}));
  assert.ok(!sameData('1', 1));
  assert.ok(!sameData({ s: { command: 'a' } }, { s: { command: 'b' } }));
});
