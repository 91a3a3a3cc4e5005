// Real network: vipflow (`vipflow run`, node v) against keepalived 2.2.7
// (node k), VRRPv2 IPv4 with 1 s adverts (v2 counts whole seconds) and PASS
// authentication: the same password interoperates each way round (steps in
// daemon-interop.ts); different passwords are rejected by both sides.
// Starts: a namespace lab, vipflow daemons, keepalived.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { confFile } from './daemon-conf.js';
import { entered, masterDownMs, NODES, runInterop, startK, startV, vipOf, waitEntered, interopSuite, type InteropCase } from './daemon-interop.js';
import { holders } from '../../lab/vipflow.js';

const PREFIX = 'vfdtk2';

describe('vipflow and keepalived, VRRPv2 with PASS authentication', () => {
  const ctx = interopSuite(PREFIX, 122, false);

  test('same password: election, failover both ways, preemption both ways', async () => {
    await runInterop(ctx, { label: 'v2 IPv4 PASS', version: 2, family: 4, advertInt: 1, password: 'vf-pass1', vrid: 21 });
  });

  test('different passwords: each side drops the other (both Master), vipflow counts auth-mismatch, keepalived logs it', async () => {
    const c: InteropCase = { label: 'v2 wrong PASS', version: 2, family: 4, advertInt: 1, vrid: 22 };
    const vip = vipOf(ctx.lab, c);
    const inst = (priority: number, password: string) => ({
      name: 'VI_22',
      vrid: 22,
      version: 2 as const,
      priority,
      advertInt: 1,
      vips: [`${vip}/24`],
      password,
    });
    const k = await startK(ctx, c, 100, confFile('k22', [inst(100, 'kpass')]));
    const v = await startV(ctx, c, 150, confFile('v22', [inst(150, 'vpass')]));
    assert.ok(await v.waitForState('master', masterDownMs(c, 150) + 1500), 'vipflow is Master');
    assert.ok(await waitEntered(k, c, 'MASTER', 0, masterDownMs(c, 100) + 1500), 'keepalived is Master too: it ignored the higher priority');
    // Two more intervals: neither steps down.
    await new Promise((r) => setTimeout(r, 2200));
    assert.equal(entered(k, c, 'BACKUP'), 1, 'keepalived only in its initial Backup');
    assert.ok(
      v.transitions.every((t) => t.from !== 'master'),
      'vipflow never left Master',
    );
    assert.deepEqual((await holders(ctx.lab, NODES, vip)).sort(), ['k', 'v'], 'split brain: both hold the VIP');
    const status = await v.status();
    const drops = status.instances[0]!.drops;
    // At least keepalived's first advert. How many follow depends on phase:
    // keepalived re-arms a Master's advert timer on every packet it reads,
    // valid or not (vrrp_dispatcher_read -> vrrp_init_instance_sands), so
    // vipflow's adverts arriving just before that timer starve keepalived's
    // (seen in captures: keepalived silent for 2.5 s while logging our bad passwd).
    assert.ok(drops['auth-mismatch'] >= 1, `vipflow counted auth-mismatch drops: ${JSON.stringify(drops)}`);
    assert.equal(status.instances[0]!.counters.advertsReceived ?? 0, 0, 'no advert reached the machine');
    assert.match(k.log(), /\(VI_22\) received an invalid passwd!/);
    assert.ok(
      v.lines.some((l) => l.msg === 'advert dropped' && l.reason === 'auth-mismatch'),
      'vipflow logged the first drop',
    );
    await v.stop();
    await k.stop();
  });

  test('different advert_int (v2 requires equal intervals, RFC 3768 7.1): both sides discard the other, both Master', async () => {
    const c: InteropCase = { label: 'v2 intervals', version: 2, family: 4, advertInt: 1, vrid: 23 };
    const vip = vipOf(ctx.lab, c);
    const base = { name: 'VI_23', vrid: 23, version: 2 as const, vips: [`${vip}/24`] };
    const k = await startK(ctx, c, 100, confFile('k23', [{ ...base, priority: 100, advertInt: 2, state: 'MASTER' }]));
    const v = await startV(ctx, c, 150, confFile('v23', [{ ...base, priority: 150, advertInt: 1, state: 'MASTER' }]));
    assert.ok(await v.waitForState('master', 3000), 'vipflow Master');
    // keepalived (state MASTER, 2 s interval) takes over after about one interval plus its start-up; generous under load.
    assert.ok(await waitEntered(k, c, 'MASTER', 0, 12_000), 'keepalived Master');
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(entered(k, c, 'BACKUP'), 1, 'keepalived stays Master: it discards the other interval');
    assert.ok(
      v.transitions.every((t) => t.from !== 'master'),
      'vipflow stays Master',
    );
    assert.match(k.log(), /\(VI_23\) advertisement interval mismatch/);
    const s = await v.status();
    assert.ok((s.instances[0]!.counters.advertsDiscarded ?? 0) >= 1, `vipflow discarded keepalived's adverts: ${JSON.stringify(s.instances[0]!.counters)}`);
    await v.stop();
    await k.stop();
  });
});
