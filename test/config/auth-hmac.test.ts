// auth_hmac in keepalived.conf and the typed config: keepalived 2.4.3's syntax, defaults and checks,
// vipflow's stricter rule on active_key, and keys that never appear in a diagnostic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../core/paths.js';
import { loadKeepalivedText } from '../../config/keepalived/index.js';
import { emitTypedConfig } from '../../config/emit.js';
import { authHmacKeyBytes, authHmacTimeWindow } from '../../config/auth-hmac.js';

const HEX_KEY = 'hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const TEXT_KEY = 'a-text-key-of-exactly-32-bytes..';

function conf(authBlock: string, extra = ''): string {
  return `vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  ${extra}
  auth_hmac {
${authBlock}
  }
  virtual_ipaddress {
    198.18.0.100/24
  }
}
global_defs {
  vrrp_version 3
}
`;
}

function errors(text: string): string[] {
  return loadKeepalivedText(text)
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => d.message);
}

test("keepalived 2.4.3's capture configs load with every auth_hmac field", () => {
  const text = readFileSync(join(repoRoot, 'test', 'fixtures', 'keepalived-2.4.3', 'auth_hmac-master.conf'), 'utf8');
  const r = loadKeepalivedText(text);
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  const a = r.model!.vrrpInstances[0]!.authHmac!;
  assert.deepEqual(a, { keys: [{ id: 1, key: HEX_KEY }], activeKey: 1, antiReplay: 'time', timeWindow: 5, mode: 'enforce' });
  assert.equal(authHmacKeyBytes(a.keys[0]!.key)!.length, 32);
  assert.ok(!r.diagnostics.some((d) => /auth_hmac/.test(d.message)), 'no longer "accepted but ignored"');
});

test('defaults: anti_replay time, mode enforce, window max(3 x advert_int, 5) up to 300', () => {
  const r = loadKeepalivedText(conf(`    key 1 ${HEX_KEY}\n    active_key 1`));
  const a = r.model!.vrrpInstances[0]!.authHmac!;
  assert.equal(a.antiReplay, 'time');
  assert.equal(a.mode, 'enforce');
  assert.equal(authHmacTimeWindow(a, 1), 5);
  assert.equal(authHmacTimeWindow(a, 4), 12);
  assert.equal(authHmacTimeWindow(a, 200), 300);
  assert.equal(authHmacTimeWindow({ ...a, timeWindow: 2 }, 10), 2);
});

test('a missing or undefined active_key is an error, not an unauthenticated run', () => {
  assert.ok(errors(conf(`    key 1 ${HEX_KEY}`)).some((m) => /no active_key/.test(m)));
  assert.ok(errors(conf(`    key 1 ${HEX_KEY}\n    active_key 2`)).some((m) => /active_key 2 is not defined/.test(m)));
});

test("keepalived's key and field checks; the key never appears in a message", () => {
  const short = errors(conf(`    key 1 hex:0011\n    active_key 1`));
  assert.ok(
    short.some((m) => /key 1 is 2 bytes, not in \[32, 64\]/.test(m)),
    short.join('\n'),
  );
  const long = errors(conf(`    key 1 ${'x'.repeat(65)}\n    active_key 1`));
  assert.ok(long.some((m) => /65 bytes/.test(m)));
  assert.ok(errors(conf(`    key 1 ${TEXT_KEY}\n    key 1 ${HEX_KEY}\n    active_key 1`)).some((m) => /duplicate key id 1/.test(m)));
  assert.ok(errors(conf(`    key 0 ${HEX_KEY}\n    active_key 1`)).length > 0, 'key id 0');
  assert.ok(errors(conf(`    key 1 ${HEX_KEY}\n    active_key 1\n    time_window 301`)).length > 0);
  assert.ok(errors(conf(`    key 1 ${HEX_KEY}\n    active_key 1\n    mode audit`)).length > 0);
  assert.ok(errors(conf(`    key 1 ${HEX_KEY}\n    active_key 1\n    anti_replay clock`)).length > 0);
  assert.deepEqual(errors(conf(`    key 7 ${TEXT_KEY}\n    active_key 7\n    anti_replay monotonic\n    mode receive-only`)), []);
  const all = loadKeepalivedText(conf(`    key 1 ${TEXT_KEY}x\n    key 1 hex:00zz\n    active_key 3`)).diagnostics;
  for (const d of all) assert.ok(!JSON.stringify(d).includes('exactly-32'), `key text in: ${JSON.stringify(d)}`);
});

test('file: keys are read at load (hex or text, trailing newline dropped); unreadable or group-readable files are reported', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-hmac-'));
  try {
    const hexFile = join(dir, 'k1');
    writeFileSync(hexFile, `${HEX_KEY}\n`, { mode: 0o600 });
    const r = loadKeepalivedText(conf(`    key 1 file:${hexFile}\n    active_key 1`));
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.model!.vrrpInstances[0]!.authHmac!.keys[0]!.key, HEX_KEY);
    assert.equal(r.model!.vrrpInstances[0]!.authHmac!.keys[0]!.file, hexFile);
    const converted = emitTypedConfig(r.raw, { importFrom: 'vipflow/config' });
    assert.ok(converted.includes(`file:${hexFile}`), 'vipflow convert refers to the key file');
    assert.ok(!converted.includes(HEX_KEY.slice(4)), 'and does not copy the secret');
    chmodSync(hexFile, 0o644);
    const exposed = loadKeepalivedText(conf(`    key 1 file:${hexFile}\n    active_key 1`)).diagnostics;
    assert.ok(exposed.some((d) => d.severity === 'warning' && /readable by group or others/.test(d.message)));
    assert.ok(errors(conf(`    key 1 file:${join(dir, 'missing')}\n    active_key 1`)).some((m) => /cannot be read/.test(m)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('auth_hmac beside an authentication block: a warning, the block is ignored (keepalived drops legacy auth)', () => {
  const r = loadKeepalivedText(
    conf(`    key 1 ${HEX_KEY}\n    active_key 1`, 'authentication {\n auth_type PASS\n auth_pass secret\n }').replace('vrrp_version 3', 'vrrp_version 2'),
  );
  assert.ok(r.diagnostics.some((d) => d.severity === 'warning' && /cannot be combined with authentication/.test(d.message)));
});
