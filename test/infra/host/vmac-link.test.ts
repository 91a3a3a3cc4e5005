// Pure: the nft script for the VMAC multicast-report rules (keepalived's `out` chain). No network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vmacFirewallScript, VMAC_TABLE } from '../../../infra/host/vmac-link.js';

test('IGMP and MLD reports from each VMAC leave through its base; the tables are replaced whole', () => {
  const script = vmacFirewallScript([
    { name: 'vrrp.51', base: 'eth0' },
    { name: 'vrrp6.51', base: 'eth1' },
  ]);
  const lines = script.trim().split('\n');
  // Each table declared, deleted, then written: one transaction whatever existed before.
  assert.deepEqual(lines.slice(0, 2), [`table ip ${VMAC_TABLE} {}`, `delete table ip ${VMAC_TABLE}`]);
  assert.ok(lines.includes('    ip protocol igmp oifname "vrrp.51" dup to ip daddr device "eth0" drop'));
  assert.ok(lines.includes('    ip protocol igmp oifname "vrrp6.51" dup to ip daddr device "eth1" drop'));
  assert.ok(lines.includes('    icmpv6 type mld2-listener-report oifname "vrrp.51" dup to ip6 daddr device "eth0" drop'));
  assert.equal(lines.filter((l) => l.includes('type filter hook output priority filter - 1; policy accept;')).length, 2);
});

test('no VMAC left: both tables are deleted and nothing is written', () => {
  assert.equal(
    vmacFirewallScript([]),
    [`table ip ${VMAC_TABLE} {}`, `delete table ip ${VMAC_TABLE}`, `table ip6 ${VMAC_TABLE} {}`, `delete table ip6 ${VMAC_TABLE}`, ''].join('\n'),
  );
});
