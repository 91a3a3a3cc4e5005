// Real network: vipflow (`vipflow run`, node v) against keepalived 2.2.7
// (node k), VRRPv3 with 100 ms adverts: IPv4 multicast, IPv6 multicast,
// IPv4 and IPv6 unicast, each way round (see daemon-interop.ts for the steps).
// Starts: a namespace lab, vipflow daemons, keepalived.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addDropRule, clearDropRules, pollUntil, sleep } from '../../lab/index.js';
import { entered, NODES, runInterop, startK, startV, vipOf, waitEntered, interopSuite, type InteropCase } from './daemon-interop.js';
import { confFile } from './daemon-conf.js';
import { holders, waitForHolder } from '../../lab/vipflow.js';

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

  test('IPv6 unicast (global unicast_src_ip / unicast_peer): election, failover both ways, preemption both ways', async () => {
    await runInterop(ctx, { label: 'v3 IPv6 unicast', version: 3, family: 6, unicast: true, advertInt: 0.1, vrid: 36 });
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

  test("different intervals (v3): vipflow as Backup learns keepalived's 500 ms Master_Adver_Interval and does not take over between its adverts", async () => {
    const c: InteropCase = { label: 'v3 intervals', version: 3, family: 4, advertInt: 0.5, vrid: 35 };
    const vip = vipOf(ctx.lab, c);
    const base = { name: 'VI_35', vrid: 35, version: 3 as const, vips: [`${vip}/24`] };
    // state MASTER: keepalived takes over after one interval instead of three.
    const k = await startK(ctx, c, 150, confFile('k35', [{ ...base, priority: 150, advertInt: 0.5, state: 'MASTER' }]));
    assert.ok(await waitEntered(k, c, 'MASTER', 0, 5000), 'keepalived Master');
    const v = await startV(ctx, c, 100, confFile('v35', [{ ...base, priority: 100, advertInt: 0.1 }]));
    // Until the first advert arrives a Backup can only use its own interval
    // (RFC 5798 6.4.1), so one early takeover is allowed; once it heard
    // keepalived it must wait by keepalived's interval.
    const learned = await pollUntil(
      async () => {
        const st = await v.status();
        return st.instances[0]!.state === 'backup' && st.instances[0]!.masterAdvertIntervalCs === 50 ? true : undefined;
      },
      4000,
      100,
    );
    assert.ok(learned, 'vipflow Backup with the learned 500 ms interval');
    const mark = v.transitions.length;
    // Three of keepalived's intervals: with its own 100 ms interval vipflow would take over after ~0.4 s.
    await sleep(1600);
    assert.ok(
      v.transitions.slice(mark).every((t) => t.to !== 'master'),
      `vipflow stayed Backup: ${JSON.stringify(v.transitions)}`,
    );
    const s = await v.status();
    assert.equal(s.instances[0]!.masterAdvertIntervalCs, 50, 'learned interval');
    assert.ok((s.instances[0]!.masterDownInMs ?? 0) > 1000, `Master_Down timer follows it: ${s.instances[0]!.masterDownInMs} ms`);
    assert.deepEqual(await holders(ctx.lab, NODES, vip), ['k']);
    await v.stop();
    await k.stop();
  });
});
