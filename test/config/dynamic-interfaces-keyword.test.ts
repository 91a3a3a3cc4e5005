/** `dynamic_interfaces [allow_if_changes]` in global_defs, as keepalived 2.2.7's parser takes it (global_parser.c). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadKeepalivedText } from '../../config/keepalived/index.js';

function load(line: string) {
  const r = loadKeepalivedText(`global_defs {\n  ${line}\n}\n`, 'k.conf');
  assert.ok(r.model, r.diagnostics.map((d) => d.message).join('\n'));
  return { dynamic: r.model.global.dynamicInterfaces, messages: r.diagnostics.map((d) => `${d.severity} ${d.line}:${d.column} ${d.message}`) };
}

test('dynamic_interfaces alone and with allow_if_changes: on, nothing to say', () => {
  assert.deepEqual(load('dynamic_interfaces'), { dynamic: true, messages: [] });
  assert.deepEqual(load('dynamic_interfaces allow_if_changes'), { dynamic: true, messages: [] });
});

test('another option: on, and a warning at the word (keepalived -t reports it and still runs)', () => {
  const r = load('dynamic_interfaces bogus');
  assert.equal(r.dynamic, true);
  assert.deepEqual(r.messages, ["warning 2:22 unknown dynamic_interfaces option 'bogus' ignored (keepalived reports it too)"]);
});

test('without the keyword: off', () => {
  assert.equal(load('vrrp_garp_master_delay 5').dynamic, false);
});
