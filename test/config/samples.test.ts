/**
 * Every keepalived sample in shared/ loads without errors; warnings are for
 * keywords vipflow does not act on yet or for settings keepalived itself
 * overrides (strict mode), and each names its keyword.
 * Reviewed snapshots of a few models guard the mapping field by field;
 * VIPFLOW_UPDATE_SNAPSHOTS=1 rewrites them (review the diff before committing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, sharedDir } from '../../core/paths.js';
import { loadKeepalivedFile } from '../../config/keepalived/index.js';

const samplesDir = join(sharedDir, 'keepalived-samples');
const snapshotsDir = join(repoRoot, 'test', 'config', 'snapshots');
const update = process.env.VIPFLOW_UPDATE_SNAPSHOTS === '1';

/** The conditional sample is meant to run with -i high or -i low (see its first line). */
const configIdsFor = (name: string): string[] => (name.endsWith('conditional_conf') ? ['high'] : []);

const notActedOnText = (message: string): boolean => /vipflow does not act on it yet/.test(message);

const samples = readdirSync(samplesDir)
  .filter((f) => f.startsWith('keepalived.conf'))
  .sort();

test('the samples directory is there and not empty', () => {
  assert.ok(samples.length >= 20, `found ${samples.length} samples in ${samplesDir}`);
});

for (const name of samples) {
  test(`sample ${name} loads with no error`, () => {
    const r = loadKeepalivedFile(join(samplesDir, name), { configIds: configIdsFor(name) });
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(errors, [], `errors in ${name}`);
    assert.ok(r.model, 'a model is returned');
    for (const w of r.diagnostics) {
      assert.ok(w.text && w.text.length > 0, `warning without the offending text: ${w.message}`);
      assert.ok(w.message.includes(`'${w.text}'`), `warning does not name its keyword: ${w.message}`);
      assert.ok(w.line > 0 && w.column > 0, 'warning has a position');
    }
  });
}

test("Debian's default config gets keepalived's corrections (zero GARP intervals, strict mode), as warnings", () => {
  const r = loadKeepalivedFile(join(samplesDir, 'keepalived.conf.etc-default'));
  assert.deepEqual(
    r.diagnostics.filter((d) => notActedOnText(d.message)).map((d) => d.text),
    ['router_id', 'notification_email', 'notification_email_from', 'smtp_server', 'smtp_connect_timeout', 'vrrp_skip_check_adv_addr'],
    "keepalived's e-mail settings and vrrp_skip_check_adv_addr are named as not acted on",
  );
  assert.deepEqual(
    r.diagnostics.filter((d) => !notActedOnText(d.message)).map((d) => [d.severity, d.line, d.text]),
    [
      ['warning', 15, 'vrrp_garp_interval'],
      ['warning', 16, 'vrrp_gna_interval'],
      ['warning', 20, 'state'],
      ['warning', 25, 'authentication'],
    ],
  );
  const vi = r.model!.vrrpInstances[0]!;
  assert.deepEqual([vi.state, vi.authentication, vi.accept, vi.garpLowerPrioRepeat, vi.lowerPrioNoAdvert], ['BACKUP', undefined, false, 0, true]);
});

test('SSL_GET sample: keepalived does not start an AH instance as MASTER unless it owns the address', () => {
  const r = loadKeepalivedFile(join(samplesDir, 'keepalived.conf.SSL_GET'));
  assert.deepEqual(
    r.diagnostics.filter((d) => !notActedOnText(d.message)).map((d) => [d.severity, d.line, d.text]),
    [['warning', 14, 'state']],
  );
  assert.equal(r.model!.vrrpInstances[0]!.state, 'BACKUP');
  assert.equal(r.model!.vrrpInstances[0]!.authentication?.type, 'AH');
});

test('the conditional sample without a config id loses its script with a warning and runs (as keepalived does)', () => {
  const r = loadKeepalivedFile(join(samplesDir, 'keepalived.conf.conditional_conf'));
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  const removed = r.diagnostics.filter((d) => /vrrp_script 'check_VI_0' has no 'script'; removed/.test(d.message));
  assert.equal(removed.length, 1);
  assert.deepEqual(r.model?.vrrpScripts, []);
  assert.ok(
    r.model.vrrpInstances.every((i) => i.trackScripts.length === 0),
    'references to the removed script are dropped',
  );
});

test('the conditional sample picks lines by config id', () => {
  const high = loadKeepalivedFile(join(samplesDir, 'keepalived.conf.conditional_conf'), { configIds: ['high'] }).model!;
  const low = loadKeepalivedFile(join(samplesDir, 'keepalived.conf.conditional_conf'), { configIds: ['low'] }).model!;
  assert.equal(high.vrrpInstances[0]!.priority, 170);
  assert.equal(low.vrrpInstances[0]!.priority, 85);
  assert.equal(high.vrrpScripts[0]!.script.command, '/etc/keepalived/scripts/check_high_VI_0.sh');
  assert.equal(low.vrrpScripts[0]!.script.command, '/etc/keepalived/scripts/check_low_VI_0.sh');
});

const snapshotted = [
  'keepalived.conf.vrrp',
  'keepalived.conf.vrrp.localcheck',
  'keepalived.conf.conditional_conf',
  'keepalived.conf.SMTP_CHECK',
  'keepalived.conf.virtual_server_group',
];

for (const name of snapshotted) {
  test(`model snapshot of ${name}`, () => {
    const r = loadKeepalivedFile(join(samplesDir, name), { configIds: configIdsFor(name) });
    assert.ok(r.model);
    const actual = JSON.stringify(r.model, null, 2) + '\n';
    const file = join(snapshotsDir, `${name}.json`);
    if (update || !existsSync(file)) {
      if (!update) assert.fail(`no snapshot ${file}: run with VIPFLOW_UPDATE_SNAPSHOTS=1 and review it`);
      mkdirSync(snapshotsDir, { recursive: true });
      writeFileSync(file, actual);
    }
    assert.deepEqual(JSON.parse(actual), JSON.parse(readFileSync(file, 'utf8')));
  });
}
