// Pure: use_vmac naming, MAC, sysctl plan and the plan rewrite, as keepalived 2.2.7 does them. No network.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planInstance } from '../../../infra/vrrp/plan.js';
import { defaultVmacName, virtualMac, vmacAddress, vmacNames, vmacSysctlPlan, withVmac } from '../../../infra/vrrp/vmac.js';
import { loadKeepalivedText } from '../../../config/keepalived/index.js';
import { instanceFrom, LAN_HOST } from './fixtures.js';

describe('VMAC address', () => {
  test('RFC 5798 7.3: 00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6', () => {
    assert.equal(virtualMac(4, 51), '00:00:5e:00:01:33');
    assert.equal(virtualMac(6, 1), '00:00:5e:00:02:01');
    assert.equal(virtualMac(4, 255), '00:00:5e:00:01:ff');
  });

  test('a configured address is kept; five octets are completed with the VRID', () => {
    assert.equal(vmacAddress('02:11:22:33:44:55', 4, 7), '02:11:22:33:44:55');
    assert.equal(vmacAddress('02:11:22:33:44', 4, 10), '02:11:22:33:44:0a');
    assert.equal(vmacAddress(undefined, 6, 10), '00:00:5e:00:02:0a');
  });
});

describe("VMAC names (keepalived's create_vmac_name)", () => {
  test('vrrp.VRID when free', () => {
    assert.equal(defaultVmacName(51, 4, new Set()), 'vrrp.51');
    assert.equal(defaultVmacName(51, 6, new Set()), 'vrrp.51');
  });

  test('taken: IPv4 counts vrrp1., vrrp2., ...; IPv6 tries vrrp6. first and skips 6 later', () => {
    assert.equal(defaultVmacName(51, 4, new Set(['vrrp.51'])), 'vrrp1.51');
    assert.equal(defaultVmacName(51, 4, new Set(['vrrp.51', 'vrrp1.51'])), 'vrrp2.51');
    assert.equal(defaultVmacName(51, 6, new Set(['vrrp.51'])), 'vrrp6.51');
    assert.equal(defaultVmacName(51, 6, new Set(['vrrp.51', 'vrrp6.51'])), 'vrrp1.51');
    const upTo5 = ['vrrp.51', 'vrrp6.51', 'vrrp1.51', 'vrrp2.51', 'vrrp3.51', 'vrrp4.51', 'vrrp5.51'];
    assert.equal(defaultVmacName(51, 6, new Set(upTo5)), 'vrrp7.51');
  });

  test('the prefix is shortened to fit 15 characters', () => {
    assert.equal(defaultVmacName(255, 4, new Set(), 'averyverylongprefix'), 'averyverylo.255');
    assert.equal(defaultVmacName(255, 4, new Set(), 'averyverylongprefix').length, 15);
  });

  test('configuration order: a configured name is kept and avoided by the defaults; the same VRID in both families', () => {
    const r = loadKeepalivedText(
      [
        'vrrp_instance A {\n interface eth0\n virtual_router_id 7\n use_vmac\n virtual_ipaddress {\n  198.18.0.7\n }\n}',
        'vrrp_instance B {\n interface eth0\n virtual_router_id 7\n use_vmac\n virtual_ipaddress {\n  fd00:198:18::7\n }\n}',
        'vrrp_instance C {\n interface eth0\n virtual_router_id 9\n use_vmac vrrp.7\n virtual_ipaddress {\n  198.18.0.9\n }\n}',
        'vrrp_instance D {\n interface eth0\n virtual_router_id 10\n virtual_ipaddress {\n  198.18.0.10\n }\n}',
      ].join('\n'),
    );
    assert.ok(r.model, JSON.stringify(r.diagnostics));
    assert.deepEqual(
      [...vmacNames(r.model.vrrpInstances)],
      [
        ['A', 'vrrp1.7'],
        ['B', 'vrrp6.7'],
        ['C', 'vrrp.7'],
      ],
    );
  });
});

describe('VMAC sysctls (vrrp_if_config.c vmac_sysctl / parent_sysctl)', () => {
  test('IPv4: arp_ignore, accept_local, rp_filter, promote_secondaries on the VMAC; arp_ignore and arp_filter on the base; no IPv6', () => {
    const s = vmacSysctlPlan('vrrp.51', 'eth0', 4, false);
    assert.deepEqual(s.vmac, [
      { path: 'net/ipv4/conf/vrrp.51/arp_ignore', value: 1 },
      { path: 'net/ipv4/conf/vrrp.51/accept_local', value: 1 },
      { path: 'net/ipv4/conf/vrrp.51/rp_filter', value: 0 },
      { path: 'net/ipv4/conf/vrrp.51/promote_secondaries', value: 1 },
      { path: 'net/ipv6/conf/vrrp.51/disable_ipv6', value: 1 },
    ]);
    assert.deepEqual(s.base, [
      { path: 'net/ipv4/conf/eth0/arp_ignore', value: 1 },
      { path: 'net/ipv4/conf/eth0/arp_filter', value: 1 },
    ]);
  });

  test('IPv6: keepalived sets no IPv4 sysctls, and IPv6 stays on', () => {
    const s = vmacSysctlPlan('vrrp.51', 'eth0', 6, true);
    assert.deepEqual(s.vmac, [{ path: 'net/ipv6/conf/vrrp.51/disable_ipv6', value: 0 }]);
    assert.deepEqual(s.base, []);
  });
});

