/** vrrp_rt_priority and vrrp_rlimit_rttime in global_defs, read as keepalived 2.2.7's global_parser.c reads them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadKeepalivedText } from '../../config/keepalived/index.js';

function load(...lines: string[]) {
  const r = loadKeepalivedText(`global_defs {\n${lines.map((l) => `  ${l}\n`).join('')}}\n`, 'k.conf');
  assert.ok(r.model, r.diagnostics.map((d) => d.message).join('\n'));
  return {
    priority: r.model.global.vrrpRtPriority,
    rttime: r.model.global.vrrpRlimitRttime,
    messages: r.diagnostics.map((d) => `${d.severity} ${d.line} ${d.message}`),
  };
}

test('in range: taken as written, nothing to say (no "does not act on it" warning any more)', () => {
  assert.deepEqual(load('vrrp_rt_priority 50', 'vrrp_rlimit_rttime 20000'), { priority: 50, rttime: 20000, messages: [] });
  assert.deepEqual(load('vrrp_rt_priority 1'), { priority: 1, rttime: undefined, messages: [] });
  assert.deepEqual(load('vrrp_rt_priority 99'), { priority: 99, rttime: undefined, messages: [] });
});

test('without them: normal scheduling', () => {
  assert.deepEqual(load('vrrp_garp_master_delay 5'), { priority: undefined, rttime: undefined, messages: [] });
});

test("outside 1-99: clamped with keepalived's message", () => {
  const low = load('vrrp_rt_priority 0');
  assert.equal(low.priority, 1);
  assert.match(low.messages[0]!, /^warning 2 .*less than minimum 1 - setting to minimum/);
  const high = load('vrrp_rt_priority 120');
  assert.equal(high.priority, 99);
  assert.match(high.messages[0]!, /^warning 2 .*greater than maximum 99 - setting to maximum/);
});

test('not a number: ignored with a warning at the line; no value: an error', () => {
  const r = load('vrrp_rt_priority high');
  assert.equal(r.priority, undefined);
  assert.match(r.messages[0]!, /^warning 2 'vrrp_rt_priority high' is not a whole number; ignored.*real-time priority 'high' invalid/);
  // No value at all is an error, as for every keyword that needs one.
  const missing = loadKeepalivedText('global_defs {\n  vrrp_rt_priority\n}\n', 'k.conf');
  assert.deepEqual(
    missing.diagnostics.map((d) => `${d.severity} ${d.line} ${d.message}`),
    ["error 2 'vrrp_rt_priority' needs a priority from 1 to 99"],
  );
});

test('vrrp_rlimit_rttime: 0 and words refused, 1 becomes 2, the old spelling warned about', () => {
  const zero = load('vrrp_rlimit_rttime 0');
  assert.equal(zero.rttime, undefined);
  assert.match(zero.messages[0]!, /default 10000 µs stays.*Invalid vrrp real-time limit/);
  assert.equal(load('vrrp_rlimit_rttime 1').rttime, 2);
  const old = load('vrrp_rlimit_rtime 30000');
  assert.equal(old.rttime, 30000);
  assert.match(old.messages[0]!, /'vrrp_rlimit_rtime' is deprecated: use 'vrrp_rlimit_rttime'/);
});

test('vrrp_cpu_slice (vipflow): unset by default (the daemon asks 100 µs), 0 for the kernel default, clamped to 100-100000 with a warning, words ignored', () => {
  const slice = (...lines: string[]) => {
    const r = loadKeepalivedText(`global_defs {\n${lines.map((l) => `  ${l}\n`).join('')}}\n`, 'k.conf');
    assert.ok(r.model);
    return { slice: r.model.global.vrrpCpuSlice, messages: r.diagnostics.map((d) => `${d.severity} ${d.line} ${d.message}`) };
  };
  assert.deepEqual(slice(), { slice: undefined, messages: [] });
  assert.deepEqual(slice('vrrp_cpu_slice 0'), { slice: 0, messages: [] });
  assert.deepEqual(slice('vrrp_cpu_slice 3000'), { slice: 3000, messages: [] });
  const low = slice('vrrp_cpu_slice 50');
  assert.equal(low.slice, 100);
  assert.match(low.messages[0]!, /^warning 2 'vrrp_cpu_slice 50': the kernel grants slices of 100 to 100000 µs; 100 is used/);
  assert.equal(slice('vrrp_cpu_slice 250000').slice, 100_000);
  const word = slice('vrrp_cpu_slice short');
  assert.equal(word.slice, undefined, 'the default stays');
  assert.match(word.messages[0]!, /not a whole number of microseconds; ignored/);
});
