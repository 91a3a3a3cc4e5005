// Real network: vrrp_script / track_script on a vipflow node `v` and a keepalived
// 2.2.7 node `k` (VRRPv3, 100 ms adverts). Each node's script tests for its own
// flag file; removing the file makes the script fail. With weight -60 the node
// at 150 drops to 90, below its peer at 100, and the peer takes over; putting
// the file back takes it back. Run each way round, so vipflow's weighing and
// rise/fall counting are checked against keepalived's own on the wire. With
// weight 0 a failing script puts vipflow's instance in Fault.
// Starts: a namespace lab, vipflow daemons, keepalived, /usr/bin/test checks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, startKeepalived, sweepStaleLabs, type KeepalivedProcess, type Lab } from '../../lab/index.js';
import { holders, startVipflow, waitForHolder, type VipflowDaemon } from '../../lab/vipflow.js';

const logger = silentLogger();
const PREFIX = 'vftk';
const SUBNET = 196;
const NODES = ['v', 'k'] as const;
const VIP = `198.18.${SUBNET}.100`;
// interval 1 s with rise 2 / fall 2: a change needs two checks (~2 s), then a
// preemption within a few 100 ms adverts; the bound leaves room for a loaded machine.
const CHANGE_MS = 8000;

function conf(node: string, priority: number, flag: string, weight: number): string {
  return [
    'global_defs {',
    `  router_id ${node}`,
    '  script_user root',
    '  enable_script_security',
    '}',
    'vrrp_script chk {',
    `  script "/usr/bin/test -f ${flag}"`,
    '  interval 1',
    '  rise 2',
    '  fall 2',
    `  weight ${weight}`,
    '}',
    'vrrp_instance VI_1 {',
    '  state BACKUP',
    '  interface eth0',
    '  virtual_router_id 96',
    '  version 3',
    `  priority ${priority}`,
    '  advert_int 0.1',
    '  track_script {',
    '    chk',
    '  }',
    '  virtual_ipaddress {',
    `    ${VIP}/24`,
    '  }',
    '}',
    '',
  ].join('\n');
}

function entered(k: KeepalivedProcess, state: string): number {
  return k.log().split(`(VI_1) Entering ${state} STATE`).length - 1;
}

async function kEnters(k: KeepalivedProcess, state: string, before: number): Promise<boolean> {
  return (await pollUntil(() => (entered(k, state) > before ? true : undefined), CHANGE_MS, 20)) === true;
}

