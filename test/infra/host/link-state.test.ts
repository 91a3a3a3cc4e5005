// Pure: rtnetlink message shapes in, link up/down changes and usable
// link-local sources out. No network.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addressUsable, LinkTable, linkUsable } from '../../../infra/host/link-state.js';
import {
  IFA_F_DADFAILED,
  IFA_F_TENTATIVE,
  IFF_LOWER_UP,
  IFF_RUNNING,
  IFF_UP,
  type AddressMessage,
  type LinkMessage,
} from '../../../wire/socket/netlink-monitor.js';

// What the kernel reports for a veth: up with carrier, admin up without carrier, admin down.
const UP = IFF_UP | IFF_RUNNING | IFF_LOWER_UP | 0x1000; // | IFF_MULTICAST
const NO_CARRIER = IFF_UP | 0x1000;
const ADMIN_DOWN = 0x1000;

const link = (ifindex: number, name: string, flags: number, op: 'new' | 'del' = 'new'): LinkMessage => ({
  kind: 'link',
  op,
  ifindex,
  name,
  flags,
  operstate: flags & IFF_RUNNING ? 'up' : 'down',
});
const addr = (ifindex: number, address: string, flags = 0x80, op: 'new' | 'del' = 'new'): AddressMessage => ({
  kind: 'addr',
  op,
  family: address.includes(':') ? 6 : 4,
  ifindex,
  address,
  prefix: 64,
  flags,
  scope: address.startsWith('fe80') ? 253 : 0,
});

describe('linkUsable / addressUsable', () => {
  test('administratively up with carrier (IFF_RUNNING), as the sysfs operstate rule', () => {
    assert.equal(linkUsable(UP), true);
    assert.equal(linkUsable(NO_CARRIER), false);
    assert.equal(linkUsable(ADMIN_DOWN), false);
    // Running but admin down cannot happen for real devices; not usable either way.
    assert.equal(linkUsable(IFF_RUNNING), false);
    // Loopback: operstate unknown, flags UP|LOOPBACK|RUNNING|LOWER_UP.
    assert.equal(linkUsable(0x10049), true);
  });

  test('tentative and dadfailed addresses are not usable; permanent and nodad ones are', () => {
    assert.equal(addressUsable(0x80), true);
    assert.equal(addressUsable(0x02), true);
    assert.equal(addressUsable(IFA_F_TENTATIVE | 0x80), false);
    assert.equal(addressUsable(IFA_F_DADFAILED | IFA_F_TENTATIVE), false);
    assert.equal(addressUsable(IFA_F_DADFAILED), false);
  });
});

describe('LinkTable', () => {
  test('a dump gives every link; a notification changing usability gives one change', () => {
    const t = new LinkTable();
    const first = t.replaceAll([link(1, 'lo', 0x10049), link(2, 'eth0', UP), link(3, 'eth1', NO_CARRIER)]);
    assert.deepEqual(first, [
      { name: 'lo', up: true },
      { name: 'eth0', up: true },
      { name: 'eth1', up: false },
    ]);
    assert.deepEqual(t.apply([link(2, 'eth0', NO_CARRIER)]), [{ name: 'eth0', up: false }]);
    assert.equal(t.isUp('eth0'), false);
    assert.equal(t.isUp('eth9'), undefined);
  });

  test('repeated RTM_NEWLINK without a usability change (stats, MTU, promiscuity) gives nothing', () => {
    const t = new LinkTable();
    t.replaceAll([link(2, 'eth0', UP)]);
    assert.deepEqual(t.apply([link(2, 'eth0', UP), link(2, 'eth0', UP | 0x100)]), []);
  });

  test('down then up in one batch reports both, in kernel order', () => {
    const t = new LinkTable();
    t.replaceAll([link(2, 'eth0', UP)]);
    assert.deepEqual(t.apply([link(2, 'eth0', ADMIN_DOWN), link(2, 'eth0', NO_CARRIER), link(2, 'eth0', UP)]), [
      { name: 'eth0', up: false },
      { name: 'eth0', up: true },
    ]);
  });

  test('a deleted link goes down; a renamed one reports the old name down and the new name', () => {
    const t = new LinkTable();
    t.replaceAll([link(2, 'eth0', UP), link(3, 'eth1', UP)]);
    assert.deepEqual(t.apply([link(3, 'eth1', UP, 'del')]), [{ name: 'eth1', up: false }]);
    assert.deepEqual(t.apply([link(2, 'lan0', UP)]), [
      { name: 'eth0', up: false },
      { name: 'lan0', up: true },
    ]);
    assert.equal(t.isUp('eth0'), undefined);
  });

  test('after an overrun, a fresh dump reports what changed meanwhile, links gone included', () => {
    const t = new LinkTable();
    t.replaceAll([link(2, 'eth0', UP), link(3, 'eth1', UP), link(4, 'eth2', NO_CARRIER)]);
    assert.deepEqual(t.replaceAll([link(2, 'eth0', NO_CARRIER), link(4, 'eth2', NO_CARRIER)]), [
      { name: 'eth0', up: false },
      { name: 'eth1', up: false },
    ]);
  });

  test('usable link-local: none while tentative, the address once DAD ends, none after it is removed', () => {
    const t = new LinkTable();
    t.replaceAll([link(2, 'eth0', NO_CARRIER), addr(2, 'fd00:198:18::1')]);
    assert.equal(t.usableLinkLocal('eth0'), undefined, 'a global address is not a VRRP source');
    t.apply([link(2, 'eth0', UP), addr(2, 'fe80::1', IFA_F_TENTATIVE | 0x80)]);
    assert.equal(t.usableLinkLocal('eth0'), undefined, 'tentative');
    t.apply([addr(2, 'fe80::1', 0x80)]);
    assert.equal(t.usableLinkLocal('eth0'), 'fe80::1');
    assert.equal(t.usableLinkLocal('eth1'), undefined);
    t.apply([addr(2, 'fe80::1', 0x80, 'del')]);
    assert.equal(t.usableLinkLocal('eth0'), undefined);
  });

  test('a dadfailed link-local is never usable; addresses of a deleted link go with it', () => {
    const t = new LinkTable();
    t.replaceAll([link(2, 'eth0', UP), addr(2, 'fe80::1', IFA_F_DADFAILED | IFA_F_TENTATIVE)]);
    assert.equal(t.usableLinkLocal('eth0'), undefined);
    t.apply([addr(2, 'fe80::2', 0x80)]);
    assert.equal(t.usableLinkLocal('eth0'), 'fe80::2');
    t.apply([link(2, 'eth0', UP, 'del'), link(2, 'eth0', UP)]);
    assert.equal(t.usableLinkLocal('eth0'), undefined);
  });
});
