// Real network: two `vipflow run` daemons (nodes a and b) on a namespace lab,
// each with notify_master / notify_backup / notify_stop and the generic notify
// script writing to a file. Starts: a namespace lab, two vipflow daemons, the scripts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, closeSync, constants, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { createLab, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { startVipflow, type VipflowDaemon } from '../../lab/vipflow.js';
import { waitFor } from './helpers.js';

const logger = silentLogger();
const PREFIX = 'vfnt';
const SUBNET = 160;
const VIP = `198.18.${SUBNET}.100`;

function conf(node: string, priority: number, scripts: string): string {
  const note = join(scripts, 'note.sh');
  return [
    'global_defs {',
    `  router_id ${node}`,
    '  script_user root',
    '  enable_script_security',
    `  notify_fifo ${join(scripts, `${node}.fifo`)}`,
    '}',
    'vrrp_instance VI_nt {',
    '  state BACKUP',
    '  interface eth0',
    '  virtual_router_id 60',
    '  version 3',
    `  priority ${priority}`,
    '  advert_int 0.1',
    '  virtual_ipaddress {',
    `    ${VIP}/24`,
    '  }',
    `  notify_master "${note} ${node} master"`,
    `  notify_backup "${note} ${node} backup"`,
    `  notify_stop "${note} ${node} stop"`,
    `  notify "${note} ${node} any"`,
    '}',
    '',
  ].join('\n');
}

/** Lines `<epoch ns> <args...>` the script appended for `node`. */
function notes(scripts: string, node: string): { ns: bigint; args: string }[] {
  let text = '';
  try {
    text = readFileSync(join(scripts, `${node}.log`), 'utf8');
  } catch {
    return [];
  }
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const sp = l.indexOf(' ');
      return { ns: BigInt(l.slice(0, sp)), args: l.slice(sp + 1) };
    });
}

describe('notify scripts on two vipflow daemons', () => {
  let lab: Lab;
  let scripts: string;
  const daemons: VipflowDaemon[] = [];

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a', 'b'], subnet: SUBNET, ipv6: false, logger });
    scripts = join(lab.dir, 'scripts');
    mkdirSync(scripts, { mode: 0o755 });
    // $1 names the node, so each daemon writes its own file.
    writeFileSync(join(scripts, 'note.sh'), `#!/bin/sh\nnode=$1\nshift\necho "$(date +%s%N) $*" >> ${scripts}/$node.log\n`);
    chmodSync(join(scripts, 'note.sh'), 0o755);
  });
  after(async () => {
    for (const d of daemons) await d.kill();
    await lab?.destroy();
  });

  test('after a failover the scripts ran with keepalived arguments on both nodes', async () => {
    const a = await startVipflow(lab, 'a', 'a', conf('a', 150, scripts));
    daemons.push(a);
    assert.ok(await a.waitForState('master', 3000), 'a becomes Master');
    const b = await startVipflow(lab, 'b', 'b', conf('b', 100, scripts));
    daemons.push(b);
    assert.ok(await b.waitForState('backup', 3000), 'b is Backup');
    assert.ok(await waitFor(() => notes(scripts, 'b').length >= 2, 3000), 'b ran its backup scripts');

    const mark = b.transitions.length;
    a.signal('SIGTERM');
    assert.ok(await b.waitForState('master', 3000, mark), 'b takes over');
    assert.notEqual(await a.stop(8000), undefined, 'a exits');
    assert.ok(await waitFor(() => notes(scripts, 'b').length >= 4, 3000), 'b ran its master scripts');

    const aArgs = notes(scripts, 'a').map((n) => n.args);
    assert.deepEqual(aArgs.slice(0, 4), ['backup', 'any INSTANCE VI_nt BACKUP 150', 'master', 'any INSTANCE VI_nt MASTER 150']);
    assert.equal(aArgs[4], 'stop', 'notify_stop ran at shutdown, before the daemon exited');
    assert.match(aArgs[5] ?? '', /^any INSTANCE VI_nt STOP \d+$/);
    assert.equal(aArgs.length, 6);
    const bArgs = notes(scripts, 'b').map((n) => n.args);
    assert.deepEqual(bArgs, ['backup', 'any INSTANCE VI_nt BACKUP 100', 'master', 'any INSTANCE VI_nt MASTER 100']);

    // The FIFO got keepalived's lines; the daemon's status counts them.
    const status = await b.status();
    assert.deepEqual(
      status.notify?.fifos.map((f) => [f.written, f.dropped]),
      [[2, 0]],
    );
    assert.equal(status.notify?.pending, 0);
    const fd = openSync(join(scripts, 'b.fifo'), constants.O_RDONLY | constants.O_NONBLOCK);
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, null);
    closeSync(fd);
    assert.equal(buf.subarray(0, n).toString(), 'INSTANCE "VI_nt" BACKUP 100\nINSTANCE "VI_nt" MASTER 100\n');

    // Transition -> script start: the daemon's transition log line (ms) to the script's first action (ns).
    const logged = b.lines.find((l) => l.to === 'master' && l.instance === 'VI_nt' && typeof l.from === 'string');
    assert.ok(logged, 'b logged its transition to master');
    const loggedMs = typeof logged.time === 'number' ? logged.time : Date.parse(logged.time);
    const bNotes = notes(scripts, 'b');
    const toStart = (i: number) => Number(bNotes[i]!.ns / 1000n) / 1000 - loggedMs;
    console.log(`# transition -> notify_master running: ${toStart(2).toFixed(1)} ms; -> generic notify running: ${toStart(3).toFixed(1)} ms`);
    assert.ok(toStart(2) > -2 && toStart(2) < 1000, `notify_master started ${toStart(2)} ms after the transition`);
  });
});