describe('withVmac: the plan on a VMAC', () => {
  const plan = (body: string) => {
    const inst = instanceFrom(body);
    const r = planInstance(inst, LAN_HOST);
    assert.ok(r.ok);
    return { inst, plan: r.plan };
  };

  test('VIPs without dev move to the VMAC, others stay; the advert source stays the base address', () => {
    const { inst, plan: p } = plan('  use_vmac\n  virtual_ipaddress {\n    198.18.0.20/24\n    198.18.0.21/24 dev eth1\n  }');
    const v = withVmac(p, inst, 'vrrp.51');
    assert.deepEqual(
      v.vips.map((x) => `${x.address}%${x.dev}`),
      ['198.18.0.20%vrrp.51', '198.18.0.21%eth1'],
    );
    assert.equal(v.source, '198.18.0.1');
    assert.equal(v.interface, 'eth0');
    assert.deepEqual(
      { name: v.vmac?.name, base: v.vmac?.base, mac: v.vmac?.mac, xmitBase: v.vmac?.xmitBase, ipv6: v.vmac?.ipv6 },
      { name: 'vrrp.51', base: 'eth0', mac: '00:00:5e:00:01:33', xmitBase: false, ipv6: false },
    );
  });

  test('vmac_xmit_base is carried; IPv6 VIPs on an IPv4 VMAC keep IPv6 on', () => {
    const { inst, plan: p } = plan(
      '  use_vmac\n  vmac_xmit_base\n  virtual_ipaddress {\n    198.18.0.20/24\n  }\n  virtual_ipaddress_excluded {\n    fd00:198:18::20/64\n  }',
    );
    const v = withVmac(p, inst, 'vrrp.51');
    assert.equal(v.vmac?.xmitBase, true);
    assert.equal(v.vmac?.ipv6, true);
    assert.ok(v.vmac?.vmacSysctls.some((s) => s.path === 'net/ipv6/conf/vrrp.51/disable_ipv6' && s.value === 0));
  });

  test('IPv6: the link-local source goes on the VMAC (adverts leave from it), unless vmac_xmit_base', () => {
    const six = plan('  use_vmac\n  virtual_ipaddress {\n    fd00:198:18::20/64\n  }');
    assert.equal(withVmac(six.plan, six.inst, 'vrrp.51').vmac?.linkLocal, 'fe80::1');
    assert.equal(withVmac(six.plan, six.inst, 'vrrp.51').vmac?.mac, '00:00:5e:00:02:33');
    const base = plan('  use_vmac\n  vmac_xmit_base\n  virtual_ipaddress {\n    fd00:198:18::20/64\n  }');
    assert.equal(withVmac(base.plan, base.inst, 'vrrp.51').vmac?.linkLocal, undefined);
  });
});

describe("keepalived's corrections for vmac_xmit_base", () => {
  test('without use_vmac it is ignored, with a note', () => {
    const i = instanceFrom('  vmac_xmit_base\n  virtual_ipaddress {\n    198.18.0.20\n  }');
    assert.equal(i.vmacXmitBase, false);
    assert.match(i.corrections.find((c) => c.field === 'vmacXmitBase')?.message ?? '', /only valid with use_vmac/);
  });

  test('promote_secondaries with use_vmac is ignored with a note (the VMAC gets it anyway)', () => {
    const i = instanceFrom('  use_vmac\n  promote_secondaries\n  virtual_ipaddress {\n    198.18.0.20\n  }');
    assert.equal(i.promoteSecondaries, false);
    assert.match(i.corrections.find((c) => c.field === 'promoteSecondaries')?.message ?? '', /set automatically on a VMAC/);
  });

  test('strict mode turns it off', () => {
    const i = instanceFrom('  strict_mode\n  use_vmac\n  vmac_xmit_base\n  virtual_ipaddress {\n    198.18.0.20\n  }');
    assert.equal(i.vmacXmitBase, false);
    assert.match(i.corrections.find((c) => c.field === 'vmacXmitBase')?.message ?? '', /incompatible with strict mode/);
  });
});
