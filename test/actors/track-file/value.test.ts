import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileEffect, parseFileValue } from '../../../actors/track-file/index.js';

const v = (text: string | null) => {
  const r = parseFileValue(text);
  return r.ok ? r.value : 'ignored';
};

test('file text is read as strtol base 0 reads it', () => {
  assert.equal(v(null), 0, 'missing file');
  assert.equal(v(''), 0, 'empty file');
  assert.equal(v('5\n'), 5);
  assert.equal(v('  \t-12 junk'), -12, 'leading blanks skipped, trailing text ignored');
  assert.equal(v('+7'), 7);
  assert.equal(v('0x1f'), 31, 'hexadecimal');
  assert.equal(v('-0X10'), -16);
  assert.equal(v('017'), 15, 'octal');
  assert.equal(v('08'), 0, 'octal stops at 8');
  assert.equal(v('0x'), 0);
  assert.equal(v('abc'), 0, 'no digits');
  assert.equal(v('- 5'), 0, 'sign must touch the digits');
});

test('numbers beyond -2^31 .. 2^31 are ignored (keepalived keeps the previous value)', () => {
  assert.equal(v('2147483648'), 2147483648, "2^31 itself passes keepalived's check");
  assert.equal(v('2147483649'), 'ignored');
  assert.equal(v('-2147483648'), -2147483648);
  assert.equal(v('-2147483649'), 'ignored');
  assert.equal(v('99999999999999999999999'), 'ignored', 'beyond long: ERANGE');
});

test('only the first 127 bytes count', () => {
  assert.equal(v(' '.repeat(126) + '5'), 5);
  assert.equal(v(' '.repeat(127) + '5'), 0);
});

test('weight 0: a non-zero value is Fault; reverse: a zero value is', () => {
  assert.deepEqual(fileEffect(0, 0, false), { fault: false, offset: 0 });
  assert.deepEqual(fileEffect(3, 0, false), { fault: true, offset: 0 });
  assert.deepEqual(fileEffect(-1, 0, false), { fault: true, offset: 0 });
  assert.deepEqual(fileEffect(0, 0, true), { fault: true, offset: 0 });
  assert.deepEqual(fileEffect(9, 0, true), { fault: false, offset: 0 });
});

test('weighted: value × weight (negated by reverse), capped at 253, Fault at -254 or below', () => {
  assert.deepEqual(fileEffect(5, 10, false), { fault: false, offset: 50 });
  assert.deepEqual(fileEffect(5, 10, true), { fault: false, offset: -50 });
  assert.deepEqual(fileEffect(-3, -20, false), { fault: false, offset: 60 });
  assert.deepEqual(fileEffect(1000, 1, false), { fault: false, offset: 253 });
  assert.deepEqual(fileEffect(-253, 1, false), { fault: false, offset: -253 });
  assert.deepEqual(fileEffect(-254, 1, false), { fault: true, offset: 0 });
  assert.deepEqual(fileEffect(127, 2, true), { fault: true, offset: 0 });
  assert.deepEqual(fileEffect(0, 50, true), { fault: false, offset: 0 });
});
