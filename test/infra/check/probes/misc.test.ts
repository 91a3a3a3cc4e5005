/**
 * MISC_CHECK: scripts in a temp dir with various exit codes, a signal, a hung
 * script (and its child) killed at misc_timeout, misc_dynamic weights.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { miscOutcome, miscProbe } from '../../../../infra/check/probes/misc.js';
import type { ProbeResult } from '../../../../infra/check/probes/types.js';

let dir: string;
const script = (name: string, body: string): string => {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
};
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'vipflow-misc-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function failed(r: ProbeResult, reason: string): string {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r)}`);
  if (r.ok) return '';
  assert.equal(r.reason, reason, r.detail);
  return r.detail;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('MISC_CHECK: exit 0 is up; exit 1 and exit 5 are down without misc_dynamic; arguments are passed', async () => {
  const exitWith = script('exit-with.sh', 'exit "$1"');
  assert.deepEqual(await miscProbe(null, { argv: [exitWith, '0'], timeoutMs: 5000 }), { ok: true, detail: 'exit 0' });
  assert.equal(failed(await miscProbe(null, { argv: [exitWith, '1'], timeoutMs: 5000 }), 'exit-code'), 'exit 1');
  assert.equal(failed(await miscProbe(null, { argv: [exitWith, '5'], timeoutMs: 5000 }), 'exit-code'), 'exit 5');
});

test('MISC_CHECK misc_dynamic: exit 2..255 is up with weight code - 2; exit 0 up keeping the weight; exit 1 down', async () => {
  const exitWith = script('exit-with-dyn.sh', 'exit "$1"');
  for (const [code, weight] of [
    [2, 0],
    [3, 1],
    [52, 50],
    [255, 253],
  ] as const) {
    const r = await miscProbe(null, { argv: [exitWith, String(code)], timeoutMs: 5000, dynamic: true });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.ok && r.weight, weight, `exit ${code}`);
  }
  const zero = await miscProbe(null, { argv: [exitWith, '0'], timeoutMs: 5000, dynamic: true });
  assert.equal(zero.ok && zero.weight, undefined);
  assert.equal(zero.ok, true);
  failed(await miscProbe(null, { argv: [exitWith, '1'], timeoutMs: 5000, dynamic: true }), 'exit-code');
});

test('MISC_CHECK: a hung script is a failure at misc_timeout, its process group (and child) killed', async () => {
  const pidFile = join(dir, 'child.pid');
  const hung = script('hung.sh', `sleep 30 &\necho $! > ${pidFile}\nwait`);
  const started = Date.now();
  const d = failed(await miscProbe(null, { argv: [hung], timeoutMs: 400, dynamic: true }), 'timeout');
  assert.match(d, /no exit within 400 ms/);
  assert.ok(Date.now() - started < 3000);
  assert.ok(existsSync(pidFile));
  const child = Number(readFileSync(pidFile, 'utf8').trim());
  const end = Date.now() + 2000;
  while (alive(child) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.equal(alive(child), false, `child ${child} of the hung script survived`);
});

test('MISC_CHECK: killed by a signal, a missing program, a refused script, an abort', async () => {
  const selfKill = script('self-kill.sh', 'kill -TERM $$');
  assert.match(failed(await miscProbe(null, { argv: [selfKill], timeoutMs: 5000 }), 'exit-code'), /killed by SIGTERM/);
  failed(await miscProbe(null, { argv: [join(dir, 'does-not-exist')], timeoutMs: 5000 }), 'spawn');
  assert.match(failed(await miscProbe(null, { argv: [selfKill], timeoutMs: 5000, prepare: () => ({ ok: false, reason: 'unsafe' }) }), 'spawn'), /unsafe/);
  const slow = script('slow.sh', 'sleep 30');
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const started = Date.now();
  failed(await miscProbe(null, { argv: [slow], timeoutMs: 20_000 }, { signal: ac.signal }), 'aborted');
  assert.ok(Date.now() - started < 3000);
  failed(await miscProbe(null, { argv: [], timeoutMs: 1000 }), 'config');
});

test('miscOutcome: the timeout wins over the signal the kill produced', () => {
  const r = miscOutcome({ exitCode: null, signal: 'SIGKILL', timedOut: true, refused: null }, false, 100);
  assert.equal(r.ok === false && r.reason, 'timeout');
});
