/**
 * `vipflow check-config` as a user runs it: a child process through
 * cli/main, checking exit status (0 valid, 1 errors, 2 unreadable) and the
 * --json shape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot, sharedDir } from '../../core/paths.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const mainJs = join(here, '..', '..', 'cli', 'main.js');
const main = existsSync(mainJs) ? mainJs : join(here, '..', '..', 'cli', 'main.ts');
const broken = join(repoRoot, 'test', 'config', 'fixtures', 'broken');

/** check-config on a file written for some host, not this one (host checks: test/lab/host-checks.test.ts). */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...process.execArgv.filter((a) => !a.startsWith('--test')), main, 'check-config', '--host-independent', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('valid file: exit 0, warnings printed', () => {
  const r = cli(join(sharedDir, 'keepalived-samples', 'keepalived.conf.vrrp.lvs_syncd'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /lvs_syncd:11:5: warning: 'lvs_sync_daemon_interface'/);
  assert.match(r.stdout, /lvs_syncd:4:3: warning: 'VI_2' listed directly in vrrp_sync_group \(old syntax\) is not a member/);
  assert.match(r.stdout, /configuration is valid \(4 warning\(s\)\)/);
});

test('--strict: warnings fail (exit 1), compiler-style text with source line, caret and hint', () => {
  // keepalived ignores an unknown keyword and runs, so it is a warning: exit 0 unless --strict.
  assert.equal(cli(join(broken, 'misspelled-keyword.conf')).status, 0);
  const r = cli(join(broken, 'misspelled-keyword.conf'), '--strict');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /0 error\(s\), 1 warning\(s\) \(--strict: warnings fail\)/);
  const lines = r.stderr.split('\n');
  const k = lines.findIndex((l) => /misspelled-keyword\.conf:5:5: warning: unknown keyword 'priorty'/.test(l));
  assert.ok(k >= 0, r.stderr);
  assert.equal(lines[k + 1], '      priorty 100');
  assert.equal(lines[k + 2], '      ^~~~~~~');
  assert.equal(lines[k + 3], "  hint: did you mean 'priority'?");
});

test('--json prints the diagnostics list', () => {
  const r = cli(join(broken, 'misspelled-keyword.conf'), '--json', '--strict');
  assert.equal(r.status, 1);
  const list = JSON.parse(r.stdout) as Record<string, unknown>[];
  assert.equal(list.length, 1);
  assert.deepEqual(Object.keys(list[0]!).sort(), ['column', 'file', 'hint', 'line', 'message', 'severity']);
  assert.equal(list[0]!.severity, 'warning');
  assert.equal(list[0]!.line, 5);
  assert.equal(list[0]!.column, 5);
  assert.equal(list[0]!.hint, "did you mean 'priority'?");
  const ok = JSON.parse(cli(join(sharedDir, 'keepalived-samples', 'keepalived.conf.vrrp.sync'), '--json').stdout);
  assert.deepEqual(ok, []);
});

test('-i selects conditional lines', () => {
  const sample = join(sharedDir, 'keepalived-samples', 'keepalived.conf.conditional_conf');
  assert.equal(cli(sample, '-i', 'high').status, 0);
  // Without its id the sample's vrrp_script has no script: keepalived removes it with a warning and runs.
  assert.equal(cli(sample, '-i', 'nobody').status, 0);
  assert.equal(cli(sample, '-i', 'nobody', '--strict').status, 1);
  assert.equal(cli(sample, '-i', 'high', '--strict').status, 1, 'net_namespace is not acted on: a warning');
});

test('unreadable file: exit 2; bad usage: exit 2', () => {
  const r = cli(join(broken, 'no-such-file.conf'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /cannot read .*no-such-file\.conf/);
  assert.equal(cli().status, 2);
  assert.equal(cli('x.conf', '--bogus').status, 2);
});

test('a typed config: bad workflow steps and a broken workflowsFile are errors; good ones pass', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vf-checkwf-'));
  try {
    const defineModule = join(repoRoot, 'config', 'define.ts');
    const sample = join(repoRoot, 'test', 'workflows', 'fixtures', 'sample.workflows.ts');
    const write = (name: string, vipflow: string) => {
      const f = join(dir, name);
      writeFileSync(f, `import { defineConfig } from ${JSON.stringify(defineModule)};\nexport default defineConfig({ vipflow: ${vipflow} });\n`);
      return f;
    };
    const good = write(
      'good.config.ts',
      `{ workflowsFile: ${JSON.stringify(sample)}, workflows: [{ name: 'hook', on: { to: 'MASTER' }, steps: [{ uses: 'shell.script', with: { script: '/usr/local/bin/hook.mjs' } }] }] }`,
    );
    const ok = cli(good);
    assert.equal(ok.status, 0, ok.stderr + ok.stdout);
    const bad = write(
      'bad.config.ts',
      `{ workflowsFile: 'missing.workflows.ts', workflows: [{ name: 'hook', on: { to: 'MASTER' }, steps: [{ uses: 'shell.scrpt' }] }] }`,
    );
    const r = cli(bad);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /vipflow\.workflows\[0\] 'hook': steps\[0\] \(shell\.scrpt\): unknown notifier; use one of/);
    assert.match(r.stderr, /vipflow\.workflowsFile: .*missing\.workflows\.ts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--lb names the balancer: what nftables cannot run is an error at its line, IPVS and none accept it, a bad --lb is a usage error', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-cc-lb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'dr.conf');
  writeFileSync(file, ['virtual_server 198.18.9.1 80 {', '  lb_algo sed', '  lb_kind DR', '  real_server 198.18.9.2 80 {', '  }', '}', ''].join('\n'));
  const nft = cli(file, '--lb', 'nftables');
  assert.equal(nft.status, 1, nft.stderr);
  assert.match(nft.stderr, /dr\.conf:2:11: error: lb_algo sed is not supported by the nftables backend/);
  assert.match(nft.stderr, /dr\.conf:3:11: error: lb_kind DR is not supported by the nftables backend/);
  for (const lb of ['ipvs', 'none']) assert.equal(cli(file, `--lb=${lb}`).status, 0, lb);
  const usage = cli(file, '--lb', 'keepalived');
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--lb <backend>' argument 'keepalived' is invalid\. Allowed choices are auto, nftables, ipvs, none/);
});
