// Starts real child processes (/bin/sh, sleep) from temp dirs; no network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScriptRunner, type Job, type JobOutcome } from '../../../infra/scripts/runner.js';
import { recordingLogger, tempDir, waitFor, writeScript } from '../../notifiers/helpers.js';
import { isAlive } from '../../../lab/run.js';

test('a hanging script is killed at its timeout with its children, then the next queued one runs', async () => {
  const { dir, remove } = tempDir('hang');
  const { log, records } = recordingLogger();
  const done: { job: Job; outcome: JobOutcome; at: number }[] = [];
  const runner = new ScriptRunner({ log, timeoutMs: 400, onDone: (job, outcome) => done.push({ job, outcome, at: performance.now() }) });
  try {
    const hang = writeScript(join(dir, 'hang.sh'), `sleep 30 &\necho $! > ${dir}/child.pid\nsleep 30`);
    const next = writeScript(join(dir, 'next.sh'), `echo ran > ${dir}/next.out`);
    const t0 = performance.now();
    runner.enqueue('VI_1', { argv: [hang], context: { n: 1 } });
    runner.enqueue('VI_1', { argv: [next], context: { n: 2 } });
    assert.equal(runner.pending(), 2);
    assert.ok(await waitFor(() => done.length === 2, 5000), 'both jobs end');
    const [first, second] = done;
    assert.equal(first?.outcome.timedOut, true);
    assert.equal(first?.outcome.signal, 'SIGKILL');
    assert.ok(first.at - t0 >= 390 && first.at - t0 < 2000, `killed at ~400 ms, not ${first.at - t0}`);
    const childPid = Number(readFileSync(join(dir, 'child.pid'), 'utf8'));
    assert.ok(await waitFor(() => !isAlive(childPid), 2000), 'the background child died with the group');
    assert.equal(second?.outcome.exitCode, 0);
    assert.equal(readFileSync(join(dir, 'next.out'), 'utf8'), 'ran\n');
    assert.ok(records.some((r) => r.msg === 'notify script timed out: killing its process group'));
    assert.equal(runner.pending(), 0);
  } finally {
    await runner.close(1000);
    remove();
  }
});

test('one queue runs in order without overlap; another queue runs alongside', async () => {
  const { dir, remove } = tempDir('order');
  const { log } = recordingLogger();
  let ended = 0;
  const runner = new ScriptRunner({ log, timeoutMs: 5000, onDone: () => ended++ });
  try {
    const step = writeScript(
      join(dir, 'step.sh'),
      `echo "start $1" >> ${dir}/$2.log\necho "start $1" >> ${dir}/all.log\nsleep 0.1\necho "end $1" >> ${dir}/$2.log\necho "end $1" >> ${dir}/all.log`,
    );
    for (let i = 0; i < 5; i++) runner.enqueue('A', { argv: [step, String(i), 'A'] });
    runner.enqueue('B', { argv: [writeScript(join(dir, 'slowB.sh'), 'sleep 0.05'), 'x'] });
    runner.enqueue('B', { argv: [step, 'b', 'B'] });
    assert.ok(await waitFor(() => ended === 7, 5000));
    const lines = readFileSync(join(dir, 'A.log'), 'utf8').trim().split('\n');
    assert.deepEqual(
      lines,
      [0, 1, 2, 3, 4].flatMap((i) => [`start ${i}`, `end ${i}`]),
    );
    assert.deepEqual(readFileSync(join(dir, 'B.log'), 'utf8').trim().split('\n'), ['start b', 'end b']);
    // B waited only for its own first job (~50 ms), not for A's five (>= 500 ms of sleeps).
    const all = readFileSync(join(dir, 'all.log'), 'utf8').trim().split('\n');
    assert.ok(all.indexOf('start b') < all.indexOf('end 2'), all.join(','));
  } finally {
    await runner.close(1000);
    remove();
  }
});

test('stdout and stderr reach the log line by line with the exit code; a missing program is logged, not thrown', async () => {
  const { dir, remove } = tempDir('out');
  const { log, records } = recordingLogger();
  const outcomes: JobOutcome[] = [];
  const runner = new ScriptRunner({ log, timeoutMs: 5000, onDone: (_j, o) => outcomes.push(o) });
  try {
    const s = writeScript(join(dir, 'talk.sh'), 'echo one\necho two\necho oops >&2\nexit 3');
    runner.enqueue('VI_1', { argv: [s], context: { instance: 'VI_1' } });
    runner.enqueue('VI_1', { argv: [join(dir, 'missing.sh')] });
    runner.enqueue('VI_1', { argv: [s], prepare: () => ({ ok: false, reason: 'nope' }) });
    assert.ok(await waitFor(() => outcomes.length === 3, 5000));
    const out = records.filter((r) => r.msg === 'notify script output');
    assert.deepEqual(
      out.filter((r) => r['stream'] === 'stdout').map((r) => r['line']),
      ['one', 'two'],
    );
    assert.deepEqual(
      out.filter((r) => r['stream'] === 'stderr').map((r) => r['line']),
      ['oops'],
    );
    assert.equal(out[0]?.['instance'], 'VI_1');
    const failed = records.find((r) => r.msg === 'notify script failed');
    assert.equal(failed?.['exitCode'], 3);
    assert.equal(outcomes[0]?.exitCode, 3);
    assert.match(outcomes[1]?.refused ?? '', /ENOENT/);
    assert.equal(outcomes[2]?.refused, 'nope');
  } finally {
    await runner.close(1000);
    remove();
  }
});

test('close lets queued scripts finish within the grace, then kills the rest', async () => {
  const { dir, remove } = tempDir('close');
  const { log } = recordingLogger();
  const runner = new ScriptRunner({ log, timeoutMs: 60_000 });
  try {
    const quick = writeScript(join(dir, 'q.sh'), `echo ok > ${dir}/q.out`);
    runner.enqueue('A', { argv: [quick] });
    await runner.close(2000);
    assert.equal(readFileSync(join(dir, 'q.out'), 'utf8'), 'ok\n');
    const r2 = new ScriptRunner({ log, timeoutMs: 60_000 });
    r2.enqueue('A', { argv: ['/bin/sleep', '30'] });
    r2.enqueue('A', { argv: [quick] });
    const t0 = performance.now();
    await r2.close(200);
    assert.ok(performance.now() - t0 < 1500);
    assert.ok(await waitFor(() => r2.pending() === 0, 2000), 'the killed script is reaped');
    r2.enqueue('A', { argv: [quick] });
    assert.equal(r2.pending(), 0, 'nothing accepted after close');
  } finally {
    remove();
  }
});
