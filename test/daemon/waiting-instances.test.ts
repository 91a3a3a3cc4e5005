/**
 * dynamic_interfaces' pure rules (daemon/waiting-instances.ts): which instance
 * waits for its interface, what status reports for it, and what a link change
 * starts or parks. The whole path against a real namespace: test/lab/dynamic-interfaces.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interfaceMoves, missingInterface, waitingStatus } from '../../daemon/waiting-instances.js';
import { instanceFrom, host } from '../infra/vrrp/fixtures.js';

const eth0 = host({ name: 'eth0', up: true, addresses: [{ address: '198.18.0.1', family: 4, prefix: 24 }] });
const both = host({ name: 'eth0', up: true, addresses: [] }, { name: 'veth9', up: false, addresses: [] });

test('only the instance interface is waited for: present, or absent from the host', () => {
  assert.equal(missingInterface(instanceFrom('  priority 100'), eth0), undefined);
  assert.equal(missingInterface(instanceFrom('  interface veth9\n  priority 100'), eth0), 'veth9');
  // A missing track_interface is a tracked link down, not a reason to wait.
  assert.equal(missingInterface(instanceFrom('  priority 100\n  track_interface {\n    veth9\n  }'), eth0), undefined);
});

test('a waiting instance is reported in FAULT with the reason, its configured priority and VIPs', () => {
  const inst = instanceFrom('  interface veth9\n  priority 150\n  advert_int 1\n  virtual_ipaddress {\n    198.18.0.100/24\n    198.18.0.101\n  }');
  const s = waitingStatus(inst, 'veth9');
  assert.equal(s.state, 'fault');
  assert.match(s.fault ?? '', /interface veth9 does not exist.*dynamic_interfaces/);
  assert.equal(s.interface, 'veth9');
  assert.equal(s.basePriority, 150);
  assert.equal(s.effectivePriority, 150);
  assert.equal(s.vrid, 51);
  assert.equal(s.advertIntervalCs, 100);
  assert.equal(s.lastMaster, null);
  assert.deepEqual(s.vips, ['198.18.0.100/24 dev veth9', '198.18.0.101/32 dev veth9']);
});

test('a link change starts the waiting instances whose interface exists now, and parks running ones whose interface is gone', () => {
  const waiting = [
    { name: 'A', iface: 'veth9' },
    { name: 'B', iface: 'veth8' },
  ];
  const running = [
    { name: 'C', iface: 'eth0' },
    { name: 'D', iface: 'veth7' },
  ];
  assert.deepEqual(interfaceMoves(true, waiting, running, both), { start: ['A'], park: [{ name: 'D', iface: 'veth7' }] });
  // An interface that exists but is down is not gone: the tracked link puts the instance in FAULT.
  assert.deepEqual(interfaceMoves(true, [], [{ name: 'E', iface: 'veth9' }], both), { start: [], park: [] });
});

test('without dynamic_interfaces nothing moves', () => {
  assert.deepEqual(interfaceMoves(false, [{ name: 'A', iface: 'veth9' }], [{ name: 'D', iface: 'veth7' }], both), { start: [], park: [] });
});
