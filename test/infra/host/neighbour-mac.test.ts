import { test } from 'node:test';
import assert from 'node:assert/strict';
import { macFromArpTable } from '../../../infra/host/neighbour-mac.js';

const TABLE = `IP address       HW type     Flags       HW address            Mask     Device
198.18.0.77      0x1         0x2         02:aa:bb:cc:dd:77     *        eth0
198.18.0.78      0x1         0x0         00:00:00:00:00:00     *        eth0
198.18.0.77      0x1         0x2         02:aa:bb:cc:dd:99     *        eth1
`;

test('the MAC of a complete entry on the right device', () => {
  assert.equal(macFromArpTable(TABLE, '198.18.0.77', 'eth0'), '02:aa:bb:cc:dd:77');
  assert.equal(macFromArpTable(TABLE, '198.18.0.77', 'eth1'), '02:aa:bb:cc:dd:99');
});

test('an incomplete or missing entry gives null', () => {
  assert.equal(macFromArpTable(TABLE, '198.18.0.78', 'eth0'), null);
  assert.equal(macFromArpTable(TABLE, '198.18.0.79', 'eth0'), null);
  assert.equal(macFromArpTable('', '198.18.0.77', 'eth0'), null);
});
