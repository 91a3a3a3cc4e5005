/**
 * The conntrackd notifier against a stand-in conntrackd (a shell script that records
 * its arguments and fails on demand): the commands of Debian's primary-backup.sh per
 * state, in order, each bounded; failures reported after every command ran.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineWorkflow, type Intent } from '../../../workflows/define.js';
import { runWorkflow } from '../../../workflows/run.js';
import { dryRunShell, zxShell } from '../../../workflows/shell.js';
import { workflowsFromConfig } from '../../../workflows/from-config.js';
import { BUILTIN_NOTIFIERS } from '../../../notifiers/builtin.js';
import { conntrackdSyncStep, roleForState, type ConntrackdOptions } from '../../../notifiers/conntrackd/index.js';
import { collector, log, setup, transitionTo } from '../../workflows/helpers.js';
import { tempDir, writeScript } from '../helpers.js';

/** A conntrackd that appends its argv to `calls` and exits with the code named in `fail-<flag>` (or sleeps with `hang-<flag>`). */
function fakeConntrackd(dir: string): string {
  return writeScript(
    join(dir, 'conntrackd'),
    `#!/bin/sh
echo "$*" >> ${dir}/calls
flag=$3
[ -f ${dir}/hang$flag ] && exec sleep 5
[ -f ${dir}/fail$flag ] && { echo "[ERROR] cannot connect to ${dir}/ctl" >&2; exit $(cat ${dir}/fail$flag); }
exit 0
`,
  );
}

async function runOn(to: 'master' | 'backup' | 'fault' | 'stopped', options: ConntrackdOptions) {
  const { src } = setup();
  const w = defineWorkflow({ name: 'ct', on: { to: ['MASTER', 'BACKUP', 'FAULT', 'STOP'] }, steps: [conntrackdSyncStep(options)] });
  return runWorkflow(w, transitionTo(src, 'VI_1', to), { runId: 'r', log, emit: collector().emit, shell: zxShell });
}

const calls = (dir: string) => (existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : []);

test('roles follow primary-backup.sh: master is primary, backup, fault; nothing for the other states', () => {
  assert.equal(roleForState('master'), 'primary');
  assert.equal(roleForState('backup'), 'backup');
  assert.equal(roleForState('fault'), 'fault');
  assert.equal(roleForState('stopped'), null);
  assert.equal(roleForState('initialize'), null);
});

test('MASTER: commit the external cache, flush, resync from the kernel, bulk send', async () => {
  const t = tempDir('vf-ctd-');
  try {
    const r = await runOn('master', { binary: fakeConntrackd(t.dir), config: '/etc/ct.conf' });
    assert.equal(r.status, 'succeeded', JSON.stringify(r.steps));
    assert.deepEqual(calls(t.dir), ['-C /etc/ct.conf -c', '-C /etc/ct.conf -f', '-C /etc/ct.conf -R', '-C /etc/ct.conf -B']);
  } finally {
    t.remove();
  }
});

test('BACKUP with conntrackd running: -s answers, then shorten timers and request a resync', async () => {
  const t = tempDir('vf-ctd-');
  try {
    const r = await runOn('backup', { binary: fakeConntrackd(t.dir), config: '/etc/ct.conf' });
    assert.equal(r.status, 'succeeded', JSON.stringify(r.steps));
    assert.deepEqual(calls(t.dir), ['-C /etc/ct.conf -s', '-C /etc/ct.conf -t', '-C /etc/ct.conf -n']);
  } finally {
    t.remove();
  }
});

test('BACKUP with conntrackd not answering: its stale lock file goes, it is started with -d, then -t and -n', async () => {
  const t = tempDir('vf-ctd-');
  try {
    writeFileSync(join(t.dir, 'fail-s'), '1');
    const lock = join(t.dir, 'conntrack.lock');
    writeFileSync(lock, '');
    const r = await runOn('backup', { binary: fakeConntrackd(t.dir), config: '/c', lockFile: lock });
    assert.equal(r.status, 'succeeded', JSON.stringify(r.steps));
    assert.deepEqual(calls(t.dir), ['-C /c -s', '-C /c -d', '-C /c -t', '-C /c -n']);
    assert.equal(existsSync(lock), false);
  } finally {
    t.remove();
  }
});

