/**
 * Typed configuration: defineConfig validates against the model schema,
 * fromKeepalived brings a keepalived.conf into a vipflow.config.ts, typed
 * config modules load through tsx, and `vipflow convert` output loads back to
 * the very model the keepalived loader produced, for every shared sample.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { repoRoot, sharedDir } from '../../core/paths.js';
import { ConfigValidationError, defineConfig, fromKeepalived, loadVipflowConfig } from '../../config/define.js';
import { emitTypedConfig } from '../../config/emit.js';
import { loadKeepalivedFile } from '../../config/keepalived/index.js';
import { loadConfig } from '../../config/load.js';

const samplesDir = join(sharedDir, 'keepalived-samples');
const scratch = mkdtempSync(join(tmpdir(), 'vipflow-define-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const here = fileURLToPath(new URL('.', import.meta.url));
const defineModule = (() => {
  const js = join(here, '..', '..', 'config', 'define.js');
  return pathToFileURL(existsSync(js) ? js : join(here, '..', '..', 'config', 'define.ts')).href;
})();

test('defineConfig fills keepalived defaults and validates at runtime', () => {
  const m = defineConfig({
    vrrpInstances: [{ name: 'VI_1', interface: 'eth0', virtualRouterId: 51, virtualIpaddress: [{ address: '198.18.0.10', prefix: 24 }] }],
  });
  const i = m.vrrpInstances[0]!;
  assert.deepEqual([i.priority, i.advertInt, i.preempt, i.garpMasterDelay, i.version, i.state], [100, 1, true, 5, 2, 'BACKUP']);
  assert.equal(m.global.vrrpVersion, 2);
  assert.throws(
    () => defineConfig({ vrrpInstances: [{ name: 'VI_1', virtualRouterId: 300, priorty: 5 } as never] }),
    (e: unknown) =>
      e instanceof ConfigValidationError &&
      e.diagnostics.some((d) => d.message.startsWith('vrrpInstances[0].virtualRouterId:')) &&
      e.diagnostics.some((d) => d.message.includes('priorty')),
  );
});

test('fromKeepalived composes with vipflow settings (type-checked here by tsc)', () => {
  const base = fromKeepalived(join(samplesDir, 'keepalived.conf.vrrp'));
  const m = defineConfig({
    ...base,
    vipflow: {
      nats: { url: 'nats://127.0.0.1:4222' },
      workflows: [{ name: 'reload', on: { instance: 'VI_1', to: 'MASTER' }, steps: [{ uses: 'nginx.reload', with: { pidFile: '/run/nginx.pid' } }] }],
    },
  });
  assert.deepEqual(m.vrrpInstances, base.vrrpInstances);
  assert.deepEqual(m.vipflow.workflows[0]?.steps[0], { uses: 'nginx.reload', with: { pidFile: '/run/nginx.pid' } });
  assert.throws(
    () => defineConfig({ ...base, vipflow: { workflows: [{ name: 'x', on: { to: 'MASTR' }, steps: [{ uses: 'a' }] }] } } as never),
    ConfigValidationError,
  );
  assert.equal(m.vipflow.nats?.replicas, 1, 'one copy of the stream unless a JetStream cluster is said to have more');
  // The stream and bucket names follow the cluster: a setting that looks like it renames them is refused, not ignored.
  assert.throws(() => defineConfig({ ...base, vipflow: { nats: { url: 'nats://127.0.0.1:4222', stream: 'EVENTS' } } } as never), ConfigValidationError);
  // Without a config id the sample's vrrp_script has no script: removed (with a warning), as keepalived does.
  assert.deepEqual(fromKeepalived(join(samplesDir, 'keepalived.conf.conditional_conf')).vrrpScripts, []);
});

test('a vipflow.config.ts module loads through tsx, errors become diagnostics', async () => {
  const good = join(scratch, 'vipflow.config.ts');
  writeFileSync(
    good,
    `import { defineConfig, fromKeepalived } from ${JSON.stringify(defineModule)};\n` +
      `const port: number = 4222;\n` +
      `export default defineConfig({ ...fromKeepalived(${JSON.stringify(join(samplesDir, 'keepalived.conf.sample'))}), vipflow: { nats: { url: \`nats://127.0.0.1:\${port}\` } } });\n`,
  );
  const r = await loadConfig(good);
  assert.equal(r.format, 'vipflow');
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.model?.vrrpInstances[0]?.name, 'VI_1');
  assert.equal(r.model?.vipflow.nats?.url, 'nats://127.0.0.1:4222');

  const bad = join(scratch, 'bad.config.ts');
  writeFileSync(
    bad,
    `import { defineConfig } from ${JSON.stringify(defineModule)};\nexport default defineConfig({ vrrpInstances: [{ name: 'A', virtualRouterId: 0 }] } as never);\n`,
  );
  const b = await loadVipflowConfig(bad);
  assert.equal(b.model, undefined);
  assert.ok(
    b.diagnostics.some((d) => d.severity === 'error' && d.message.startsWith('vrrpInstances[0].virtualRouterId:')),
    JSON.stringify(b.diagnostics),
  );

  const plain = join(scratch, 'plain.config.mjs');
  writeFileSync(
    plain,
    `export default { vrrpInstances: [{ name: 'A', interface: 'eth0', virtualRouterId: 1, virtualIpaddress: [{ address: '198.18.0.1' }] }, { name: 'B', interface: 'eth0', virtualRouterId: 1, virtualIpaddress: [{ address: '198.18.0.2' }] }] };\n`,
  );
  const p = await loadConfig(plain);
  assert.ok(
    p.diagnostics.some((d) => d.message.includes('virtual_router_id 1 on eth0 (IPv4) is already used')),
    'semantic checks run on typed configs too',
  );

  const missing = await loadConfig(join(scratch, 'nope.config.ts'));
  assert.equal(missing.unreadable, true);
});

const samples = readdirSync(samplesDir)
  .filter((f) => f.startsWith('keepalived.conf'))
  .sort();

for (const name of samples) {
  test(`convert ${name}: the typed config loads back to the same model`, async () => {
    const configIds = name.endsWith('conditional_conf') ? ['high'] : [];
    const k = loadKeepalivedFile(join(samplesDir, name), { configIds });
    assert.ok(k.model && k.raw);
    const out = join(scratch, `${name.replace(/\./g, '_')}.config.ts`);
    writeFileSync(out, emitTypedConfig(k.raw, { importFrom: defineModule, source: name }));
    const v = await loadVipflowConfig(out);
    assert.deepEqual(v.diagnostics, []);
    assert.deepEqual(v.model, k.model);
  });
}

test('vipflow convert prints a loadable file; exit 1 on a broken file', async () => {
  const mainJs = join(here, '..', '..', 'cli', 'main.js');
  const main = existsSync(mainJs) ? mainJs : join(here, '..', '..', 'cli', 'main.ts');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [...process.execArgv.filter((a) => !a.startsWith('--test')), main, 'convert', ...args], { encoding: 'utf8', timeout: 60_000 });
  const r = run(join(samplesDir, 'keepalived.conf.vrrp.sync'), '--import-from', defineModule);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\/\/ Converted from .*\nimport \{ defineConfig \} from "file:/);
  const out = join(scratch, 'sync.config.ts');
  writeFileSync(out, r.stdout);
  const v = await loadVipflowConfig(out);
  assert.deepEqual(
    v.model?.vrrpSyncGroups.map((g) => g.group),
    [
      ['VI_1', 'VI_2', 'VI_5', 'VI_6', 'VI_7', 'VI_8', 'VI_9'],
      ['VI_3', 'VI_4'],
    ],
  );
  const broken = run(join(repoRoot, 'test', 'config', 'fixtures', 'broken', 'vrid-range.conf'));
  assert.equal(broken.status, 1);
  assert.equal(broken.stdout, '');
  assert.equal(run(join(scratch, 'missing.conf')).status, 2);
});
