// Real network: a vrrp_sync_group of two instances (VRIDs 41 and 42, VRRPv3,
// 100 ms adverts) on a vipflow node `v` and a keepalived 2.2.7 node `k`.
// VI_1 tracks a second interface dum1; taking it down on the Master's node
// must move both VRIDs to the peer, and bringing it back must let the
// preempting node take both back, each way round. Group notify scripts run
// on both sides and their arguments are compared.
// Starts: a namespace lab, vipflow daemons, keepalived, /bin/sh notify scripts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, startKeepalived, sweepStaleLabs, type KeepalivedProcess, type Lab } from '../../lab/index.js';
import { holders, startVipflow, waitForHolder, type VipflowDaemon } from '../../lab/vipflow.js';

const logger = silentLogger();
const PREFIX = 'vfsg';
const SUBNET = 190;
const NODES = ['v', 'k'] as const;
const VIPS = [`198.18.${SUBNET}.141`, `198.18.${SUBNET}.142`];
// 100 ms adverts: Master_Down_Interval is under 0.4 s; the bounds leave room for a loaded 2-core machine.
const MOVE_MS = 4000;

function conf(node: string, priority: number, scripts: string): string {
  const note = join(scripts, 'note.sh');
  const instance = (n: number) => [
    `vrrp_instance VI_${n} {`,
    '  state BACKUP',
    '  interface eth0',
    `  virtual_router_id ${40 + n}`,
    '  version 3',
    `  priority ${priority}`,
    '  advert_int 0.1',
    ...(n === 1 ? ['  track_interface {', '    dum1', '  }'] : []),
    '  virtual_ipaddress {',
    `    ${VIPS[n - 1]}/24`,
    '  }',
    '}',
  ];
  return [
    'global_defs {',
    `  router_id ${node}`,
    '  script_user root',
    '  enable_script_security',
    '}',
    ...instance(1),
    ...instance(2),
    'vrrp_sync_group G {',
    '  group {',
    '    VI_1',
    '    VI_2',
    '  }',
    `  notify_master "${note} ${node} master"`,
    `  notify_fault "${note} ${node} fault"`,
    `  notify "${note} ${node} any"`,
    '}',
    '',
  ].join('\n');
}