describe('track_script: vipflow weighs vrrp_scripts as keepalived 2.2.7 does', () => {
  let lab: Lab;
  let flags: string;
  const vipflows: VipflowDaemon[] = [];
  const keepaliveds: KeepalivedProcess[] = [];
  const flag = (node: string) => join(flags, `${node}.ok`);
  const setFlag = (node: string, ok: boolean) => (ok ? writeFileSync(flag(node), '') : rmSync(flag(node), { force: true }));

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: [...NODES], subnet: SUBNET, ipv6: false, logger });
    flags = join(lab.dir, 'flags');
    mkdirSync(flags, { mode: 0o755 });
  });
  after(async () => {
    for (const d of vipflows) await d.kill();
    for (const k of keepaliveds) await k.stop();
    await lab?.destroy();
  });

  test('vipflow at 150 with weight -60: a failing script hands the VIP to keepalived at 100, a passing one takes it back', async () => {
    setFlag('v', true);
    setFlag('k', true);
    const k = await startKeepalived(lab, 'k', 'k1', conf('k1', 100, flag('k'), -60));
    keepaliveds.push(k);
    const v = await startVipflow(lab, 'v', 'v1', conf('v1', 150, flag('v'), -60));
    vipflows.push(v);
    assert.ok(await v.waitForState('master', CHANGE_MS), 'vipflow Master');
    assert.ok(await waitForHolder(lab, NODES, VIP, 'v', CHANGE_MS));
    const up = await pollUntil(async () => ((await v.status()).trackScripts[0]?.health === 'up' ? true : undefined), CHANGE_MS);
    assert.equal(up, true, 'the script reported up');
    assert.match((await v.cli(['status', '--state-dir', v.stateDir])).stdout, /script chk +UP +last exit 0 checks \d+/);

    let mark = v.transitions.length;
    const kM = entered(k, 'MASTER');
    const t0 = performance.now();
    setFlag('v', false);
    assert.ok(await v.waitForState('backup', CHANGE_MS, mark), 'vipflow yields');
    const yieldedMs = performance.now() - t0;
    assert.ok(await kEnters(k, 'MASTER', kM), 'keepalived takes over');
    assert.ok(await waitForHolder(lab, NODES, VIP, 'k', CHANGE_MS));
    const st = await v.status();
    assert.equal(st.instances[0]?.effectivePriority, 90);
    assert.equal(st.trackScripts[0]?.health, 'down');
    // fall 2 at 1 s: not on the first failed check.
    assert.ok(yieldedMs > 900, `yielded after two failures, not one (${Math.round(yieldedMs)} ms)`);

    mark = v.transitions.length;
    const kB = entered(k, 'BACKUP');
    setFlag('v', true);
    assert.ok(await v.waitForState('master', CHANGE_MS, mark), 'vipflow preempts back');
    assert.ok(await kEnters(k, 'BACKUP', kB), 'keepalived steps down');
    assert.ok(await waitForHolder(lab, NODES, VIP, 'v', CHANGE_MS));
    assert.equal((await v.status()).instances[0]?.effectivePriority, 150);
    await v.stop(8000);
    await k.stop();
  });

  test('keepalived at 150 with weight -60: its failing script hands the VIP to vipflow at 100, and back', async () => {
    setFlag('v', true);
    setFlag('k', true);
    const k = await startKeepalived(lab, 'k', 'k2', conf('k2', 150, flag('k'), -60));
    keepaliveds.push(k);
    assert.ok(await kEnters(k, 'MASTER', 0), 'keepalived Master');
    const v = await startVipflow(lab, 'v', 'v2', conf('v2', 100, flag('v'), -60));
    vipflows.push(v);
    assert.ok(await v.waitForState('backup', CHANGE_MS), 'vipflow Backup');

    let mark = v.transitions.length;
    setFlag('k', false);
    assert.ok(await v.waitForState('master', CHANGE_MS, mark), 'vipflow takes over from keepalived at 90');
    assert.ok(await waitForHolder(lab, NODES, VIP, 'v', CHANGE_MS));
    mark = v.transitions.length;
    setFlag('k', true);
    assert.ok(await v.waitForState('backup', CHANGE_MS, mark), 'keepalived at 150 again preempts vipflow');
    assert.ok(await waitForHolder(lab, NODES, VIP, 'k', CHANGE_MS));
    const complaints = k
      .log()
      .split('\n')
      .filter((l) => /invalid|mismatch|checksum|unsafe/i.test(l));
    assert.deepEqual(complaints, [], 'keepalived complained');
    await v.stop(8000);
    await k.stop();
  });

  test('weight 0: a failing script puts vipflow in Fault and keepalived takes the VIP; it recovers when the script passes', async () => {
    setFlag('v', true);
    setFlag('k', true);
    const k = await startKeepalived(lab, 'k', 'k3', conf('k3', 100, flag('k'), -60));
    keepaliveds.push(k);
    const v = await startVipflow(lab, 'v', 'v3', conf('v3', 150, flag('v'), 0));
    vipflows.push(v);
    assert.ok(await v.waitForState('master', CHANGE_MS), 'vipflow Master once its script reported');
    let mark = v.transitions.length;
    setFlag('v', false);
    const fault = await v.waitForState('fault', CHANGE_MS, mark);
    assert.ok(fault, 'vipflow in Fault');
    assert.ok(await waitForHolder(lab, NODES, VIP, 'k', CHANGE_MS), 'keepalived holds the VIP');
    mark = v.transitions.length;
    setFlag('v', true);
    assert.ok(await v.waitForState('master', CHANGE_MS, mark), 'vipflow back to Master (preempt at 150)');
    await v.stop(8000);
    await k.stop();
    assert.deepEqual(await holders(lab, NODES, VIP), []);
  });
});
