// Starts real child processes (/bin/sh) as root and as nobody from temp dirs; no network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, closeSync, constants, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import type { VipflowConfig } from '../../config/model.js';
import type { TransitionRecord } from '../../actors/vrrp/types.js';
import { KeepalivedNotifier } from '../../notifiers/keepalived-notify/notifier.js';
import type { Job, JobOutcome } from '../../infra/scripts/runner.js';
import { recordingLogger, tempDir, waitFor, writeScript } from './helpers.js';

async function configFrom(dir: string, globalDefs: string[], notify: string[]): Promise<VipflowConfig> {
  const path = join(dir, 'keepalived.conf');
  writeFileSync(
    path,
    [
      'global_defs {',
      ...globalDefs.map((l) => `  ${l}`),
      '}',
      'vrrp_instance VI_1 {',
      '  state BACKUP',
      '  interface eth0',
      '  virtual_router_id 51',
      '  priority 100',
      '  advert_int 1',
      '  virtual_ipaddress {',
      '    198.18.160.100/24',
      '  }',
      ...notify.map((l) => `  ${l}`),
      '}',
      '',
    ].join('\n'),
  );
  const loaded = await loadConfig(path);
  assert.ok(loaded.model, JSON.stringify(loaded.diagnostics));
  return loaded.model;
}

function transition(to: TransitionRecord['to'], from: TransitionRecord['from'] = 'backup', priority = 100): TransitionRecord {
  return {
    instance: 'VI_1',
    vrid: 51,
    family: 'ipv4',
    interface: 'eth0',
    from,
    to,
    reason: 'test',
    effectivePriority: priority,
    basePriority: priority,
    masterSeen: null,
    advertIntervalCs: 100,
    at: performance.now(),
  };
}

function notifierFor(config: VipflowConfig) {
  const { log, records } = recordingLogger();
  const done: { job: Job; outcome: JobOutcome }[] = [];
  const notifier = new KeepalivedNotifier({ log, config: () => config, timeoutMs: 5000, onDone: (job, outcome) => done.push({ job, outcome }) });
  return { notifier, records, done };
}

test("script_user nobody: the scripts run as uid 65534 without root's groups and write into a dir nobody owns", async () => {
  const { dir, remove } = tempDir('user');
  try {
    chmodSync(dir, 0o755);
    const out = join(dir, 'out');
    mkdirSync(out);
    chownSync(out, 65534, 65534);
    const script = writeScript(join(dir, 'who.sh'), `echo "$(id -u):$(id -g):$(id -G) $*" >> ${out}/who.log`);
    const config = await configFrom(dir, ['script_user nobody', 'enable_script_security'], [`notify_master "${script} m"`, `notify ${script}`]);
    const { notifier, done, records } = notifierFor(config);
    notifier.transition(transition('master'));
    assert.ok(await waitFor(() => done.length === 2, 5000), JSON.stringify(records.slice(-3)));
    assert.deepEqual(
      readFileSync(join(out, 'who.log'), 'utf8').trim().split('\n'),
      ['65534:65534:65534 m', '65534:65534:65534 INSTANCE VI_1 MASTER 100'],
      'uid, gid, and no supplementary group of root',
    );
    assert.equal(statSync(join(out, 'who.log')).uid, 65534);
    await notifier.close(1000);
  } finally {
    remove();
  }
});

test('enable_script_security refuses a world-writable script and one in a world-writable dir, naming the file; runs a safe one', async () => {
  const { dir, remove } = tempDir('sec');
  try {
    chmodSync(dir, 0o755);
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const writable = writeScript(join(dir, 'writable.sh'), `echo w >> ${dir}/ran.log`, 0o777);
    const inOpenDir = writeScript(join(open, 'safe-file.sh'), `echo d >> ${dir}/ran.log`, 0o755);
    const safe = writeScript(join(dir, 'safe.sh'), `echo s >> ${dir}/ran.log`, 0o755);
    const config = await configFrom(
      dir,
      ['script_user root', 'enable_script_security'],
      [`notify_backup ${writable}`, `notify_master ${inOpenDir}`, `notify_fault ${safe}`],
    );
    const { notifier, done, records } = notifierFor(config);
    notifier.transition(transition('backup', 'initialize'));
    notifier.transition(transition('master'));
    notifier.transition(transition('fault', 'master'));
    assert.ok(await waitFor(() => done.length === 3, 5000));
    assert.equal(readFileSync(join(dir, 'ran.log'), 'utf8'), 's\n');
    const refusals = records.filter((r) => r.msg === 'notify script refused').map((r) => String(r['reason']));
    assert.equal(refusals.length, 2);
    assert.match(refusals[0]!, new RegExp(`${writable} writable by everybody`));
    assert.match(refusals[1]!, new RegExp(`${open} writable by everybody`));
    await notifier.close(1000);
  } finally {
    remove();
  }
});

