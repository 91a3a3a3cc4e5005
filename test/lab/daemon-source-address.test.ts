// Real network: `vipflow run` with one IPv4 instance whose advert source is
// eth0's address. Deleting that address moves the source to the interface's
// other address when one is left, puts the instance in FAULT when none is,
// and adding an address back brings it out, as keepalived 2.2.7 does
// (core/keepalived_netlink.c: down_instance on RTM_DELADDR, try_up_instance
// on RTM_NEWADDR).
// Starts: a one-node namespace lab, a vipflow daemon.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, startVipflow, sweepStaleLabs, type Lab, type VipflowDaemon } from '../../lab/index.js';
import { confFile } from './daemon-conf.js';

const logger = silentLogger();
const PREFIX = 'vfhosts';
const SUBNET = 172;
const OTHER = '198.18.173.1';

describe('a removed advert source address', () => {
  let lab: Lab;
  let daemon: VipflowDaemon;
  let own: string;
  const ip = (...args: string[]) => lab.exec('a', 'ip', args, 5000);
  const sourceNow = async () => (await daemon.status()).instances[0]!.source;

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a'], subnet: SUBNET, ipv6: false, logger });
    own = lab.node('a').ipv4!;
    // A /32 VIP is a prefix of its own: deleting eth0's /24 does not take it along as a secondary.
    daemon = await startVipflow(
      lab,
      'a',
      'a',
      confFile('a', [{ name: 'VI_src', vrid: 73, version: 3, priority: 100, advertInt: 0.1, vips: [`198.18.${SUBNET}.100/32`] }]),
    );
    assert.ok(await daemon.waitForState('master', 5000));
  });
  after(async () => {
    await daemon?.kill();
    await lab?.destroy();
  });

  test('another address left: the source moves to it, no fault', async () => {
    assert.equal(await sourceNow(), own);
    assert.equal((await ip('addr', 'add', `${OTHER}/24`, 'dev', 'eth0')).code, 0);
    const mark = daemon.transitions.length;
    assert.equal((await ip('addr', 'del', `${own}/24`, 'dev', 'eth0')).code, 0);
    assert.ok(await daemon.waitForLog((l) => /sending from the interface’s other address/.test(l.msg), 3000), 'moved');
    assert.equal(await sourceNow(), OTHER);
    assert.equal(await daemon.waitForState('fault', 600, mark), undefined, 'no fault');
  });

  test('no address left: FAULT; an address back: out of FAULT, sending from it', async () => {
    const mark = daemon.transitions.length;
    const t0 = performance.now();
    assert.equal((await ip('addr', 'del', `${OTHER}/24`, 'dev', 'eth0')).code, 0);
    const fault = await daemon.waitForState('fault', 3000, mark, 'VI_src');
    assert.ok(fault, 'FAULT after the last address went');
    console.log(`address deleted → FAULT: ${(fault.seenAt - t0).toFixed(1)} ms`);
    assert.equal((await daemon.status()).instances[0]!.state, 'fault');

    const back = daemon.transitions.length;
    assert.equal((await ip('addr', 'add', `${own}/24`, 'dev', 'eth0')).code, 0);
    const out = await daemon.waitForState('backup', 3000, back, 'VI_src');
    assert.ok(out, 'left FAULT when the address came back');
    assert.ok(await daemon.waitForState('master', 3000, back, 'VI_src'), 'and became Master again');
    assert.equal(await sourceNow(), own);
  });
});
