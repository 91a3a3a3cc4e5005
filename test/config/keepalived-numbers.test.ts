/**
 * keepalived 2.2.7's number reading (lib/parser.c), as a running keepalived
 * does it: the cases the compat corpus relies on, plus the edges of strtoul
 * and of the decimal reader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepalivedReads, keepalivedScriptWeight, type KeepalivedNumberRule } from '../../config/keepalived/keepalived-numbers.js';

const whole: KeepalivedNumberRule = { decimal: false, min: 0, max: 4294, says: '', onReject: { keeps: '' } };
const strict: KeepalivedNumberRule = { ...whole, min: 1, lax: false };
const timer: KeepalivedNumberRule = { decimal: true, min: 0.01, max: 255, says: '', onReject: { keeps: '' } };

test('whole numbers: leading digits when in range, as strtoul reads them', () => {
  assert.deepEqual(keepalivedReads('7', whole), { value: 7, clean: true });
  assert.deepEqual(keepalivedReads('+7', whole), { value: 7, clean: true });
  assert.deepEqual(keepalivedReads('2.5', whole), { value: 2, clean: false });
  assert.deepEqual(keepalivedReads('abc', whole), { value: 0, clean: false });
  assert.equal(keepalivedReads('-1', whole), undefined);
  assert.equal(keepalivedReads('4295', whole), undefined);
});

test('handlers reading with ignore_error false reject what is not a clean number', () => {
  assert.equal(keepalivedReads('2x', strict), undefined);
  assert.deepEqual(keepalivedReads('2', strict), { value: 2, clean: true });
});

test('decimal timers: microseconds, extra decimals rounded, bounds in seconds', () => {
  assert.deepEqual(keepalivedReads('1.5', timer), { value: 1.5, clean: true });
  assert.deepEqual(keepalivedReads('0.0100004', timer), { value: 0.01, clean: true });
  assert.deepEqual(keepalivedReads('0.0099995', timer), { value: 0.01, clean: true });
  assert.equal(keepalivedReads('abc', timer), undefined);
  assert.equal(keepalivedReads('0', timer), undefined);
  assert.equal(keepalivedReads('255.000001', timer), undefined);
  assert.equal(keepalivedReads('-1', timer), undefined);
});

test('vrrp_script weight: what strtol read is stored even when keepalived logs it', () => {
  assert.deepEqual(keepalivedScriptWeight('-100'), { value: -100, clean: true });
  assert.deepEqual(keepalivedScriptWeight('300'), { value: 300, clean: false });
  assert.deepEqual(keepalivedScriptWeight('abc'), { value: 0, clean: false });
  assert.deepEqual(keepalivedScriptWeight('-5x'), { value: -5, clean: false });
  // beyond a C long strtol saturates at LONG_MAX, which a C int truncates to -1
  assert.deepEqual(keepalivedScriptWeight('99999999999999999999'), { value: -1, clean: false });
  assert.deepEqual(keepalivedScriptWeight('4294967296'), { value: 0, clean: false });
});
