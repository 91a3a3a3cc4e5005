/** core/journal-level.ts: the `<N>` prefix journald reads, and when stdout is the journal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

test('a process whose stdout is the stream JOURNAL_STREAM names logs with <N> prefixes; redirected elsewhere, plain JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vf-journal-'));
  try {
    const logger = new URL('../../core/logger.js', import.meta.url).href;
    const script = `import { createLogger } from ${JSON.stringify(logger)}; const l = createLogger({ level: 'info' }); l.info('i'); l.warn('w'); l.error('e');`;
    /** The script's stdout lines, with JOURNAL_STREAM set to `journalStream` (default: that very file). */
    const runWith = (journalStream?: string) => {
      const file = join(dir, `out-${Math.random()}`);
      const fd = openSync(file, 'w');
      const st = fstatSync(fd);
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', fd, 'pipe'],
        env: { ...process.env, JOURNAL_STREAM: journalStream ?? `${st.dev}:${st.ino}` },
        timeout: 10_000,
      });
      closeSync(fd);
      assert.equal(r.status, 0, r.stderr?.toString());
      return readFileSync(file, 'utf8').trim().split('\n');
    };
    const journal = runWith();
    assert.deepEqual(
      journal.map((l) => l.slice(0, 3)),
      ['<6>', '<4>', '<3>'],
    );
    assert.equal(JSON.parse(journal[1]!.slice(3)).msg, 'w', 'the rest of the line is the JSON');
    const elsewhere = runWith('1:2');
    assert.ok(
      elsewhere.every((l) => l.startsWith('{')),
      elsewhere.join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
