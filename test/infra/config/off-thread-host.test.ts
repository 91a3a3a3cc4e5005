/**
 * The host facts cross to the configuration worker as plain data (the
 * interfaces); the worker adds its own file and user lookups. Both the worker
 * and the in-thread load (a vipflow.config.ts module, or a failed worker) check
 * the config against them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../core/logger.js';
import { OffThreadConfigLoader } from '../../../infra/config/off-thread-loader.js';

test('the worker checks the config against the interfaces it is given and reads the scripts itself', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-offthread-host-'));
  const loader = new OffThreadConfigLoader(silentLogger());
  t.after(async () => {
    await loader.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const script = join(dir, 'chk.sh');
  writeFileSync(script, '#!/bin/sh\nexit 0\n');
  chmodSync(script, 0o644);
  const path = join(dir, 'keepalived.conf');
  writeFileSync(
    path,
    `global_defs {\n  script_user root\n}\nvrrp_script chk {\n  script "${script}"\n}\nvrrp_instance VI_1 {\n  interface eth7\n  virtual_router_id 51\n  track_script {\n    chk\n  }\n  virtual_ipaddress {\n    198.18.0.1/32\n  }\n}\n`,
  );
  const messages = (r: { diagnostics: { severity: string; message: string; line: number }[] }) =>
    r.diagnostics.map((d) => `${d.line} ${d.severity}: ${d.message}`);

  const missing = await loader.load(path, { hostInterfaces: { lo: ['127.0.0.1/8'] } });
  assert.equal(missing.model, undefined);
  assert.ok(
    messages(missing).some((m) => m.startsWith('8 error: interface eth7 for vrrp_instance VI_1 does not exist')),
    messages(missing).join('\n'),
  );
  assert.ok(
    messages(missing).some((m) => /^5 warning: vrrp_script chk: .*chk\.sh is not executable by root/.test(m)),
    messages(missing).join('\n'),
  );

  const present = await loader.load(path, { hostInterfaces: { eth7: ['198.18.0.2/24'] } });
  assert.ok(present.model, messages(present).join('\n'));
  // Without host facts (check-config --host-independent, or the old callers) nothing about the host is said.
  const none = await loader.load(path);
  assert.deepEqual(messages(none), []);
});
