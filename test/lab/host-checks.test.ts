// Real network: the host checks against a namespace whose interfaces are
// known (lo and eth0 with 198.18.171.x/24). `vipflow check-config` runs
// inside it, Debian's keepalived 2.2.7 judges the same files there, and
// `vipflow run` refuses what keepalived refuses and warns where it carries on.
// Starts: a one-node namespace lab, keepalived, vipflow daemons.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { createLab, startKeepalived, startVipflow, sweepStaleLabs, vipflowCommand, within, type Lab } from '../../lab/index.js';

const logger = silentLogger();
const PREFIX = 'vfhost';
const SUBNET = 171;

/** Warnings only: keepalived runs this file (it disables the scripts it cannot run). */
const warnConf = (dir: string) => `global_defs {
  router_id h
  enable_script_security
  script_user root
}
vrrp_script chk_noexec {
  script "${join(dir, 'noexec.sh')}"
  interval 1
}
vrrp_instance VI_host {
  state BACKUP
  interface eth0
  virtual_router_id 71
  priority 255
  advert_int 1
  track_script {
    chk_noexec
  }
  notify_master "${join(dir, 'missing.sh')}"
  virtual_ipaddress {
    198.18.${SUBNET}.100/24
    198.18.99.1/24
    198.18.98.1
  }
}
`;

/** An interface this host lacks: keepalived refuses to start. */
const missingConf = `global_defs {
  router_id h
}
vrrp_instance VI_gone {
  state BACKUP
  interface eth9
  virtual_router_id 72
  priority 100
  advert_int 1
  virtual_ipaddress {
    198.18.${SUBNET}.101/24
  }
}
`;

describe('host checks in a namespace with known interfaces', () => {
  let lab: Lab;
  let warnPath: string;
  let missingPath: string;
  const checkConfig = (...args: string[]) => lab.exec('h', process.execPath, [...vipflowCommand(), 'check-config', ...args], 15_000);

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['h'], subnet: SUBNET, ipv6: false, logger });
    writeFileSync(join(lab.dir, 'noexec.sh'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(lab.dir, 'noexec.sh'), 0o644);
    warnPath = join(lab.dir, 'warn.conf');
    missingPath = join(lab.dir, 'missing.conf');
    writeFileSync(warnPath, warnConf(lab.dir));
    writeFileSync(missingPath, missingConf);
  });
  after(async () => {
    await lab?.destroy();
  });

  test('a missing interface: keepalived refuses, check-config errors with the line, --host-independent passes, the daemon refuses', async () => {
    const ka = await lab.exec('h', 'keepalived', ['-t', '-f', missingPath], 10_000);
    assert.notEqual(ka.code, 0);
    assert.match(ka.stderr, /Non-existent interface specified in configuration/);

    const r = await checkConfig(missingPath);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /missing\.conf:6:13: error: interface eth9 for vrrp_instance VI_gone does not exist on this host/);
    const elsewhere = await checkConfig('--host-independent', missingPath);
    assert.equal(elsewhere.code, 0, elsewhere.stderr);

    const d = await startVipflow(lab, 'h', 'gone', missingConf, { waitReady: false });
    try {
      const exit = await within(d.exited, 15_000);
      assert.notEqual(exit, 'timeout', 'the daemon refused to start');
      assert.notEqual(exit, 0);
      assert.match(d.stderr() + d.lines.map((l) => l.msg).join('\n'), /eth9/);
    } finally {
      await d.kill();
    }
  });

  test('what keepalived carries on with is a warning: VIP outside the subnets, 255 without the addresses, scripts it cannot run', async () => {
    const ka = await startKeepalived(lab, 'h', 'warn', warnConf(lab.dir));
    try {
      assert.ok(await ka.waitForLog(/not executable for uid:gid 0:0 - disabling/, 5000), ka.log());
      assert.ok(await ka.waitForLog(/missing\.sh cannot be accessed/, 5000), ka.log());
      assert.ok(await ka.waitForLog(/\(VI_host\) Entering MASTER STATE/, 5000), ka.log());
    } finally {
      await ka.stop();
    }

    const r = await checkConfig(warnPath);
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stdout.split('\n').filter((l) => / warning: /.test(l));
    const expected = [
      /warn\.conf:7:10: warning: vrrp_script chk_noexec: \S+noexec\.sh is not executable by root/,
      /warn\.conf:19:17: warning: vrrp_instance VI_host notify script: \S+missing\.sh cannot be accessed/,
      /warn\.conf:22:5: warning: virtual_ipaddress 198\.18\.99\.1 is outside every subnet of eth0 \(198\.18\.171\.\d+\/24[,)]/,
      /warn\.conf:14:12: warning: priority 255 means address owner/,
    ];
    for (const e of expected)
      assert.ok(
        warnings.some((w) => e.test(w)),
        `${e}\n${r.stdout}`,
      );
    // 198.18.98.1 has no prefix: a host address needs no subnet.
    assert.ok(!r.stdout.includes('198.18.98.1 is outside'), r.stdout);
    const elsewhere = await checkConfig('--host-independent', warnPath);
    assert.equal(elsewhere.code, 0);
    assert.doesNotMatch(elsewhere.stdout, /not executable|cannot be accessed|outside every subnet|address owner/);

    const d = await startVipflow(lab, 'h', 'warn', warnConf(lab.dir));
    try {
      // keepalived disabled chk_noexec and ran VI_host without it (Master); so does vipflow, rather than failing the check forever (weight 0: Fault).
      assert.ok(await d.waitForState('master', 5000, 0, 'VI_host'), d.lines.map((l) => l.msg).join('\n'));
      assert.ok(d.lines.some((l) => /vrrp_scripts that cannot run on this host are disabled/.test(l.msg) && JSON.stringify(l).includes('chk_noexec')));
      const logged = (re: RegExp) => d.lines.some((l) => l.level === 40 && re.test(l.msg));
      assert.ok(logged(/noexec\.sh is not executable by root/), d.lines.map((l) => l.msg).join('\n'));
      assert.ok(logged(/outside every subnet of eth0/));
      assert.ok(logged(/priority 255 means address owner/));
    } finally {
      await d.stop();
    }
  });
});
