// Real network: use_vmac between vipflow (`vipflow run`, node v) and
// keepalived 2.2.7 (node k), VRRPv3 IPv4, with a client in node c. Both roles:
//   A. vipflow Master, keepalived Backup; vipflow stops, keepalived takes over.
//   B. keepalived Master, vipflow Backup; keepalived stops, vipflow takes over.
//   C. vipflow with vmac_xmit_base, Master then Backup.
//   D. a configured VMAC name that is another kind of interface.
//   E. IPv6 (VRRPv3), vipflow Master over keepalived.
// Each time: the peer captures adverts from the virtual MAC 00:00:5e:00:01:33,
// the client's neighbour entry for the VIP holds that MAC, and after the
// failover the same entry keeps working (TCP) without the client sending ARP.
// Starts: a namespace lab, vipflow daemons, keepalived, tcpdump, socat.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, readAddresses, readNeighbours, startCapture, startKeepalived, startVipflow, sweepStaleLabs, type Lab } from '../../lab/index.js';
import type { KeepalivedProcess, VipflowDaemon } from '../../lab/index.js';

const PREFIX = 'vfvmac';
const SUBNET = 213;
const VRID = 51;
const VMAC = '00:00:5e:00:01:33';
const VMAC_IF = `vrrp.${VRID}`;
const VIP = `198.18.${SUBNET}.151`;

function conf(routerId: string, priority: number, xmitBase = false, vmacName = ''): string {
  return [
    'global_defs {',
    `  router_id ${routerId}`,
    '}',
    `vrrp_instance VI_${VRID} {`,
    '  state BACKUP',
    '  interface eth0',
    `  virtual_router_id ${VRID}`,
    '  version 3',
    `  priority ${priority}`,
    '  advert_int 0.5',
    `  use_vmac${vmacName ? ` ${vmacName}` : ''}`,
    ...(xmitBase ? ['  vmac_xmit_base'] : []),
    '  virtual_ipaddress {',
    `    ${VIP}/24`,
    '  }',
    '}',
    '',
  ].join('\n');
}

interface LinkView {
  address: string;
  up: boolean;
  kind?: string;
  mode?: string;
}

async function link(lab: Lab, node: string, name: string): Promise<LinkView | undefined> {
  const r = await lab.exec(node, 'ip', ['-d', '-j', 'link', 'show', 'dev', name], 5000);
  if (r.code !== 0) return undefined;
  const l = (JSON.parse(r.stdout || '[]') as { address: string; flags: string[]; linkinfo?: { info_kind?: string; info_data?: { mode?: string } } }[])[0];
  if (!l) return undefined;
  return {
    address: l.address,
    up: l.flags.includes('UP'),
    ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : {}),
    ...(l.linkinfo?.info_data?.mode ? { mode: l.linkinfo.info_data.mode } : {}),
  };
}

const holdsVip = async (lab: Lab, node: string, ifname: string) => (await readAddresses(lab, node, ifname)).some((a) => a.local === VIP);
/** A sysctl by its /proc/sys path (an interface name like vrrp.51 holds the dot sysctl(8) splits on). */
const sysctl = async (lab: Lab, node: string, path: string) => (await lab.exec(node, 'cat', [`/proc/sys/${path}`], 5000)).stdout.trim();

/** Adverts seen on `node`'s eth0: tcpdump lines (with link-layer headers). */
async function advertsSeenOn(lab: Lab, node: string): Promise<string[]> {
  const cap = await startCapture(lab, node, { filter: ['ip', 'proto', '112'], count: 3, timeoutMs: 4000 });
  // -vv puts the IP details on a second line: keep the link-layer ones.
  return (await cap.done).filter((l) => l.includes('ethertype'));
}

/** The client's neighbour entry for the VIP. */
async function clientEntry(lab: Lab): Promise<{ lladdr?: string; state?: string[] } | undefined> {
  return (await readNeighbours(lab, 'c')).find((n) => n.dst === VIP);
}

const PORT = 7051;

