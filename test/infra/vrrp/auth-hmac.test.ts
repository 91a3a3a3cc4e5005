// The runner's auth_hmac state: keepalived's three modes, signing with the active key,
// verifying with any configured key (rotation), one sequence per logical advert.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthHmacState, planAuthHmac, type AuthHmacPlan } from '../../../infra/vrrp/auth-hmac.js';
import { encodeVrrp, parseAddress, splitAuthTrailer } from '../../../wire/codec/index.js';
import { defineConfig } from '../../../config/define.js';

const src = parseAddress('198.18.0.1')!;
const group = parseAddress('224.0.0.18')!;
const ctx = { version: 3 as const, vrid: 7, source: src };
const K1 = new Uint8Array(32).fill(1);
const K2 = new Uint8Array(32).fill(2);
const plan = (mode: AuthHmacPlan['mode'], active = 1, keys: [number, Uint8Array][] = [[1, K1]]): AuthHmacPlan => ({
  mode,
  keys: new Map(keys),
  activeKey: active,
  antiReplay: 'time',
  timeWindowSec: 5,
});
const message = () =>
  encodeVrrp({ version: 3, vrid: 7, priority: 100, maxAdvertIntervalCs: 100, addresses: [parseAddress('198.18.0.100')!] }, { source: src, destination: group });
const NOW = 1_800_000_000_000;

function signed(state: AuthHmacState, now = NOW) {
  const [out] = state.sign([{ payload: message(), destinationBytes: group }], ctx, now);
  return splitAuthTrailer(out!, 4)!;
}

test('enforce drops an advert without a trailer; permissive and receive-only accept it', () => {
  const plain = message();
  const r = new AuthHmacState(plan('enforce'), 0).check(undefined, undefined, ctx, NOW);
  assert.equal(r.ok ? 'ok' : r.reason, 'hmac-missing');
  for (const mode of ['permissive', 'receive-only'] as const)
    assert.equal(new AuthHmacState(plan(mode), 0).check(undefined, undefined, ctx, NOW).ok, true, mode);
  assert.equal(splitAuthTrailer(plain, 4), null);
});

test('receive-only does not sign but still verifies a trailer, and refuses a bad one', () => {
  const receiver = new AuthHmacState(plan('receive-only'), 0);
  assert.equal(receiver.signs, false);
  assert.equal(new AuthHmacState(plan('permissive'), 0).signs, true);
  const good = signed(new AuthHmacState(plan('enforce'), 0));
  assert.equal(receiver.check(good.message, good.trailer, ctx, NOW).ok, true);
  const bad = signed(new AuthHmacState(plan('enforce', 1, [[1, K2]]), 0), NOW + 1);
  const v = receiver.check(bad.message, bad.trailer, ctx, NOW + 1);
  assert.equal(v.ok ? 'ok' : v.reason, 'hmac-bad');
});

test('rotation: a receiver with both keys accepts either active key; one without the new id reports unknown-key', () => {
  const both = new AuthHmacState(
    plan('enforce', 1, [
      [1, K1],
      [2, K2],
    ]),
    0,
  );
  const onlyOld = new AuthHmacState(plan('enforce', 1, [[1, K1]]), 0);
  const sender = new AuthHmacState(
    plan('enforce', 1, [
      [1, K1],
      [2, K2],
    ]),
    0,
  );
  const a = signed(sender, NOW);
  assert.equal(both.check(a.message, a.trailer, ctx, NOW).ok, true);
  sender.plan = plan('enforce', 2, [
    [1, K1],
    [2, K2],
  ]);
  const b = signed(sender, NOW + 100);
  assert.equal(both.check(b.message, b.trailer, ctx, NOW + 100).ok, true, 'the replay mark carries over the key change');
  const v = onlyOld.check(b.message, b.trailer, ctx, NOW + 100);
  assert.equal(v.ok ? 'ok' : v.reason, 'hmac-unknown-key');
});

test('sequences grow strictly across sends within one clock tick, and every unicast copy shares one', () => {
  const s = new AuthHmacState(plan('enforce'), 2);
  const peers = [parseAddress('198.18.0.2')!, parseAddress('198.18.0.3')!];
  const copies = s.sign(
    peers.map((p) => ({ payload: message(), destinationBytes: p })),
    ctx,
    NOW,
  );
  assert.deepEqual(copies[0], copies[1]);
  const next = s.sign([{ payload: message(), destinationBytes: peers[0]! }], ctx, NOW);
  assert.ok(Buffer.compare(next[0]!.subarray(16, 24), copies[0]!.subarray(16, 24)) > 0);
});

test('planAuthHmac: keys decoded, defaults resolved, strict mode forces enforce', () => {
  const cfg = defineConfig({
    vrrpInstances: [
      {
        name: 'VI',
        interface: 'eth0',
        virtualRouterId: 7,
        advertInt: 3,
        virtualIpaddress: [{ address: '198.18.0.100' }],
        authHmac: { keys: [{ id: 3, key: 'hex:' + '01'.repeat(32) }], activeKey: 3, mode: 'permissive' },
      },
    ],
  });
  const p = planAuthHmac(cfg.vrrpInstances[0]!)!;
  assert.deepEqual([p.mode, p.activeKey, p.antiReplay, p.timeWindowSec, p.keys.get(3)], ['permissive', 3, 'time', 9, K1]);
  assert.equal(planAuthHmac({ ...cfg.vrrpInstances[0]!, strictMode: true })!.mode, 'enforce');
});
