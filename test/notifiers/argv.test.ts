import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fifoLine, invocationsFor, notifyStateOf, splitCommandLine } from '../../notifiers/keepalived-notify/argv.js';

test('command lines split like keepalived: blanks, quotes, backslashes, no shell', () => {
  assert.deepEqual(splitCommandLine('/bin/n.sh a  b\tc'), { ok: true, argv: ['/bin/n.sh', 'a', 'b', 'c'] });
  assert.deepEqual(splitCommandLine(`/n "two words" 'single $HOME' a\\ b`), { ok: true, argv: ['/n', 'two words', 'single $HOME', 'a b'] });
  assert.deepEqual(splitCommandLine('/n "say \\"hi\\""'), { ok: true, argv: ['/n', 'say "hi"'] });
  assert.deepEqual(splitCommandLine('/n "" x'), { ok: true, argv: ['/n', '', 'x'] });
  assert.deepEqual(splitCommandLine('/n $(rm -rf /) ; x | y'), { ok: true, argv: ['/n', '$(rm', '-rf', '/)', ';', 'x', '|', 'y'] });
  assert.equal(splitCommandLine('/n "open').ok, false);
  assert.equal(splitCommandLine('   ').ok, false);
});

test('state script first with its own args, then the generic notify with INSTANCE name STATE priority', () => {
  const notify = {
    master: { command: '/etc/k/master.sh --up "VI 1"' },
    backup: { command: '/etc/k/backup.sh' },
    any: { command: '/etc/k/any.sh x', user: 'nobody' },
  };
  const r = invocationsFor(notify, { target: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 150 });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.invocations.map((i) => [i.hook, i.argv]),
    [
      ['notify_master', ['/etc/k/master.sh', '--up', 'VI 1']],
      ['notify', ['/etc/k/any.sh', 'x', 'INSTANCE', 'VI_1', 'MASTER', '150']],
    ],
  );
  assert.equal(r.invocations[1]?.script.user, 'nobody');
  const stop = invocationsFor(notify, { target: 'INSTANCE', name: 'VI_1', state: 'STOP', priority: 0 });
  assert.deepEqual(
    stop.invocations.map((i) => i.argv),
    [['/etc/k/any.sh', 'x', 'INSTANCE', 'VI_1', 'STOP', '0']],
  );
  const bad = invocationsFor({ fault: { command: '/x "unterminated' } }, { target: 'INSTANCE', name: 'V', state: 'FAULT', priority: 0 });
  assert.equal(bad.invocations.length, 0);
  assert.equal(bad.errors[0]?.hook, 'notify_fault');
});

test('FIFO line format and state words', () => {
  assert.equal(fifoLine({ target: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 100 }), 'INSTANCE "VI_1" MASTER 100\n');
  assert.equal(fifoLine({ target: 'GROUP', name: 'G', state: 'BACKUP', priority: 0 }), 'GROUP "G" BACKUP 0\n');
  assert.deepEqual((['initialize', 'backup', 'master', 'fault', 'stopped'] as const).map(notifyStateOf), [null, 'BACKUP', 'MASTER', 'FAULT', 'STOP']);
});
