/** nftables rendering: scheduler tables, refusals, and the shape of the full and incremental transactions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LbState, LbVirtualService } from '../../../infra/lb/model.js';
import {
  fallbackOf,
  granularityMask,
  interleave,
  layoutFor,
  maglevTable,
  mhTableSize,
  renderChange,
  renderClear,
  renderNft,
  shTable,
  slotWeights,
  unsupportedOnNft,
} from '../../../infra/lb/nft-render.js';

function svc(over: Partial<LbVirtualService> = {}): LbVirtualService {
  return {
    id: '198.18.0.100:80/tcp',
    virtualServer: '198.18.0.100:80',
    service: { kind: 'address', family: 4, protocol: 'tcp', address: '198.18.0.100', port: 80 },
    scheduler: 'rr',
    lbKind: 'NAT',
    destinations: [
      { address: '198.18.1.1', port: 80, weight: 1 },
      { address: '198.18.1.2', port: 8080, weight: 1 },
    ],
    ...over,
  };
}

const count = (xs: readonly number[]): number[] => xs.reduce<number[]>((c, x) => ((c[x] = (c[x] ?? 0) + 1), c), []);

test('wrr slots: reduced by gcd, interleaved, capped with each destination kept', () => {
  assert.deepEqual(slotWeights([30, 20, 10], 1024), [3, 2, 1]);
  assert.deepEqual(interleave([3, 2, 1]), [0, 1, 0, 2, 1, 0]);
  const capped = slotWeights([1000, 1, 3000], 100);
  assert.ok(capped.reduce((a, b) => a + b) <= 101);
  assert.deepEqual(capped, [24, 1, 74]);
});

test('sh table: 256 buckets, each destination weight buckets per turn (ip_vs_sh_reassign)', () => {
  const t = shTable([2, 1]);
  assert.equal(t.length, 256);
  assert.deepEqual(t.slice(0, 6), [0, 0, 1, 0, 0, 1]);
});

test('mh: a Maglev table fills every slot, in proportion to the weights, and a removal moves few clients', () => {
  const keys = ['a', 'b', 'c', 'd'];
  const m = mhTableSize(keys.length);
  assert.equal(m, 251);
  const t = maglevTable(keys, [1, 1, 1, 1], m);
  assert.ok(t.every((x) => x >= 0));
  for (const c of count(t)) assert.ok(Math.abs(c - m / 4) <= 2, String(c));
  const w = count(maglevTable(keys, [2, 1, 1, 1], m));
  assert.ok(Math.abs(w[0]! - (2 * m) / 5) <= 3, String(w));
  // Remove 'd': slots that were not d's should mostly keep their destination.
  const after = maglevTable(['a', 'b', 'c'], [1, 1, 1], m);
  const moved = t.filter((x, i) => x !== 3 && after[i] !== x).length;
  assert.ok(moved < m * 0.15, `moved ${moved} of ${m}`);
});

test('unsupported on nftables: DR, TUN, connection-count schedulers, families, bad addresses; wlc/lc fall back', () => {
  assert.equal(unsupportedOnNft(svc()), null);
  assert.equal(unsupportedOnNft(svc({ scheduler: 'wlc' })), null);
  assert.deepEqual(fallbackOf('wlc')?.to, 'wrr');
  assert.deepEqual(fallbackOf('lc')?.to, 'rr');
  assert.equal(fallbackOf('rr'), undefined);
  assert.match(unsupportedOnNft(svc({ lbKind: 'DR' }))!, /lb_kind DR is not supported.*netdev ingress/);
  assert.match(unsupportedOnNft(svc({ lbKind: 'TUN' }))!, /lb_kind TUN/);
  for (const s of ['lblc', 'lblcr', 'sed', 'nq', 'ovf', 'twos'])
    assert.match(unsupportedOnNft(svc({ scheduler: s }))!, new RegExp(`lb_algo ${s} is not supported.*supported: rr, wrr`));
  assert.match(unsupportedOnNft(svc({ destinations: [{ address: 'fd00::1', port: 80, weight: 1 }] }))!, /cannot translate between families/);
  assert.match(unsupportedOnNft(svc({ destinations: [{ address: 'example.com', port: 80, weight: 1 }] }))!, /not an IP address/);
  assert.match(unsupportedOnNft(svc({ persistenceTimeoutS: 60, persistenceGranularity: '255.0.255.0' }))!, /not a netmask/);
  assert.deepEqual(granularityMask(svc({ persistenceGranularity: '255.255.255.0' })), { prefix: 24 });
  assert.equal(granularityMask(svc({ persistenceGranularity: '255.255.255.255' })), undefined);
});

test('full transaction: only table inet vipflow, deleted and re-created; weight 0 in no scheduler table', () => {
  const state: LbState = {
    services: [svc({ scheduler: 'wrr', destinations: [...svc().destinations, { address: '198.18.1.3', port: 80, weight: 0 }] })],
  };
  const script = renderNft(state);
  const lines = script.trim().split('\n');
  assert.deepEqual(lines.slice(0, 3), ['add table inet vipflow', 'delete table inet vipflow', 'add table inet vipflow']);
  assert.ok(
    lines.every((l) => / inet vipflow( |$)/.test(l)),
    'every command names table inet vipflow',
  );
  assert.doesNotMatch(script, /masquerade|snat/);
  const dnat = lines.find((l) => l.includes('dnat'))!;
  assert.match(dnat, /numgen inc mod 2 map \{ 0 : 198\.18\.1\.1 \. 80, 1 : 198\.18\.1\.2 \. 8080 \}/);
  assert.doesNotMatch(dnat, /198\.18\.1\.3/);
  assert.match(script, /add element inet vipflow port4 \{ 198\.18\.0\.100 \. tcp \. 80 : jump s0 \}/);
  assert.match(script, /type nat hook prerouting priority dstnat/);
  assert.equal(renderClear(), 'add table inet vipflow\ndelete table inet vipflow\n');
});

test('persistence: one dynamic set per destination, looked up before scheduling; IPv6 NAT syntax', () => {
  const s = svc({
    id: '[fd00::100]:80/tcp',
    service: { kind: 'address', family: 6, protocol: 'tcp', address: 'fd00::100', port: 80 },
    scheduler: 'sh',
    persistenceTimeoutS: 300,
    persistenceGranularity: '64',
    destinations: [
      { address: 'fd00::1', port: 80, weight: 1 },
      { address: 'fd00::2', port: 80, weight: 1 },
    ],
  });
  const script = renderNft({ services: [s] });
  assert.match(script, /add set inet vipflow p0_fd00__1_80 \{ type ipv6_addr; flags dynamic,timeout; timeout 300s; \}/);
  assert.match(script, /update @p0_fd00__1_80 \{ ip6 saddr & ffff:ffff:ffff:ffff:0:0:0:0 \} meta l4proto tcp dnat ip6 to \[fd00::1\]:80/);
  assert.match(script, /ip6 saddr & ffff:ffff:ffff:ffff:0:0:0:0 @p0_fd00__1_80 goto d0_fd00__1_80/);
  assert.match(script, /jhash ip6 saddr mod 256 seed 0x5f3759df vmap/);
});

test('fwmark and port-0 services: dispatched by mark / address and protocol, destination port kept', () => {
  const f = svc({
    id: 'fwmark:7/v4',
    service: { kind: 'fwmark', family: 4, fwmark: 7 },
    destinations: [{ address: '198.18.1.1', port: undefined, weight: 1 }],
  });
  const script = renderNft({ services: [f] });
  assert.match(script, /add element inet vipflow fwm4 \{ 7 : jump s0 \}/);
  assert.match(script, /add rule inet vipflow s0 dnat ip to 198\.18\.1\.1\n/);
  assert.match(unsupportedOnNft({ ...f, destinations: [{ address: '198.18.1.1', port: 80, weight: 1 }] })!, /keeps the client's destination port/);
});

test('incremental transaction: nothing, one changed service, a removed and an added one; numbers stay', () => {
  const a = svc();
  const b = svc({ id: '198.18.0.101:80/tcp', service: { kind: 'address', family: 4, protocol: 'tcp', address: '198.18.0.101', port: 80 } });
  const prev: LbState = { services: [a, b] };
  const l1 = layoutFor(prev);
  assert.deepEqual([...l1.values()], [0, 1]);
  assert.equal(renderChange(prev, l1, prev, l1), undefined);

  const weights: LbState = { services: [a, { ...b, scheduler: 'wrr', destinations: [{ ...b.destinations[0]!, weight: 5 }, b.destinations[1]!] }] };
  const ch = renderChange(prev, l1, weights, layoutFor(weights, l1))!;
  assert.doesNotMatch(ch, /delete table|s0/);
  assert.match(ch, /^flush chain inet vipflow s1$/m);
  assert.match(ch, /numgen inc mod 6 map/);
  // The dispatch element stays: no packet finds the service missing.
  assert.doesNotMatch(ch, /element inet vipflow port4/);

  const c = svc({ id: '198.18.0.102:80/tcp', service: { kind: 'address', family: 4, protocol: 'tcp', address: '198.18.0.102', port: 80 } });
  const next: LbState = { services: [b, c] };
  const l2 = layoutFor(next, l1);
  assert.equal(l2.get(b.id), 1);
  assert.equal(l2.get(c.id), 2, 'a new service does not reuse a number freed in the same step');
  const rc = renderChange(prev, l1, next, l2)!.split('\n');
  const at = (re: RegExp): number => rc.findIndex((l) => re.test(l));
  assert.ok(at(/^delete element inet vipflow port4 \{ 198\.18\.0\.100 \. tcp \. 80 \}$/) >= 0);
  assert.ok(at(/^delete chain inet vipflow s0$/) > at(/^delete element inet vipflow port4/), 'element before the chain it jumps to');
  assert.ok(at(/^add element inet vipflow port4 \{ 198\.18\.0\.102 \. tcp \. 80 : jump s2 \}$/) > at(/^add chain inet vipflow s2$/));
});

test('incremental transaction with persistence: staying destinations keep their sets, a removed one loses its set', () => {
  const a = svc({ persistenceTimeoutS: 60 });
  const prev: LbState = { services: [a] };
  const l = layoutFor(prev);
  const next: LbState = { services: [{ ...a, destinations: [{ ...a.destinations[0]!, weight: 3 }] }] };
  const ch = renderChange(prev, l, next, layoutFor(next, l))!;
  assert.match(ch, /^flush chain inet vipflow d0_198_18_1_1_80$/m);
  assert.doesNotMatch(ch, /delete set inet vipflow p0_198_18_1_1_80/);
  assert.match(ch, /^delete set inet vipflow p0_198_18_1_2_8080$/m);
  // Another timeout: the sets start anew.
  const other: LbState = { services: [{ ...a, persistenceTimeoutS: 120 }] };
  assert.match(renderChange(prev, l, other, layoutFor(other, l))!, /^delete set inet vipflow p0_198_18_1_1_80$/m);
});

test('two services sharing VIP, protocol, real server and port: one acct counter, owned by the first; removing either deletes only what exists', () => {
  const a = svc();
  const b = svc({ id: '198.18.0.100:81/tcp', service: { kind: 'address', family: 4, protocol: 'tcp', address: '198.18.0.100', port: 81 } });
  const both: LbState = { services: [a, b] };
  const full = renderNft(both);
  assert.match(full, /add counter inet vipflow c0_198_18_1_1_80\n/);
  assert.doesNotMatch(full, /add counter inet vipflow c1_198_18_1_1_80\n/);
  assert.equal(full.match(/198\.18\.0\.100 \. tcp \. 198\.18\.1\.1 \. 80 :/g)?.length, 1);
  const l = layoutFor(both);
  const onlyA: LbState = { services: [a] };
  const dropB = renderChange(both, l, onlyA, layoutFor(onlyA, l))!;
  assert.doesNotMatch(dropB, /delete counter inet vipflow c1_/);
  assert.doesNotMatch(dropB, /delete element inet vipflow acct4/);
  const onlyB: LbState = { services: [b] };
  const dropA = renderChange(both, l, onlyB, layoutFor(onlyB, l))!;
  assert.match(dropA, /^delete counter inet vipflow c0_198_18_1_1_80$/m);
  assert.match(dropA, /^delete element inet vipflow acct4 \{ 198\.18\.0\.100 \. tcp \. 198\.18\.1\.1 \. 80, /m);
});
