/**
 * The list `vipflow status` shows as "not acted on": every keyword the
 * keyword tables accept without acting on, with its position, and nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadKeepalivedText } from '../../config/keepalived/index.js';
import { notActedOn } from '../../config/not-acted-on.js';

test('not-acted-on keywords are listed with file:line; other warnings are not', () => {
  const text = [
    'global_defs {',
    '    lvs_sync_daemon_interface eth0',
    '}',
    'vrrp_instance VI_1 {',
    '    interface eth0',
    '    virtual_router_id 51',
    '    nopreempt 1',
    '    debug',
    '    virtual_ipaddress {',
    '        198.18.0.10/24',
    '    }',
    '    virtual_routes {',
    '        198.18.5.0/24 via 198.18.0.254',
    '    }',
    '}',
  ].join('\n');
  const r = loadKeepalivedText(text, 'k.conf');
  assert.ok(r.model, r.diagnostics.map((d) => d.message).join('\n'));
  // lvs_sync_daemon_interface is no global_defs keyword: an unknown keyword (warned), not a not-acted-on one.
  assert.ok(r.diagnostics.some((d) => d.line === 2 && /unknown keyword/.test(d.message)));
  assert.ok(r.diagnostics.some((d) => d.line === 7 && /extra '1'/.test(d.message)));
  assert.deepEqual(notActedOn(r.diagnostics), ['debug (k.conf:8)', 'virtual_routes (k.conf:12)']);
});

test('parsed fields nothing reads are listed too (multicast group, unicast_ttl, VIP scope, static_ipaddress); values vipflow follows anyway are not', () => {
  const text = [
    'global_defs {',
    '    vrrp_mcast_group4 224.0.0.19',
    '    vrrp_garp_interval 0',
    '}',
    'static_ipaddress {',
    '    198.18.1.5/24 dev eth1',
    '}',
    'vrrp_instance VI_1 {',
    '    interface eth0',
    '    virtual_router_id 51',
    '    unicast_ttl 64',
    '    down_timer_adverts 3',
    '    notify_master_rx_lower_pri /bin/true',
    '    virtual_ipaddress {',
    '        198.18.0.5/24 scope link',
    '    }',
    '}',
  ].join('\n');
  const r = loadKeepalivedText(text, 'k.conf');
  assert.ok(r.model);
  assert.deepEqual(notActedOn(r.diagnostics).sort(), [
    'notify_master_rx_lower_pri (k.conf:13)',
    'scope (k.conf:15)',
    'static_ipaddress (k.conf:6)',
    'unicast_ttl (k.conf:11)',
    'vrrp_mcast_group4 (k.conf:2)',
  ]);
});
