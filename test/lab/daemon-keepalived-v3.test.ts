// Real network: vipflow (`vipflow run`, node v) against keepalived 2.2.7
// (node k), VRRPv3 with 100 ms adverts: IPv4 multicast, IPv6 multicast and
// IPv4 unicast, each way round (see daemon-interop.ts for the steps).
// Starts: a namespace lab, vipflow daemons, keepalived.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addDropRule, clearDropRules, sleep } from '../../infra/lab/index.js';
import { entered, NODES, runInterop, startK, startV, vipOf, waitEntered, interopSuite, type InteropCase } from './daemon-interop.js';
import { holders, waitForHolder } from './vipflow-daemon.js';

const PREFIX = 'vfdtk3';

describe('vipflow and keepalived, VRRPv3', () => {
  const ctx = interopSuite(PREFIX, 121, true);

  test('IPv4 multicast: election, failover both ways, preemption both ways', async () => {
    await runInterop(ctx, { label: 'v3 IPv4', version: 3, family: 4, advertInt: 0.1, vrid: 31 });
  });

  test('IPv6 multicast (link-local sources): election, failover both ways, preemption both ways', async () => {
    await runInterop(ctx, { label: 'v3 IPv6', version: 3, family: 6, advertInt: 0.1, vrid: 32 });
  });

  test('IPv4 unicast (unicast_src_ip / unicast_peer): election, failover both ways, preemption both ways', async () => {
    await runInterop(ctx, { label: 'v3 IPv4 unicast', version: 3, family: 4, unicast: true, advertInt: 0.1, vrid: 33 });
  });

  test('equal priorities, both Master after a partition: the higher primary address wins on both sides (RFC 5798 6.4.3)', async () => {
    const c: InteropCase = { label: 'v3 tie', version: 3, family: 4, advertInt: 0.1, vrid: 34 };
    const vip = vipOf(ctx.lab, c);
    // Partition v from k for VRRP so that both become Master.
    assert.equal(await addDropRule(ctx.lab, 'v', 'input', 'ip protocol vrrp'), undefined);
    assert.equal(await addDropRule(ctx.lab, 'v', 'output', 'ip protocol vrrp'), undefined);
    const v = await startV(ctx, c, 100);
    const k = await startK(ctx, c, 100);
    assert.ok(await v.waitForState('master', 2000), 'vipflow Master');
    assert.ok(await waitEntered(k, c, 'MASTER', 0, 2000), 'keepalived Master');
    assert.deepEqual((await holders(ctx.lab, NODES, vip)).sort(), ['k', 'v'], 'split brain while partitioned');
    // Heal: k is host 2 (198.18.121.2), v host 1, so keepalived must stay Master.
    const mark = v.transitions.length;
    assert.equal(await clearDropRules(ctx.lab, 'v'), undefined);
    assert.ok(await v.waitForState('backup', 2000, mark), 'vipflow yields to the equal priority from a higher address');
    assert.ok(await waitForHolder(ctx.lab, NODES, vip, 'k', 2000), 'the VIP is on keepalived only');
    await sleep(500);
    assert.equal(entered(k, c, 'BACKUP'), 1, 'keepalived never left Master');
    assert.deepEqual(await holders(ctx.lab, NODES, vip), ['k']);
    await v.stop();
    await k.stop();
  });
});