/** A TCP exchange from the client with whoever holds the VIP: returns the node name it answers with, or undefined. */
async function ask(lab: Lab): Promise<string | undefined> {
  const r = await lab.exec('c', 'socat', ['-T', '2', '-u', `TCP:${VIP}:${PORT},connect-timeout=2`, '-'], 5000);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

describe('use_vmac against keepalived 2.2.7', () => {
  const logger = silentLogger();
  let lab: Lab;
  const vipflows: VipflowDaemon[] = [];
  const keepaliveds: KeepalivedProcess[] = [];
  let clientMac = '';

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['v', 'k', 'c'], subnet: SUBNET, ipv6: true, logger });
    // The client's entry stays REACHABLE through the test: a failover must
    // keep it working as it is, without the client resolving the VIP again.
    await lab.exec('c', 'sysctl', ['-w', 'net.ipv4.neigh.eth0.base_reachable_time_ms=120000'], 5000);
    clientMac = (await link(lab, 'c', 'eth0'))!.address;
    // Without this a router's own ARP request for the client (to send its
    // TCP answer, which leaves through eth0 with the VIP as source) names the
    // VIP with eth0's MAC, and the client's entry moves to that MAC: the same
    // happens with keepalived alone (checked), so the routers are set up as a
    // VMAC deployment needs, asking with eth0's own address.
    for (const node of ['v', 'k']) await lab.exec(node, 'sysctl', ['-w', 'net.ipv4.conf.eth0.arp_announce=2'], 5000);
    // Each router answers a TCP connection to the VIP with its own name.
    for (const node of ['v', 'k']) lab.spawn(node, 'socat', [`TCP-LISTEN:${PORT},reuseaddr,fork`, `SYSTEM:echo ${node}`]);
  });
  after(async () => {
    for (const d of vipflows) await d.kill();
    for (const k of keepaliveds) await k.stop();
    await lab?.destroy();
  });

  /** Failover with a client capture running: returns the client's ARP requests seen meanwhile, the ARP frames from the virtual MAC, and who answered the client after. */
  async function failover(
    stop: () => Promise<void>,
    newMaster: () => Promise<boolean>,
  ): Promise<{ clientArp: string[]; answer?: string; arpFromVmac: string[] }> {
    const cap = await startCapture(lab, 'c', { filter: ['arp'], timeoutMs: 15_000 });
    await stop();
    assert.ok(await newMaster(), 'the other node took over');
    const answer = await ask(lab);
    cap.stop();
    const lines = await cap.done;
    return {
      clientArp: lines.filter((l) => l.includes(`${clientMac} >`)),
      arpFromVmac: lines.filter((l) => l.includes(`${VMAC} >`)),
      ...(answer !== undefined ? { answer } : {}),
    };
  }

  test('A: vipflow Master with a VMAC, keepalived Backup; vipflow stops and keepalived takes over', async () => {
    const k = await startKeepalived(lab, 'k', 'ka', conf('ka', 100));
    keepaliveds.push(k);
    const v = await startVipflow(lab, 'v', 'va', conf('va', 150));
    vipflows.push(v);
    assert.ok(await v.waitForState('master', 5000), 'vipflow (150) is Master');
    assert.ok(await k.waitForLog(/\(VI_51\) Entering BACKUP STATE/, 3000), 'keepalived is Backup');

    // vipflow's VMAC as keepalived makes its own.
    const vm = await link(lab, 'v', VMAC_IF);
    assert.deepEqual(vm, { address: VMAC, up: true, kind: 'macvlan', mode: 'private' }, 'vipflow created a private macvlan with the virtual MAC');
    // The transition is logged just before the addresses are added.
    assert.ok(await pollUntil(async () => ((await holdsVip(lab, 'v', VMAC_IF)) ? true : undefined), 1000), 'the VIP is on the VMAC');
    assert.ok(!(await holdsVip(lab, 'v', 'eth0')), 'not on eth0');
    assert.equal(await sysctl(lab, 'v', `net/ipv4/conf/${VMAC_IF}/arp_ignore`), '1');
    assert.equal(await sysctl(lab, 'v', `net/ipv4/conf/${VMAC_IF}/accept_local`), '1');
    assert.equal(await sysctl(lab, 'v', 'net/ipv4/conf/eth0/arp_ignore'), '1');
    assert.equal(await sysctl(lab, 'v', 'net/ipv4/conf/eth0/arp_filter'), '1');
    // keepalived's Backup keeps its VMAC up, without the VIP: that is what vipflow copies.
    const km = await link(lab, 'k', VMAC_IF);
    assert.deepEqual(km, { address: VMAC, up: true, kind: 'macvlan', mode: 'private' }, "keepalived's VMAC while Backup");
    assert.ok(!(await holdsVip(lab, 'k', VMAC_IF)), 'keepalived (Backup) does not hold the VIP');
    assert.equal(await sysctl(lab, 'k', `net/ipv4/conf/${VMAC_IF}/arp_ignore`), '1', "keepalived's VMAC arp_ignore");
    assert.equal(await sysctl(lab, 'k', 'net/ipv4/conf/eth0/arp_filter'), '1', "keepalived's base arp_filter");

    // keepalived's side sees vipflow's adverts from the virtual MAC.
    const seen = await advertsSeenOn(lab, 'k');
    assert.ok(seen.length >= 1, 'adverts captured on k');
    assert.ok(
      seen.every((l) => l.includes(`${VMAC} > 01:00:5e:00:00:12`)),
      `adverts come from the virtual MAC:\n${seen.join('\n')}`,
    );

    // The client resolves the VIP to the virtual MAC.
    assert.equal(await ask(lab), 'v', 'the client reaches vipflow at the VIP');
    assert.equal((await clientEntry(lab))?.lladdr, VMAC, "the client's entry holds the virtual MAC");

    const r = await failover(
      async () => {
        v.signal('SIGTERM');
        assert.equal(await v.exited, 0);
      },
      async () => k.waitForLog(/\(VI_51\) Entering MASTER STATE/, 4000),
    );
    assert.equal(r.answer, 'k', 'the same neighbour entry reaches keepalived after the failover');
    assert.deepEqual(r.clientArp, [], 'the client sent no ARP');
    assert.ok(r.arpFromVmac.length >= 1, 'keepalived still sent gratuitous ARP from the virtual MAC at takeover');
    assert.equal((await clientEntry(lab))?.lladdr, VMAC, 'the entry is unchanged');
    assert.ok(await holdsVip(lab, 'k', VMAC_IF), 'keepalived holds the VIP on its VMAC');
    // vipflow removed its VMAC and restored eth0's sysctls.
    assert.equal(await link(lab, 'v', VMAC_IF), undefined, 'the VMAC is gone after vipflow stopped');
    assert.equal(await sysctl(lab, 'v', 'net/ipv4/conf/eth0/arp_ignore'), '0', 'eth0 arp_ignore restored');
    assert.equal(await sysctl(lab, 'v', 'net/ipv4/conf/eth0/arp_filter'), '0', 'eth0 arp_filter restored');
  });

  test('B: keepalived Master with a VMAC, vipflow Backup; keepalived stops and vipflow takes over', async () => {
    const k = keepaliveds[0]!;
    // Joining the VRRP group on the VMAC makes the kernel send IGMP reports:
    // from the virtual MAC they would tell the bridge that the Master's MAC is
    // on the Backup's port.
    const igmp = await startCapture(lab, 'k', { filter: ['igmp'], timeoutMs: 10_000 });
    const v = await startVipflow(lab, 'v', 'vb', conf('vb', 50));
    vipflows.push(v);
    assert.ok(await v.waitForState('backup', 3000), 'vipflow (50) is Backup');
    await new Promise((r) => setTimeout(r, 300));
    igmp.stop();
    const reports = (await igmp.done).filter((l) => l.includes('ethertype'));
    const vEth0 = (await link(lab, 'v', 'eth0'))!.address;
    assert.deepEqual(
      reports.filter((l) => l.includes(`${VMAC} >`)),
      [],
      'no IGMP report from the virtual MAC',
    );
    assert.ok(
      reports.some((l) => l.includes(`${vEth0} >`)),
      `the reports left through eth0 instead:\n${reports.join('\n')}`,
    );
    const vm = await link(lab, 'v', VMAC_IF);
    assert.deepEqual(vm, { address: VMAC, up: true, kind: 'macvlan', mode: 'private' }, "vipflow's VMAC is up while Backup, as keepalived's");
    assert.ok(!(await holdsVip(lab, 'v', VMAC_IF)), 'vipflow (Backup) does not hold the VIP');

    // vipflow's side sees keepalived's adverts from the virtual MAC, and its VMAC receives them.
    const seen = await advertsSeenOn(lab, 'v');
    assert.ok(
      seen.length >= 1 && seen.every((l) => l.includes(`${VMAC} > 01:00:5e:00:00:12`)),
      `keepalived's adverts come from the virtual MAC:\n${seen.join('\n')}`,
    );
    const before = (await v.status()).instances[0]!;
    assert.equal(before.vmac, VMAC_IF);
    assert.ok((before.counters.advertsReceived ?? 0) >= 1, `vipflow received keepalived's adverts on its VMAC: ${JSON.stringify(before.counters)}`);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(
      v.transitions.every((t) => t.to !== 'master'),
      'vipflow stayed Backup',
    );

    assert.equal(await ask(lab), 'k', 'the client reaches keepalived at the VIP');
    assert.equal((await clientEntry(lab))?.lladdr, VMAC, "the client's entry holds the virtual MAC");

    const mark = v.transitions.length;
    const r = await failover(
      async () => k.stop(),
      async () => (await v.waitForState('master', 4000, mark)) !== undefined,
    );
    assert.equal(r.answer, 'v', 'the same neighbour entry reaches vipflow after the failover');
    assert.deepEqual(r.clientArp, [], 'the client sent no ARP');
    assert.ok(r.arpFromVmac.length >= 1, 'vipflow sent gratuitous ARP from the virtual MAC at takeover');
    assert.equal((await clientEntry(lab))?.lladdr, VMAC, 'the entry is unchanged');
    assert.ok(await holdsVip(lab, 'v', VMAC_IF), 'vipflow holds the VIP on its VMAC');
    assert.equal(await link(lab, 'k', VMAC_IF), undefined, 'keepalived removed its VMAC when it stopped');

    await v.stop();
    assert.equal(await link(lab, 'v', VMAC_IF), undefined, 'the VMAC is gone after vipflow stopped');
    assert.ok(await pollUntil(async () => ((await holdsVip(lab, 'v', 'eth0')) ? undefined : true), 1000), 'no VIP left');
    assert.equal((await lab.exec('v', 'nft', ['list', 'table', 'ip', 'vipflow_vmac'], 5000)).code, 1, "vipflow's VMAC table is gone");
  });

  test("C: vmac_xmit_base: adverts leave from eth0, and keepalived's from its VMAC still reach vipflow", async () => {
    const k = await startKeepalived(lab, 'k', 'kc', conf('kc', 100));
    keepaliveds.push(k);
    const vEth0 = (await link(lab, 'v', 'eth0'))!.address;
    let v = await startVipflow(lab, 'v', 'vc', conf('vc', 150, true));
    vipflows.push(v);
    assert.ok(await v.waitForState('master', 5000), 'vipflow (150) is Master');
    const seen = await advertsSeenOn(lab, 'k');
    assert.ok(seen.length >= 1 && seen.every((l) => l.includes(`${vEth0} > 01:00:5e:00:00:12`)), `adverts come from eth0's MAC:\n${seen.join('\n')}`);
    assert.ok(await pollUntil(async () => ((await holdsVip(lab, 'v', VMAC_IF)) ? true : undefined), 1000), 'the VIP is still on the VMAC');
    // keepalived may have been Master alone before vipflow started: it must be Backup now and stay so.
    const lastState = () => [...k.log().matchAll(/\(VI_51\) Entering (\w+) STATE/g)].at(-1)?.[1];
    assert.ok(await pollUntil(() => (lastState() === 'BACKUP' ? true : undefined), 3000), 'keepalived is Backup');
    const masters = () => k.log().split('(VI_51) Entering MASTER STATE').length - 1;
    const before = masters();
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(masters(), before, 'keepalived stays Backup: it takes adverts from the base MAC');
    await v.stop();
    assert.ok(await pollUntil(() => (masters() > before ? true : undefined), 4000), 'keepalived takes over');

    v = await startVipflow(lab, 'v', 'vc2', conf('vc2', 50, true));
    vipflows.push(v);
    assert.ok(await v.waitForState('backup', 3000), 'vipflow (50) is Backup');
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(
      v.transitions.every((t) => t.to !== 'master'),
      'vipflow stayed Backup',
    );
    const st = (await v.status()).instances[0]!;
    assert.ok((st.counters.advertsReceived ?? 0) >= 2, `keepalived's adverts from its virtual MAC reached vipflow: ${JSON.stringify(st.counters)}`);
    await v.stop();
    await k.stop();
    assert.equal(await link(lab, 'v', VMAC_IF), undefined, 'the VMAC is gone after vipflow stopped');
  });

  test('E: IPv6: vipflow Master sends from 00:00:5e:00:02:VRID and its link-local address, keepalived stays Backup', async () => {
    const vip6 = `fd00:198:18:${SUBNET.toString(16)}::152`;
    const conf6 = (id: string, priority: number) =>
      conf(id, priority).replace(`VI_${VRID}`, 'VI_52').replace(`virtual_router_id ${VRID}`, 'virtual_router_id 52').replace(`${VIP}/24`, `${vip6}/64`);
    const vmac6 = '00:00:5e:00:02:34';
    const k = await startKeepalived(lab, 'k', 'ke', conf6('ke', 100));
    keepaliveds.push(k);
    const v = await startVipflow(lab, 'v', 've', conf6('ve', 150));
    vipflows.push(v);
    assert.ok(await v.waitForState('master', 5000), 'vipflow (150) is Master');
    const lastState = () => [...k.log().matchAll(/\(VI_52\) Entering (\w+) STATE/g)].at(-1)?.[1];
    assert.ok(await pollUntil(() => (lastState() === 'BACKUP' ? true : undefined), 3000), `keepalived is Backup:\n${k.log()}`);
    const vm = await link(lab, 'v', 'vrrp.52');
    assert.deepEqual(vm, { address: vmac6, up: true, kind: 'macvlan', mode: 'private' });
    const cap = await startCapture(lab, 'k', { filter: ['ip6', 'proto', '112'], count: 3, timeoutMs: 4000 });
    const seen = (await cap.done).filter((l) => l.includes('ethertype'));
    assert.ok(seen.length >= 1 && seen.every((l) => l.includes(`${vmac6} > 33:33:00:00:00:12`)), `IPv6 adverts from the virtual MAC:\n${seen.join('\n')}`);
    const onVmac = await readAddresses(lab, 'v', 'vrrp.52');
    assert.ok(
      onVmac.some((a) => a.local === lab.node('v').linkLocal),
      `the base's link-local address is on the VMAC: ${JSON.stringify(onVmac)}`,
    );
    assert.ok(
      onVmac.some((a) => a.local === vip6),
      'the VIP is on the VMAC',
    );
    const masters = k.log().split('(VI_52) Entering MASTER STATE').length - 1;
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(k.log().split('(VI_52) Entering MASTER STATE').length - 1, masters, 'keepalived stays Backup');
    await v.stop();
    assert.ok(await k.waitForLog(/\(VI_52\) Entering MASTER STATE/, 4000), 'keepalived takes over');
    await k.stop();
    assert.equal(await link(lab, 'v', 'vrrp.52'), undefined);
  });

  test('D: a configured VMAC name held by another kind of interface is ignored for the default, as keepalived does', async () => {
    // keepalived 2.2.7 with `use_vmac lo`: "interface lo already exists and is not a private macvlan; ignoring vmac if_name", then vrrp.VRID.
    const v = await startVipflow(lab, 'v', 'vd', conf('vd', 50, false, 'lo'));
    vipflows.push(v);
    assert.deepEqual(await link(lab, 'v', VMAC_IF), { address: VMAC, up: true, kind: 'macvlan', mode: 'private' });
    assert.ok(
      v.lines.some((l) => l.level === 40 && /lo exists and is not a macvlan/.test(l.msg)),
      'warned',
    );
    assert.equal((await link(lab, 'v', 'lo'))?.kind, undefined, 'lo untouched');
    await v.stop();
    assert.equal(await link(lab, 'v', VMAC_IF), undefined);
  });
});
