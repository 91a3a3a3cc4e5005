// Real network: SIGHUP applies a changed vrrp_sync_group membership and a
// changed vrrp_script definition, as keepalived 2.2.7's reload does (checked
// with keepalived in the same lab: after the reload the new script's first
// failure puts VI_1 in Fault and the group it now shares syncs VI_2 to Fault).
// Starts: a two-node namespace lab, a vipflow daemon (node v), keepalived (node k).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { createLab, startKeepalived, startVipflow, sweepStaleLabs, type KeepalivedProcess, type Lab, type VipflowDaemon } from '../../lab/index.js';

const logger = silentLogger();
const PREFIX = 'vfhostr';
const SUBNET = 176;

/** Two instances; `grouped` puts both in G1 (else VI_1 alone); the script tests for `flag`. */
function conf(vridBase: number, flag: string, grouped: boolean): string {
  return `global_defs {
  router_id r
  script_user root
  enable_script_security
}
vrrp_script chk {
  script "/usr/bin/test -f ${flag}"
  interval 0.2
}
vrrp_sync_group G1 {
  group {
    VI_1
${grouped ? '    VI_2\n' : ''}  }
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id ${vridBase}
  version 3
  priority 100
  advert_int 0.1
  track_script {
    chk
  }
  virtual_ipaddress {
    198.18.${SUBNET}.${vridBase}/32
  }
}
vrrp_instance VI_2 {
  state BACKUP
  interface eth0
  virtual_router_id ${vridBase + 1}
  version 3
  priority 100
  advert_int 0.1
  virtual_ipaddress {
    198.18.${SUBNET}.${vridBase + 1}/32
  }
}
`;
}

describe('SIGHUP applies sync group membership and track definitions', () => {
  let lab: Lab;
  let daemon: VipflowDaemon | undefined;
  let ka: KeepalivedProcess | undefined;
  let present: string;
  let absent: string;

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['v', 'k'], subnet: SUBNET, ipv6: false, logger });
    present = join(lab.dir, 'present');
    absent = join(lab.dir, 'absent');
    writeFileSync(present, '');
  });
  after(async () => {
    await daemon?.kill();
    await ka?.stop();
    await lab?.destroy();
  });

  test('keepalived 2.2.7: after the reload the new script fails VI_1 and the new group takes VI_2 to Fault', async () => {
    ka = await startKeepalived(lab, 'k', 'k', conf(80, present, false));
    assert.ok(await ka.waitForLog(/\(VI_1\) Entering MASTER STATE/, 5000), ka.log());
    assert.ok(await ka.waitForLog(/\(VI_2\) Entering MASTER STATE/, 5000), ka.log());
    writeFileSync(ka.confPath, conf(80, absent, true));
    process.kill(ka.pid, 'SIGHUP');
    assert.ok(await ka.waitForLog(/Reload complete/, 5000), ka.log());
    assert.ok(await ka.waitForLog(/\(VI_1\) Entering FAULT STATE/, 5000), ka.log());
    assert.ok(await ka.waitForLog(/\(VI_2\) Entering FAULT STATE/, 3000), `VI_2 follows its new group:\n${ka.log()}`);
    assert.match(ka.log(), /VRRP_Group\(G1\) Syncing instances to FAULT state/);
    await ka.stop();
  });

  test('vipflow: the group is rebuilt with both members, the script runs with its new definition, VI_2 follows VI_1 to Fault', async () => {
    daemon = await startVipflow(lab, 'v', 'v', conf(90, present, false));
    assert.ok(await daemon.waitForState('master', 5000, 0, 'VI_1'));
    assert.ok(await daemon.waitForState('master', 5000, 0, 'VI_2'));
    const before = await daemon.status();
    assert.deepEqual(
      before.groups.map((g) => [g.name, g.members.map((m) => m.name)]),
      [['G1', ['VI_1']]],
    );

    const mark = daemon.transitions.length;
    daemon.writeConfig(conf(90, absent, true));
    daemon.signal('SIGHUP');
    assert.ok(await daemon.waitForLog((l) => l.msg === 'configuration reloaded', 5000), 'reloaded');
    assert.ok(daemon.lines.some((l) => /vrrp_script definitions changed by reload/.test(l.msg)));
    assert.ok(!daemon.lines.some((l) => /take effect at the next restart/.test(l.msg)), 'nothing waits for a restart');
    assert.ok(await daemon.waitForState('fault', 3000, mark, 'VI_1'), 'the new script fails VI_1');
    assert.ok(await daemon.waitForState('fault', 3000, mark, 'VI_2'), 'VI_2 follows its new group to Fault');
    const after = await daemon.status();
    assert.deepEqual(
      after.groups.map((g) => [g.name, g.members.map((m) => m.name).sort(), g.state]),
      [['G1', ['VI_1', 'VI_2'], 'fault']],
    );

    // And back: the script's file appears under its new name; the group recovers together.
    const back = daemon.transitions.length;
    writeFileSync(absent, '');
    assert.ok(await daemon.waitForState('master', 5000, back, 'VI_1'));
    assert.ok(await daemon.waitForState('master', 5000, back, 'VI_2'));
  });
});