test('BACKUP when conntrackd cannot be started: the step fails saying so, and stops there like the script', async () => {
  const t = tempDir('vf-ctd-');
  try {
    writeFileSync(join(t.dir, 'fail-s'), '1');
    writeFileSync(join(t.dir, 'fail-d'), '1');
    const r = await runOn('backup', { binary: fakeConntrackd(t.dir), config: '/c' });
    assert.equal(r.status, 'failed');
    assert.match(r.steps.at(-1)!.error!, /-d failed to start conntrackd \(\[ERROR\] cannot connect/);
    assert.deepEqual(calls(t.dir), ['-C /c -s', '-C /c -d']);
  } finally {
    t.remove();
  }
});

test('FAULT: only shorten the timers; STOP: nothing', async () => {
  const t = tempDir('vf-ctd-');
  try {
    assert.equal((await runOn('fault', { binary: fakeConntrackd(t.dir), config: '/c' })).status, 'succeeded');
    assert.deepEqual(calls(t.dir), ['-C /c -t']);
    assert.equal((await runOn('stopped', { binary: fakeConntrackd(t.dir), config: '/c' })).status, 'succeeded');
    assert.deepEqual(calls(t.dir), ['-C /c -t']);
  } finally {
    t.remove();
  }
});

test('a failed commit does not stop the flush, resync and bulk send; the step then fails naming it', async () => {
  const t = tempDir('vf-ctd-');
  try {
    writeFileSync(join(t.dir, 'fail-c'), '1');
    const r = await runOn('master', { binary: fakeConntrackd(t.dir), config: '/c' });
    assert.equal(r.status, 'failed');
    assert.equal(calls(t.dir).length, 4);
    assert.match(
      r.steps[0]!.error!,
      /^conntrackd \(primary\): -c failed to commit the external cache into the kernel table \(\[ERROR\] cannot connect .*\); is conntrackd running with \/c\?$/,
    );
  } finally {
    t.remove();
  }
});

test('each command is bounded: a hanging one is killed and the rest still run', async () => {
  const t = tempDir('vf-ctd-');
  try {
    writeFileSync(join(t.dir, 'hang-f'), '');
    const t0 = Date.now();
    const r = await runOn('master', { binary: fakeConntrackd(t.dir), config: '/c', commandTimeoutMs: 300 });
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(r.status, 'failed');
    assert.match(r.steps[0]!.error!, /-f failed to flush the internal and the external caches \(killed after 300 ms\)/);
    assert.deepEqual(calls(t.dir), ['-C /c -c', '-C /c -f', '-C /c -R', '-C /c -B']);
  } finally {
    t.remove();
  }
});

test('dry run prints the runbook and runs nothing; a forced role overrides the state', async () => {
  const t = tempDir('vf-ctd-');
  try {
    const { src } = setup();
    const intents: Intent[] = [];
    const w = defineWorkflow({
      name: 'ct',
      on: { to: 'BACKUP' },
      steps: [conntrackdSyncStep({ binary: fakeConntrackd(t.dir), config: '/c', role: 'primary' })],
    });
    const r = await runWorkflow(w, transitionTo(src, 'VI_1', 'backup'), {
      runId: 'r',
      log,
      emit: collector().emit,
      shell: dryRunShell(log),
      dryRun: true,
      onIntent: (i) => intents.push(i),
    });
    assert.equal(r.status, 'succeeded');
    assert.deepEqual(calls(t.dir), []);
    assert.equal(intents[0]!.action, 'tell conntrackd this node is primary');
    assert.deepEqual(
      (intents[0]!.detail as { commands: string[] }).commands.map((c) => c.split(' ').slice(1).join(' ')),
      ['-C /c -c', '-C /c -f', '-C /c -R', '-C /c -B'],
    );
  } finally {
    t.remove();
  }
});

test('config-declared: `uses: conntrackd.sync` with its options checked against the schema', async () => {
  const ok = await workflowsFromConfig(
    [
      {
        name: 'ct',
        on: { to: ['MASTER', 'BACKUP', 'FAULT'] },
        steps: [{ uses: 'conntrackd.sync', with: { config: '/etc/conntrackd/conntrackd.conf', commandTimeoutMs: 3000 } }],
      },
    ] as never,
    BUILTIN_NOTIFIERS,
  );
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.workflows[0]!.steps[0]!.name, 'conntrackd.sync');
  assert.equal(ok.workflows[0]!.steps[0]!.timeoutMs, 4 * 3000 + 1000);
  const bad = await workflowsFromConfig(
    [{ name: 'ct', on: { to: 'MASTER' }, steps: [{ uses: 'conntrackd.sync', with: { role: 'master' } }] }] as never,
    BUILTIN_NOTIFIERS,
  );
  assert.match(bad.errors[0]!, /steps\[0\] \(conntrackd\.sync\): with\.role: /);
});
