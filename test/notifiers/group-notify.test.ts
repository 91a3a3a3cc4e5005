// Sync group notify hooks: starts real child processes (/bin/sh) from a temp dir and a FIFO; no network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, existsSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { KeepalivedNotifier } from '../../notifiers/keepalived-notify/notifier.js';
import type { Job, JobOutcome } from '../../infra/scripts/runner.js';
import { recordingLogger, tempDir, waitFor, writeScript } from './helpers.js';

test("group transitions run the group's notify_* and notify scripts with keepalived's arguments and write GROUP lines to notify_fifo", async () => {
  const { dir, remove } = tempDir('group');
  try {
    const log = join(dir, 'calls.log');
    const script = writeScript(join(dir, 'hook.sh'), `echo "$*" >> ${log}`);
    const fifo = join(dir, 'notify.fifo');
    const path = join(dir, 'keepalived.conf');
    const instance = (n: number) =>
      [
        `vrrp_instance VI_${n} {`,
        '  interface eth0',
        `  virtual_router_id ${n}`,
        '  priority 100',
        '  virtual_ipaddress {',
        `    198.18.190.${n}/24`,
        '  }',
        '}',
      ].join('\n');
    writeFileSync(
      path,
      [
        'global_defs {',
        `  notify_fifo ${fifo}`,
        '}',
        instance(1),
        instance(2),
        'vrrp_sync_group G1 {',
        '  group {',
        '    VI_1',
        '    VI_2',
        '  }',
        `  notify_master "${script} own-master x"`,
        `  notify_fault "${script} own-fault"`,
        `  notify ${script}`,
        '}',
        '',
      ].join('\n'),
    );
    const loaded = await loadConfig(path);
    assert.ok(loaded.model, JSON.stringify(loaded.diagnostics));
    const config = loaded.model;
    const done: { job: Job; outcome: JobOutcome }[] = [];
    const notifier = new KeepalivedNotifier({
      log: recordingLogger().log,
      config: () => config,
      timeoutMs: 5000,
      onDone: (job, outcome) => done.push({ job, outcome }),
    });
    notifier.groupTransition('G1', 'master');
    notifier.groupTransition('G1', 'fault');
    notifier.groupTransition('G1', 'backup');
    notifier.groupTransition('G1', 'initialize'); // keepalived never notifies INIT
    assert.ok(await waitFor(() => done.length >= 5, 5000), `5 programs ran: ${JSON.stringify(done.map((d) => d.job.argv))}`);
    // Per group, in order: the state's own script with only its own arguments, then
    // `notify` with GROUP, the name, the state and priority 0 (keepalived's send_group_notifies).
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['own-master x', 'GROUP G1 MASTER 0', 'own-fault', 'GROUP G1 FAULT 0', 'GROUP G1 BACKUP 0']);
    const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, null);
    closeSync(fd);
    assert.deepEqual(buf.subarray(0, n).toString().split('\n').filter(Boolean), ['GROUP "G1" MASTER 0', 'GROUP "G1" FAULT 0', 'GROUP "G1" BACKUP 0']);
    // An unknown group still gets its FIFO line but runs nothing.
    notifier.groupTransition('nope', 'master');
    await notifier.close(1000);
    assert.equal(done.length, 5);
    assert.ok(!existsSync(fifo));
  } finally {
    remove();
  }
});
