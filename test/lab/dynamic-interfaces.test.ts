// Real network: `vipflow run` with dynamic_interfaces and an instance whose
// interface does not exist yet. As keepalived 2.2.7 does, the daemon starts,
// the instance waits in FAULT (status says why); once the interface is
// created it runs normally (Master here, its adverts on the wire), and when
// the interface is deleted it is back in FAULT, waiting.
// Its notify script sees what keepalived's sees in the same steps.
// Starts: a one-node namespace lab, a veth pair inside it, a vipflow daemon, tcpdump, /bin/sh notify scripts.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, sleep, startCapture, startVipflow, sweepStaleLabs, type Lab, type VipflowDaemon } from '../../lab/index.js';
import { instanceBlock } from './daemon-conf.js';

const logger = silentLogger();
const PREFIX = 'vfdyn';
const SUBNET = 241;
const DEV = 'dyn0';
const PEER = 'dyn0p';
const OWN = '198.19.241.1';
const VIP = '198.19.241.100';

/** keepalived 2.2.7's notify lines for this config in the same steps (start, create, delete, create again). */
const KEEPALIVED_NOTIFIES = ['FAULT', 'BACKUP', 'MASTER', 'FAULT', 'BACKUP', 'MASTER'].map((s) => `INSTANCE VI_dyn ${s} 150`);

function conf(notify: string): string {
  const instance = instanceBlock({ name: 'VI_dyn', interface: DEV, vrid: 41, version: 3, priority: 150, advertInt: 0.2, state: 'MASTER', vips: [`${VIP}/32`] });
  return [
    'global_defs {',
    '  router_id a',
    '  dynamic_interfaces',
    '  script_user root',
    '  enable_script_security',
    '}',
    instance.replace('  advert_int 0.2\n', `  advert_int 0.2\n  notify ${notify}\n`),
    '',
  ].join('\n');
}