/** The argument lines the notify script wrote for `node` (its first argument). */
function notes(scripts: string, node: string): string[] {
  try {
    return readFileSync(join(scripts, `${node}.log`), 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
}

/** How often keepalived logged that `instance` entered `state`. */
function kEntered(k: KeepalivedProcess, instance: string, state: string): number {
  return k.log().split(`(${instance}) Entering ${state} STATE`).length - 1;
}

async function kBoth(k: KeepalivedProcess, state: string, before: [number, number], timeoutMs: number): Promise<boolean> {
  return (await pollUntil(() => (kEntered(k, 'VI_1', state) > before[0] && kEntered(k, 'VI_2', state) > before[1] ? true : undefined), timeoutMs, 10)) === true;
}

const kCounts = (k: KeepalivedProcess, state: string): [number, number] => [kEntered(k, 'VI_1', state), kEntered(k, 'VI_2', state)];

async function vBoth(v: VipflowDaemon, state: string, mark: number, timeoutMs: number): Promise<boolean> {
  const [a, b] = await Promise.all(['VI_1', 'VI_2'].map((i) => v.waitForState(state, timeoutMs, mark, i)));
  return a !== undefined && b !== undefined;
}

async function bothHeldBy(lab: Lab, node: string): Promise<boolean> {
  const ok = await Promise.all(VIPS.map((vip) => waitForHolder(lab, NODES, vip, node, MOVE_MS)));
  return ok.every(Boolean);
}

async function setDum1(lab: Lab, node: string, up: boolean): Promise<void> {
  const r = await lab.exec(node, 'ip', ['link', 'set', 'dum1', up ? 'up' : 'down']);
  assert.equal(r.code, 0, r.stderr);
}

describe('vrrp_sync_group: vipflow and keepalived 2.2.7 move whole groups', () => {
  let lab: Lab;
  let scripts: string;
  const vipflows: VipflowDaemon[] = [];
  const keepaliveds: KeepalivedProcess[] = [];

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: [...NODES], subnet: SUBNET, ipv6: false, logger });
    for (const n of NODES) {
      // No dummy driver in this kernel: a veth pair inside the node stands in for a second link.
      for (const args of [
        ['link', 'add', 'dum1', 'type', 'veth', 'peer', 'name', 'dum1p'],
        ['link', 'set', 'dum1p', 'up'],
        ['link', 'set', 'dum1', 'up'],
      ]) {
        const r = await lab.exec(n, 'ip', args);
        assert.equal(r.code, 0, r.stderr);
      }
    }
    scripts = join(lab.dir, 'scripts');
    mkdirSync(scripts, { mode: 0o755 });
    writeFileSync(join(scripts, 'note.sh'), `#!/bin/sh\nnode=$1\nshift\necho "$*" >> ${scripts}/$node.log\n`);
    chmodSync(join(scripts, 'note.sh'), 0o755);
  });
  after(async () => {
    for (const d of vipflows) await d.kill();
    for (const k of keepaliveds) await k.stop();
    await lab?.destroy();
  });

  test('vipflow Master, keepalived Backup: dum1 down on vipflow moves both VRIDs to keepalived, dum1 up brings both back', async () => {
    const k = await startKeepalived(lab, 'k', 'k1', conf('k1', 100, scripts));
    keepaliveds.push(k);
    // A workflow triggered by the group: the daemon gives the runner the configured members.
    const trail = join(scripts, 'workflow.trail');
    const workflows = join(scripts, 'workflows.mjs');
    writeFileSync(
      workflows,
      `import { appendFileSync } from 'node:fs';
export default [{ name: 'group-master', on: { group: 'G', to: 'MASTER' }, steps: [{ name: 'note', run: (ctx) => appendFileSync(${JSON.stringify(trail)}, ctx.event.data.instance + '\\n') }] }];
`,
    );
    const v = await startVipflow(lab, 'v', 'v1', conf('v1', 150, scripts), { args: ['--workflows', workflows] });
    vipflows.push(v);
    assert.ok(await vBoth(v, 'master', 0, MOVE_MS), 'vipflow Master of both');
    const ran = await pollUntil(() => {
      const lines = existsSync(trail) ? readFileSync(trail, 'utf8').trim().split('\n').sort() : [];
      return lines.length === 2 ? lines : undefined;
    }, MOVE_MS);
    assert.deepEqual(ran, ['VI_1', 'VI_2'], "the on: { group: 'G', to: 'MASTER' } workflow ran for both members");
    assert.ok(await bothHeldBy(lab, 'v'), 'both VIPs on vipflow only');
    const st = await v.status();
    assert.deepEqual(st.groups, [
      {
        name: 'G',
        state: 'master',
        members: [
          { name: 'VI_1', state: 'master' },
          { name: 'VI_2', state: 'master' },
        ],
      },
    ]);
    assert.match((await v.cli(['status', '--state-dir', v.stateDir])).stdout, /group G +MASTER +VI_1=MASTER VI_2=MASTER/);

    // Only VI_1 tracks dum1: VI_2 must follow its group.
    let mark = v.transitions.length;
    let kM = kCounts(k, 'MASTER');
    await setDum1(lab, 'v', false);
    assert.ok(await vBoth(v, 'fault', mark, MOVE_MS), `vipflow both in Fault: ${JSON.stringify(v.transitions.slice(mark))}`);
    assert.ok(await kBoth(k, 'MASTER', kM, MOVE_MS), 'keepalived Master of both');
    assert.ok(await bothHeldBy(lab, 'k'), 'both VIPs moved to keepalived');
    assert.equal(v.transitions.slice(mark).find((t) => t.instance === 'VI_2')?.reason, 'sync-group');

    mark = v.transitions.length;
    const kB = kCounts(k, 'BACKUP');
    await setDum1(lab, 'v', true);
    assert.ok(await vBoth(v, 'master', mark, MOVE_MS), 'vipflow preempts with both after dum1 is back');
    assert.ok(await kBoth(k, 'BACKUP', kB, MOVE_MS), 'keepalived Backup of both');
    assert.ok(await bothHeldBy(lab, 'v'), 'both VIPs back on vipflow');
    assert.ok(
      v.transitions.slice(mark).every((t) => t.to !== 'fault'),
      'no member went back to Fault',
    );
    kM = kCounts(k, 'MASTER');
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(kCounts(k, 'MASTER'), kM, 'no flapping afterwards');

    // Group notify scripts: vipflow ran keepalived's argument lists.
    const vNotes = notes(scripts, 'v1');
    for (const line of ['any GROUP G BACKUP 0', 'master', 'any GROUP G MASTER 0', 'fault', 'any GROUP G FAULT 0'])
      assert.ok(vNotes.includes(line), `vipflow ran '${line}': ${JSON.stringify(vNotes)}`);
    assert.deepEqual(
      vNotes.slice(vNotes.indexOf('fault'), vNotes.indexOf('fault') + 2),
      ['fault', 'any GROUP G FAULT 0'],
      'own script first, then the generic one',
    );
    // keepalived's own group notifications, written by the same script: the same words.
    const kNotes = notes(scripts, 'k1');
    assert.ok(kNotes.includes('any GROUP G MASTER 0') && kNotes.includes('master'), `keepalived's group notify: ${JSON.stringify(kNotes)}`);
    const groupLines = (list: string[]) => new Set(list.filter((l) => l.startsWith('any GROUP')));
    assert.deepEqual(
      groupLines(kNotes),
      groupLines(vNotes.filter((l) => !l.includes('FAULT'))),
      'the same GROUP lines on both sides (bar FAULT, which keepalived never entered)',
    );

    assert.equal(await v.stop(8000), 0);
    assert.ok((await pollUntil(() => (notes(scripts, 'v1').at(-1) === 'any GROUP G STOP 0' ? true : undefined), 3000)) === true, 'group STOP at shutdown');
    await k.stop();
  });

  test('keepalived Master, vipflow Backup: dum1 down on keepalived moves both VRIDs to vipflow, dum1 up lets keepalived take both back', async () => {
    const k = await startKeepalived(lab, 'k', 'k2', conf('k2', 150, scripts));
    keepaliveds.push(k);
    assert.ok(await kBoth(k, 'MASTER', [0, 0], MOVE_MS), 'keepalived Master of both');
    const v = await startVipflow(lab, 'v', 'v2', conf('v2', 100, scripts));
    vipflows.push(v);
    assert.ok(await vBoth(v, 'backup', 0, MOVE_MS), 'vipflow Backup of both');
    await new Promise((r) => setTimeout(r, 800));
    assert.ok(
      v.transitions.every((t) => t.to !== 'master'),
      'vipflow stayed Backup',
    );
    assert.ok(await bothHeldBy(lab, 'k'));

    let mark = v.transitions.length;
    const kF = kCounts(k, 'FAULT');
    await setDum1(lab, 'k', false);
    assert.ok(await vBoth(v, 'master', mark, MOVE_MS), 'vipflow Master of both');
    assert.ok(await kBoth(k, 'FAULT', kF, MOVE_MS), 'keepalived both in Fault');
    assert.ok(await bothHeldBy(lab, 'v'), 'both VIPs moved to vipflow');
    assert.equal((await v.status()).groups[0]?.state, 'master');
    // vipflow heard priority 0 on both VRIDs: each took over after Skew_Time and the group made it whole.
    const reasons = v.transitions
      .slice(mark)
      .filter((t) => t.to === 'master')
      .map((t) => t.reason);
    assert.ok(
      reasons.every((r) => r === 'priority-zero-skew' || r === 'sync-group' || r === 'master-down-timer'),
      JSON.stringify(reasons),
    );

    mark = v.transitions.length;
    const kM = kCounts(k, 'MASTER');
    await setDum1(lab, 'k', true);
    assert.ok(await kBoth(k, 'MASTER', kM, MOVE_MS), 'keepalived preempts with both');
    assert.ok(await vBoth(v, 'backup', mark, MOVE_MS), 'vipflow Backup of both');
    assert.ok(await bothHeldBy(lab, 'k'), 'both VIPs back on keepalived');
    const stepDown = v.transitions
      .slice(mark)
      .filter((t) => t.from === 'master')
      .map((t) => t.reason)
      .sort();
    // One member saw keepalived's higher priority; whichever did, the other followed it (or saw it too).
    assert.ok(stepDown.includes('higher-priority-advert'), JSON.stringify(stepDown));
    assert.equal((await v.status()).groups[0]?.state, 'backup');
    const vNotes = notes(scripts, 'v2');
    for (const line of ['any GROUP G BACKUP 0', 'master', 'any GROUP G MASTER 0'])
      assert.ok(vNotes.includes(line), `vipflow ran '${line}': ${JSON.stringify(vNotes)}`);
    const kNotes = notes(scripts, 'k2');
    for (const line of ['fault', 'any GROUP G FAULT 0', 'any GROUP G MASTER 0'])
      assert.ok(kNotes.includes(line), `keepalived ran '${line}': ${JSON.stringify(kNotes)}`);
    const complaints = k
      .log()
      .split('\n')
      .filter((l) => /invalid|mismatch|checksum|unsafe|error/i.test(l));
    assert.deepEqual(complaints, [], 'keepalived complained');
    await v.stop(8000);
    await k.stop();
    assert.deepEqual((await Promise.all(VIPS.map((vip) => holders(lab, NODES, vip)))).flat(), []);
  });
});
