/** core/journal-level.ts: the `<N>` prefix journald reads, and when stdout is the journal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { stdoutIsJournal, syslogPriority, withSyslogPrefix } from '../../core/journal-level.js';

test('pino levels map to syslog priorities', () => {
  assert.deepEqual([10, 20, 30, 40, 50, 60].map(syslogPriority), [7, 7, 6, 4, 3, 2]);
  assert.equal(withSyslogPrefix('{"level":40,"msg":"x"}\n'), '<4>{"level":40,"msg":"x"}\n');
  assert.equal(withSyslogPrefix('not json\n'), 'not json\n');
});

test('a pino logger with the hook writes each line with its level', () => {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      out += chunk.toString();
      done();
    },
  });
  const log = pino({ level: 'debug', hooks: { streamWrite: withSyslogPrefix } }, sink);
  log.debug('d');
  log.info('i');
  log.warn('w');
  log.error('e');
  log.fatal('f');
  assert.deepEqual(
    out
      .trim()
      .split('\n')
      .map((l) => l.slice(0, 3)),
    ['<7>', '<6>', '<4>', '<3>', '<2>'],
  );
});

test('stdout is the journal only when JOURNAL_STREAM names its device and inode', () => {
  const stat = () => ({ dev: 25, ino: 4711 });
  assert.equal(stdoutIsJournal('25:4711', stat), true);
  assert.equal(stdoutIsJournal('25:4712', stat), false, 'redirected elsewhere');
  assert.equal(stdoutIsJournal(undefined, stat), false);
  assert.equal(stdoutIsJournal('garbage', stat), false);
  assert.equal(
    stdoutIsJournal('25:4711', () => {
      throw new Error('EBADF');
    }),
    false,
  );
});