describe('dynamic_interfaces: an instance waits in FAULT for its interface', () => {
  let lab: Lab;
  let daemon: VipflowDaemon;
  let notes: string;
  /** Waits (bounded) for the notify script to have written `n` lines, and returns them. */
  const notified = async (n: number) => {
    const read = () => (existsSync(notes) ? readFileSync(notes, 'utf8').trim().split('\n').filter(Boolean) : []);
    await pollUntil(() => (read().length >= n ? true : undefined), 3000, 25);
    await sleep(300); // nothing more should come
    return read();
  };
  const ip = (...args: string[]) => lab.exec('a', 'ip', args, 5000);
  const instance = async () => (await daemon.status()).instances.find((i) => i.name === 'VI_dyn');

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a'], subnet: SUBNET, ipv6: false, logger });
    const scripts = join(lab.dir, 'scripts');
    mkdirSync(scripts, { mode: 0o755 });
    notes = join(scripts, 'notes.log');
    writeFileSync(join(scripts, 'note.sh'), `#!/bin/sh\necho "$*" >> ${notes}\n`);
    chmodSync(join(scripts, 'note.sh'), 0o755);
    daemon = await startVipflow(lab, 'a', 'a', conf(join(scripts, 'note.sh')));
  });
  after(async () => {
    await daemon?.kill();
    await lab?.destroy();
  });

  test('started without the interface: running, the instance in FAULT with the reason', async () => {
    const s = await instance();
    assert.ok(s, 'the waiting instance is listed');
    assert.equal(s.state, 'fault');
    assert.match(s.fault ?? '', /interface dyn0 does not exist/);
    assert.ok(
      daemon.lines.some((l) => l.instance === 'VI_dyn' && /in FAULT: interface dyn0 does not exist/.test(l.msg)),
      'logged why',
    );
    assert.equal(daemon.transitions.filter((t) => t.to === 'master').length, 0);
    assert.deepEqual(await notified(1), KEEPALIVED_NOTIFIES.slice(0, 1), 'notify FAULT at start');
  });

  const createInterface = async () => {
    assert.equal((await ip('link', 'add', DEV, 'type', 'veth', 'peer', 'name', PEER)).code, 0);
    assert.equal((await ip('addr', 'add', `${OWN}/24`, 'dev', DEV)).code, 0);
    assert.equal((await ip('link', 'set', PEER, 'up')).code, 0);
    assert.equal((await ip('link', 'set', DEV, 'up')).code, 0);
  };
  /** keepalived 2.2.7 in the same steps: "Interface dyn0 added", "Entering BACKUP STATE", then MASTER on the receive timeout. */
  const becomesMaster = async (mark: number, t0: number, what: string) => {
    const master = await daemon.waitForState('master', 8000, mark, 'VI_dyn');
    assert.ok(master, `MASTER once the interface exists (${what})`);
    const path = daemon.transitions.slice(mark).filter((t) => t.instance === 'VI_dyn');
    assert.equal(path.find((t) => t.to === 'backup' || t.to === 'master')?.to, 'backup', `through BACKUP first: ${JSON.stringify(path)}`);
    console.log(`${what} → MASTER: ${(master.seenAt - t0).toFixed(1)} ms`);
  };

  test('the interface created: the instance becomes MASTER and its adverts are on the wire', async () => {
    const mark = daemon.transitions.length;
    const t0 = performance.now();
    await createInterface();
    await becomesMaster(mark, t0, 'interface created');
    const s = await instance();
    assert.equal(s?.state, 'master');
    assert.equal(s?.fault, undefined);
    assert.equal(s?.source, OWN);
    // Adverts seen from the other end of the veth: VRRP from our address, our VRID.
    const cap = await startCapture(lab, 'a', { interface: PEER, filter: ['ip', 'proto', '112'], count: 3, timeoutMs: 4000 });
    const all = await cap.done;
    const adverts = all.filter((l) => /VRRPv3, Advertisement/.test(l));
    assert.ok(adverts.length >= 3, `adverts captured: ${all.join('\n')}`);
    assert.ok(
      adverts.every((l) => l.includes(`${OWN} > 224.0.0.18`) && /vrid 41,/.test(l) && /prio 150,/.test(l)),
      adverts.join('\n'),
    );
    const holds = await ip('-4', 'addr', 'show', 'dev', DEV);
    assert.match(holds.stdout, new RegExp(`${VIP.replace(/\./g, '\\.')}/32`));
    assert.deepEqual(await notified(3), KEEPALIVED_NOTIFIES.slice(0, 3), 'no second FAULT, then BACKUP, MASTER');
  });

  test('the interface deleted: FAULT again, waiting for it, also across a reload', async () => {
    const mark = daemon.transitions.length;
    assert.equal((await ip('link', 'del', DEV)).code, 0);
    assert.ok(await daemon.waitForState('fault', 5000, mark, 'VI_dyn'), 'FAULT when the interface went');
    const waiting = await pollUntil(async () => ((await instance())?.fault !== undefined ? true : undefined), 5000, 50);
    assert.ok(waiting, 'status says it waits for the interface');
    const s = await instance();
    assert.equal(s?.state, 'fault');
    assert.match(s?.fault ?? '', /interface dyn0 does not exist/);
    assert.equal(await daemon.waitForState('master', 1000, mark, 'VI_dyn'), undefined, 'no MASTER without the interface');
    assert.deepEqual(await notified(4), KEEPALIVED_NOTIFIES.slice(0, 4), 'FAULT, and no STOP');
    // A reload (same file) while it waits: still waiting, nothing notified again.
    const lines = daemon.lines.length;
    daemon.signal('SIGHUP');
    const reloaded = await pollUntil(() => (daemon.lines.slice(lines).some((l) => l.msg === 'configuration reloaded') ? true : undefined), 5000, 20);
    assert.ok(reloaded, 'reloaded');
    assert.equal((await instance())?.state, 'fault');
    assert.deepEqual(await notified(4), KEEPALIVED_NOTIFIES.slice(0, 4), 'no notify from the reload');
  });

  test('the interface created again: MASTER again', async () => {
    const mark = daemon.transitions.length;
    const t0 = performance.now();
    await createInterface();
    await becomesMaster(mark, t0, 'interface re-created');
    assert.equal((await instance())?.state, 'master');
    assert.deepEqual(await notified(6), KEEPALIVED_NOTIFIES);
  });
});

