// Real network: no_accept (keepalived's accept mode off) in vipflow and in
// keepalived 2.2.7, each alone as Master in node v / k, with a client in c:
// the VIP answers ARP, but TCP to it is dropped while the router's own
// address still answers; vipflow's table goes when it stops.
// Starts: a namespace lab, a vipflow daemon, keepalived, socat.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, readNeighbours, startKeepalived, startVipflow, sweepStaleLabs, type Lab } from '../../lab/index.js';
import type { KeepalivedProcess, VipflowDaemon } from '../../lab/index.js';

const PREFIX = 'vfvmaca';
const SUBNET = 214;
const PORT = 7052;

function conf(routerId: string, vrid: number, vip: string, accept: 'accept' | 'no_accept'): string {
  return [
    'global_defs {',
    `  router_id ${routerId}`,
    '}',
    `vrrp_instance VI_${vrid} {`,
    '  state BACKUP',
    '  interface eth0',
    `  virtual_router_id ${vrid}`,
    '  version 3',
    '  priority 100',
    '  advert_int 0.5',
    `  ${accept}`,
    '  virtual_ipaddress {',
    `    ${vip}/24`,
    '  }',
    '}',
    '',
  ].join('\n');
}

describe('accept mode (no_accept) against keepalived 2.2.7', () => {
  const logger = silentLogger();
  let lab: Lab;
  const vipflows: VipflowDaemon[] = [];
  const keepaliveds: KeepalivedProcess[] = [];

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['v', 'k', 'c'], subnet: SUBNET, ipv6: false, logger });
    for (const node of ['v', 'k']) lab.spawn(node, 'socat', [`TCP-LISTEN:${PORT},reuseaddr,fork`, `SYSTEM:echo ${node}`]);
  });
  after(async () => {
    for (const d of vipflows) await d.kill();
    for (const k of keepaliveds) await k.stop();
    await lab?.destroy();
  });

  const ask = async (address: string) => {
    const r = await lab.exec('c', 'socat', ['-T', '1', '-u', `TCP:${address}:${PORT},connect-timeout=1`, '-'], 4000);
    return r.code === 0 ? r.stdout.trim() : undefined;
  };
  const resolved = async (vip: string) => (await readNeighbours(lab, 'c')).find((n) => n.dst === vip)?.lladdr;
  const table = async () => lab.exec('v', 'nft', ['list', 'table', 'ip', 'vipflow_accept'], 5000);

  test('vipflow Master with no_accept drops TCP to the VIP, as keepalived does; accept lets it through', async () => {
    const vip = `198.18.${SUBNET}.61`;
    const v = await startVipflow(lab, 'v', 'va', conf('va', 61, vip, 'no_accept'));
    vipflows.push(v);
    assert.ok(await v.waitForState('master', 5000), 'vipflow is Master');
    assert.ok(
      await pollUntil(async () => ((await table()).stdout.includes(vip) ? true : undefined), 2000),
      `the VIP is in the drop set:\n${(await table()).stdout}`,
    );
    assert.equal(await ask(lab.node('v').ipv4!), 'v', "the router's own address answers");
    assert.equal(await ask(vip), undefined, 'TCP to the VIP is dropped');
    assert.ok(await resolved(vip), 'the VIP still answers ARP');
    await v.stop();
    assert.equal((await table()).code, 1, 'the table is gone after vipflow stopped');

    const kvip = `198.18.${SUBNET}.62`;
    const k = await startKeepalived(lab, 'k', 'ka', conf('ka', 62, kvip, 'no_accept'));
    keepaliveds.push(k);
    assert.ok(await k.waitForLog(/\(VI_62\) Entering MASTER STATE/, 5000), 'keepalived is Master');
    assert.ok(await k.waitForLog(/\(VI_62\) setting firewall drop rule/, 1000), 'keepalived set its drop rule');
    assert.equal(await ask(lab.node('k').ipv4!), 'k', "keepalived's own address answers");
    assert.equal(await ask(kvip), undefined, 'keepalived drops TCP to its VIP too');
    assert.ok(await resolved(kvip), "keepalived's VIP still answers ARP");
    await k.stop();

    const avip = `198.18.${SUBNET}.63`;
    const a = await startVipflow(lab, 'v', 'vb', conf('vb', 63, avip, 'accept'));
    vipflows.push(a);
    assert.ok(await a.waitForState('master', 5000), 'vipflow (accept) is Master');
    assert.ok(await pollUntil(async () => ((await ask(avip)) === 'v' ? true : undefined), 2000), 'in accept mode the VIP answers');
    assert.equal((await table()).code, 1, 'no accept-mode table for an accepting instance');
    await a.stop();
  });
});