test('script_user nobody: an ordinary script in a world-writable dir runs, a set-uid root one there is refused', async () => {
  const { dir, remove } = tempDir('suid');
  try {
    chmodSync(dir, 0o755);
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const out = join(dir, 'out');
    mkdirSync(out);
    chownSync(out, 65534, 65534);
    const plain = writeScript(join(open, 'plain.sh'), `echo p >> ${out}/ran.log`, 0o755);
    const suid = writeScript(join(open, 'suid.sh'), `echo s >> ${out}/ran.log`, 0o4755);
    const config = await configFrom(dir, ['script_user nobody', 'enable_script_security'], [`notify_master ${plain}`, `notify_backup ${suid}`]);
    const { notifier, done, records } = notifierFor(config);
    notifier.transition(transition('master'));
    notifier.transition(transition('backup', 'master'));
    assert.ok(await waitFor(() => done.length === 2, 5000));
    assert.equal(readFileSync(join(out, 'ran.log'), 'utf8'), 'p\n', 'only the plain script ran: as nobody it can do no more than nobody');
    const refused = records.find((r) => r.msg === 'notify script refused');
    assert.match(String(refused?.['reason']), new RegExp(`${open} writable by everybody`));
    await notifier.close(1000);
  } finally {
    remove();
  }
});

test('without enable_script_security an unsafe root script runs, with a warning naming it', async () => {
  const { dir, remove } = tempDir('nosec');
  try {
    chmodSync(dir, 0o755);
    const writable = writeScript(join(dir, 'writable.sh'), `echo w >> ${dir}/ran.log`, 0o777);
    const config = await configFrom(dir, ['script_user root'], [`notify_master ${writable}`]);
    const { notifier, done, records } = notifierFor(config);
    notifier.transition(transition('master'));
    assert.ok(await waitFor(() => done.length === 1, 5000));
    assert.equal(readFileSync(join(dir, 'ran.log'), 'utf8'), 'w\n');
    assert.ok(records.some((r) => r['file'] === writable && /unsafe permissions/.test(r.msg)));
    await notifier.close(1000);
  } finally {
    remove();
  }
});

test('notify_fifo: keepalived line format; with no reader writes never block and a full pipe drops lines', async () => {
  const { dir, remove } = tempDir('fifo');
  try {
    const fifo = join(dir, 'notify.fifo');
    const config = await configFrom(dir, [`notify_fifo ${fifo}`], []);
    const { notifier } = notifierFor(config);
    assert.ok(statSync(fifo).isFIFO());
    // No reader: fill the pipe (64 KiB by default) well past its size; each call must return at once.
    const t0 = performance.now();
    for (let i = 0; i < 5000; i++) notifier.transition(transition(i % 2 ? 'master' : 'backup'));
    const took = performance.now() - t0;
    const [stats] = notifier.fifoStats();
    assert.ok(stats && stats.dropped > 0 && stats.written > 0, JSON.stringify(stats));
    assert.ok(took < 2000, `5000 transitions took ${took} ms`);
    console.log(`# notifier.transition with a full FIFO and no scripts: ${((took / 5000) * 1000).toFixed(1)} us per call`);
    // A reader sees whole lines in keepalived's format.
    const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, null);
    closeSync(fd);
    const lines = buf.subarray(0, n).toString().split('\n');
    assert.equal(lines[0], 'INSTANCE "VI_1" BACKUP 100');
    assert.equal(lines[1], 'INSTANCE "VI_1" MASTER 100');
    await notifier.close(100);
    assert.throws(() => statSync(fifo), /ENOENT/, 'the FIFO we created is removed at close');
  } finally {
    remove();
  }
});
