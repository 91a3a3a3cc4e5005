// Pure parts of the nginx notifier: argv, /proc parsing, the generation decision, options.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkGeneration,
  healthAccepted,
  nginxArgv,
  nginxReloadStep,
  parsePidFile,
  parseProcStat,
  testFailureText,
  workerFromCmdline,
} from '../../../notifiers/nginx/index.js';

describe('nginx notifier: pure parts', () => {
  test('argv carries the instance flags before the action', () => {
    assert.deepEqual(nginxArgv({ config: '/x/n.conf', prefix: '/x', globals: 'pid /x/p;' }, ['-t', '-q']), [
      '-c',
      '/x/n.conf',
      '-p',
      '/x',
      '-g',
      'pid /x/p;',
      '-t',
      '-q',
    ]);
    assert.deepEqual(nginxArgv({}, ['-t']), ['-t']);
  });

  test('pid files', () => {
    assert.equal(parsePidFile('1234\n'), 1234);
    assert.equal(parsePidFile(''), null);
    assert.equal(parsePidFile('0'), null);
    assert.equal(parsePidFile('12 34'), null);
    assert.equal(parsePidFile('-5'), null);
  });

  test('/proc stat: parent PID found after a comm holding spaces and parentheses', () => {
    assert.deepEqual(parseProcStat('4242 (nginx) S 4241 4241 4241 0 -1 4194624 ...'), { pid: 4242, comm: 'nginx', ppid: 4241 });
    assert.deepEqual(parseProcStat('77 (a b) (c)) R 1 77 77'), { pid: 77, comm: 'a b) (c)', ppid: 1 });
    assert.equal(parseProcStat('garbage'), null);
    assert.equal(parseProcStat('12 (x) S'), null);
  });

  test('workers are told from other children by their title', () => {
    assert.deepEqual(workerFromCmdline(5, 'nginx: worker process\0\0\0'), { pid: 5, shuttingDown: false });
    assert.deepEqual(workerFromCmdline(6, 'nginx: worker process is shutting down\0'), { pid: 6, shuttingDown: true });
    assert.equal(workerFromCmdline(7, 'nginx: cache manager process\0'), null);
    assert.equal(workerFromCmdline(8, ''), null);
  });

  test('a new generation needs fresh workers and no old worker still taking requests', () => {
    const before = [10, 11];
    assert.deepEqual(
      checkGeneration(before, [
        { pid: 10, shuttingDown: false },
        { pid: 11, shuttingDown: false },
      ]),
      { changed: false, fresh: [], lingering: [10, 11] },
    );
    // Reload refused by the master: same workers, nothing fresh.
    assert.equal(checkGeneration(before, [{ pid: 10, shuttingDown: false }]).changed, false);
    // New workers started but the old ones not yet asked to stop.
    assert.deepEqual(
      checkGeneration(before, [
        { pid: 10, shuttingDown: false },
        { pid: 20, shuttingDown: false },
      ]),
      { changed: false, fresh: [20], lingering: [10] },
    );
    // Old ones draining, or gone.
    assert.equal(
      checkGeneration(before, [
        { pid: 10, shuttingDown: true },
        { pid: 20, shuttingDown: false },
      ]).changed,
      true,
    );
    assert.deepEqual(
      checkGeneration(before, [
        { pid: 20, shuttingDown: false },
        { pid: 21, shuttingDown: false },
      ]),
      { changed: true, fresh: [20, 21], lingering: [] },
    );
    // Everything gone (master between generations) is not a new generation yet.
    assert.equal(checkGeneration(before, []).changed, false);
  });

  test("nginx -t's own message is kept, on one line, bounded", () => {
    const stderr = 'nginx: [emerg] unknown directive "bogus" in /etc/nginx/nginx.conf:12\nnginx: configuration file /etc/nginx/nginx.conf test failed\n';
    assert.equal(
      testFailureText(stderr),
      'nginx: [emerg] unknown directive "bogus" in /etc/nginx/nginx.conf:12; nginx: configuration file /etc/nginx/nginx.conf test failed',
    );
    assert.equal(testFailureText('x'.repeat(5000), '', 100).length, 100);
  });

  test('health answers', () => {
    assert.equal(healthAccepted(200, 'v2', {}), true);
    assert.equal(healthAccepted(204, '', {}), true);
    assert.equal(healthAccepted(302, '', {}), false);
    assert.equal(healthAccepted(302, '', { expectStatus: [302] }), true);
    assert.equal(healthAccepted(200, 'v1', { expectBody: 'v2' }), false);
  });

  test('the step factory validates options and names the bad field', () => {
    assert.throws(() => nginxReloadStep({ healthUrl: 'ftp://x/' }), /option 'healthUrl'/);
    assert.throws(() => nginxReloadStep({ verifyTimeoutMs: 0 }), /option 'verifyTimeoutMs'/);
    assert.throws(() => nginxReloadStep({ pidfile: '/x' } as never), /pidfile/);
    const s = nginxReloadStep({ pidFile: '/run/nginx.pid', verifyTimeoutMs: 2000, testTimeoutMs: 1000 });
    assert.equal(s.name, 'nginx-reload');
    assert.equal(s.timeoutMs, 4000);
    assert.equal(nginxReloadStep({}, { name: 'lb', timeoutMs: 5 }).timeoutMs, 5);
  });
});