// keepalived 2.2.7 with the same group (checked in a namespace): "Syncing VI_dyn to FAULT state",
// VI_eth in FAULT while dyn0 is missing; once created, "Syncing instances to BACKUP state", then MASTER.
describe('dynamic_interfaces: a waiting member holds its sync group in FAULT', () => {
  let lab: Lab;
  let daemon: VipflowDaemon;
  const ip = (...args: string[]) => lab.exec('a', 'ip', args, 5000);
  const states = async () => Object.fromEntries((await daemon.status()).instances.map((i) => [i.name, i.state]));

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['a'], subnet: SUBNET, ipv6: false, logger });
    const dyn = instanceBlock({ name: 'VI_dyn', interface: DEV, vrid: 41, version: 3, priority: 150, advertInt: 0.2, vips: [`${VIP}/32`] });
    const eth = instanceBlock({ name: 'VI_eth', interface: 'eth0', vrid: 42, version: 3, priority: 150, advertInt: 0.2, vips: [`198.18.${SUBNET}.100/32`] });
    const conf = ['global_defs {', '  dynamic_interfaces', '}', dyn, eth, 'vrrp_sync_group G {', '  group {', '    VI_dyn', '    VI_eth', '  }', '}', ''];
    daemon = await startVipflow(lab, 'a', 'a', conf.join('\n'));
  });
  after(async () => {
    await daemon?.kill();
    await lab?.destroy();
  });

  test('the other member is in FAULT while the interface is missing; both become MASTER once it exists; FAULT when it goes', async () => {
    assert.ok(await daemon.waitForState('fault', 3000, 0, 'VI_eth'), 'VI_eth held in FAULT');
    assert.equal(await daemon.waitForState('master', 1500, 0, 'VI_eth'), undefined, 'and stays there');
    assert.deepEqual(await states(), { VI_eth: 'fault', VI_dyn: 'fault' });

    const mark = daemon.transitions.length;
    assert.equal((await ip('link', 'add', DEV, 'type', 'veth', 'peer', 'name', PEER)).code, 0);
    assert.equal((await ip('addr', 'add', `${OWN}/24`, 'dev', DEV)).code, 0);
    assert.equal((await ip('link', 'set', PEER, 'up')).code, 0);
    assert.equal((await ip('link', 'set', DEV, 'up')).code, 0);
    assert.ok(await daemon.waitForState('master', 8000, mark, 'VI_dyn'), 'VI_dyn MASTER');
    assert.ok(await daemon.waitForState('master', 8000, mark, 'VI_eth'), 'VI_eth MASTER');
    assert.deepEqual(await states(), { VI_eth: 'master', VI_dyn: 'master' });

    const gone = daemon.transitions.length;
    assert.equal((await ip('link', 'del', DEV)).code, 0);
    assert.ok(await daemon.waitForState('fault', 5000, gone, 'VI_eth'), 'VI_eth back in FAULT with the group');
    const held = await pollUntil(async () => ((await daemon.status()).instances.find((i) => i.name === 'VI_dyn')?.fault ? true : undefined), 5000, 50);
    assert.ok(held, 'VI_dyn waits again');
    assert.equal(await daemon.waitForState('master', 1500, gone, 'VI_eth'), undefined, 'VI_eth stays in FAULT');
    assert.equal((await states()).VI_eth, 'fault');
  });
});
