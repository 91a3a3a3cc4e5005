import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLb } from '../../cli/status.js';
import type { LoadBalancerStatus } from '../../daemon/load-balancer.js';

const lb: LoadBalancerStatus = {
  backend: 'nftables',
  services: 1,
  destinations: 2,
  applies: { ok: 3, failed: 1 },
  last: { ok: true, time: '2026-12-02T03:00:00.000Z', ms: 12.5, added: 0, removed: 0, changed: 1 },
  refused: [{ service: '198.18.3.100:82/tcp', why: '198.18.3.100:82/tcp: lb_algo lblc is not supported by the nftables backend' }],
  table: [
    {
      id: '[fd00:198:18:3::100]:80/tcp',
      virtualServer: '[fd00:198:18:3::100]:80',
      scheduler: 'wrr',
      lbKind: 'NAT',
      destinations: [
        { address: 'fd00:198:18:2::3', port: 80, weight: 3 },
        { address: 'fd00:198:18:2::4', port: 80, weight: 0 },
      ],
    },
  ],
  counters: [
    {
      id: '[fd00:198:18:3::100]:80/tcp',
      packets: 15,
      bytes: 1500,
      connections: 3,
      destinations: [{ address: 'fd00:198:18:2::3', port: 80, packets: 15, bytes: 1500 }],
    },
  ],
};

test('status text: the load balancer with its last apply, weights, counters and refusals', () => {
  assert.deepEqual(formatLb(lb), [
    'lb nftables: 1 services, 2 destinations, applies 3 ok 1 failed; last apply ok at 2026-12-02T03:00:00.000Z (12.5 ms, +0 -0 ~1)',
    '  service [fd00:198:18:3::100]:80/tcp wrr NAT pkts 15 bytes 1500 conns 3',
    '    -> [fd00:198:18:2::3]:80    weight 3   pkts 15 bytes 1500',
    '    -> [fd00:198:18:2::4]:80    weight 0',
    '  refused 198.18.3.100:82/tcp: lb_algo lblc is not supported by the nftables backend',
  ]);
});

test('status text: a failed apply, a daemon without virtual servers and an older daemon', () => {
  const failed = formatLb({ ...lb, last: { ok: false, time: 'T', added: 1, removed: 0, changed: 0, error: 'nft: Error' }, table: [], refused: [] });
  assert.deepEqual(failed, ['lb nftables: 1 services, 2 destinations, applies 3 ok 1 failed; last apply FAILED at T: nft: Error']);
  assert.deepEqual(formatLb({ ...lb, backend: 'none', services: 0 }), []);
  assert.deepEqual(formatLb(undefined), []);
});
