/** vrrp_script checks as real processes: exit status, rise/fall, timeout with the process group, refusal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../core/logger.js';
import { TrackScripts, type TrackScriptSpec } from '../../../infra/track/scripts.js';
import { isAlive } from '../../../lab/run.js';

const log = silentLogger();
const spec = (name: string, argv: string[], extra: Partial<TrackScriptSpec> = {}): TrackScriptSpec => ({
  name,
  argv,
  script: { command: argv.join(' ') },
  intervalMs: 100,
  timeoutMs: 1000,
  rise: 1,
  fall: 1,
  initFail: false,
  ...extra,
});

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('exit 0 is up, anything else down; health follows a file with rise 2 / fall 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vf-track-'));
  const flag = join(dir, 'ok');
  const changes: string[] = [];
  const ts = new TrackScripts({ log, prepare: () => ({ ok: true }), onHealth: (n, up) => changes.push(`${n}:${up ? 'up' : 'down'}`) });
  try {
    writeFileSync(flag, '');
    ts.start([spec('yes', ['/bin/true']), spec('no', ['/bin/false']), spec('file', ['/usr/bin/test', '-f', flag], { rise: 2, fall: 2 })]);
    await until(() => changes.length >= 3, 5000, 'first results');
    assert.deepEqual([...changes].sort(), ['file:up', 'no:down', 'yes:up']);
    const checksBefore = ts.status().find((s) => s.name === 'file')!.checks;
    unlinkSync(flag);
    await until(() => ts.health('file') === 'down', 5000, 'file down');
    const st = ts.status().find((s) => s.name === 'file')!;
    assert.ok(st.checks - checksBefore >= 2, `fall 2 needed two failing checks (${st.checks - checksBefore})`);
    assert.equal(st.lastExit, 1);
    writeFileSync(flag, '');
    await until(() => ts.health('file') === 'up', 5000, 'file up again');
    assert.deepEqual(
      changes.filter((c) => c.startsWith('file')),
      ['file:up', 'file:down', 'file:up'],
    );
    assert.ok(ts.status().find((s) => s.name === 'yes')!.checks >= 5, 'checks repeat every interval');
  } finally {
    ts.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a hung check fails at its timeout and its whole process group is ended; ticks meanwhile are skipped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vf-track-'));
  const pids = join(dir, 'pids');
  const script = join(dir, 'hang.sh');
  writeFileSync(script, `#!/bin/sh\nsleep 60 &\necho $! >> ${pids}\nwait\n`, { mode: 0o755 });
  const changes: string[] = [];
  const ts = new TrackScripts({ log, prepare: () => ({ ok: true }), onHealth: (n, up) => changes.push(`${n}:${up}`), killGraceMs: 200 });
  try {
    ts.start([spec('hang', [script], { intervalMs: 100, timeoutMs: 400 })]);
    await until(() => changes.length === 1, 5000, 'the timeout');
    assert.deepEqual(changes, ['hang:false']);
    const st = ts.status()[0]!;
    assert.equal(st.lastExit, 'timeout');
    assert.ok(st.timeouts >= 1 && st.skipped >= 2, JSON.stringify(st));
    await until(() => existsSync(pids), 2000, 'pid file');
    const first = Number(readFileSync(pids, 'utf8').split('\n')[0]);
    await until(() => !isAlive(first), 3000, 'the grandchild to be killed');
  } finally {
    ts.stop();
    // Kill whatever the last (still running) check started, by the PIDs it recorded.
    if (existsSync(pids)) for (const p of readFileSync(pids, 'utf8').trim().split('\n').map(Number)) if (p > 0 && isAlive(p)) process.kill(p, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a refused script (security) counts as failing and is logged once, not per check', async () => {
  const lines: string[] = [];
  const pino = (await import('pino')).default;
  const capture = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  const changes: string[] = [];
  const ts = new TrackScripts({
    log: capture,
    prepare: () => ({ ok: false, reason: 'unsafe permissions: /tmp/x writable by others' }),
    onHealth: (n, up) => changes.push(`${n}:${up}`),
  });
  try {
    ts.start([spec('refused', ['/tmp/x'])]);
    await until(() => ts.status()[0]!.checks >= 4, 3000, 'several checks');
    assert.deepEqual(changes, ['refused:false']);
    assert.equal(lines.filter((l) => l.includes('track script refused')).length, 1);
  } finally {
    ts.stop();
  }
});

test('replace (a reload changed the definition): the new one runs, keeping the health until its own results turn it', async () => {
  const changes: string[] = [];
  const ts = new TrackScripts({ log, prepare: () => ({ ok: true }), onHealth: (n, up) => changes.push(`${n}:${up ? 'up' : 'down'}`) });
  try {
    ts.start([spec('s', ['/bin/true'])]);
    await until(() => ts.health('s') === 'up', 5000, 'first result');
    // The new definition fails, but needs fall 3: the carried 'up' holds for two failures.
    ts.replace([spec('s', ['/bin/false'], { fall: 3 })]);
    assert.equal(ts.health('s'), 'up', 'health carried at once');
    await until(() => ts.status()[0]!.failures >= 2, 5000, 'two failures');
    assert.equal(ts.health('s'), 'up');
    await until(() => ts.health('s') === 'down', 5000, 'down after fall 3');
    assert.deepEqual(changes, ['s:up', 's:down']);
    assert.equal(ts.status().length, 1);
  } finally {
    ts.stop();
  }
});
