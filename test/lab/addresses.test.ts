// Real network: interface address changes through rtnetlink (infra/host) in a
// lab namespace, checked with `ip -j addr`. Starts: a namespace lab.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, readAddresses, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { addAddress, removeAddress, type AddressSpec } from '../../infra/host/addresses.js';
import { interfaceInfo } from '../../wire/socket/index.js';

const logger = silentLogger();
const PREFIX = 'vfskaddr';

describe('address add/remove through rtnetlink', () => {
  let lab: Lab;
  let base: Pick<AddressSpec, 'ifindex' | 'netns'>;

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['n1'], subnet: 27, logger });
    const info = interfaceInfo('eth0', lab.node('n1').ns);
    assert.ok(info.ok);
    base = { ifindex: info.value.index, netns: lab.node('n1').ns };
  });
  after(async () => {
    await lab?.destroy();
  });

  const find = async (address: string) => (await readAddresses(lab, 'n1')).find((a) => a.local === address);

  test('IPv4 with a label: add, duplicate add is "exists", remove, repeated remove is "not-found"', async () => {
    const vip = { ...base, family: 4 as const, address: '198.18.27.100', prefixLen: 24, label: 'eth0:vip' };
    assert.deepEqual(addAddress(vip), { ok: true });
    const a = await find(vip.address);
    assert.equal(a?.prefixlen, 24);
    assert.equal(a?.label, 'eth0:vip');
    assert.deepEqual(addAddress(vip), { ok: false, reason: 'exists', code: 'EEXIST' });
    assert.deepEqual(removeAddress(vip), { ok: true });
    assert.equal(await find(vip.address), undefined);
    assert.deepEqual(removeAddress(vip), { ok: false, reason: 'not-found', code: 'EADDRNOTAVAIL' });
  });

  test('IPv6: noDad makes the address usable at once where DAD is on; without it the address is tentative', async () => {
    assert.equal((await lab.exec('n1', 'sysctl', ['-q', '-w', 'net.ipv6.conf.eth0.accept_dad=1'])).code, 0);
    const fast = { ...base, family: 6 as const, address: 'fd00:198:18:1b::100', prefixLen: 64, noDad: true };
    const slow = { ...base, family: 6 as const, address: 'fd00:198:18:1b::101', prefixLen: 64 };
    assert.deepEqual(addAddress(fast), { ok: true });
    assert.deepEqual(addAddress(slow), { ok: true });
    const f = await find(fast.address);
    const s = await find(slow.address);
    assert.equal(f?.prefixlen, 64);
    assert.ok(f && !f.tentative, 'noDad address is not tentative');
    assert.equal(s?.tentative, true, 'the control address is tentative: DAD really is on');
    assert.deepEqual(addAddress(fast), { ok: false, reason: 'exists', code: 'EEXIST' });
    assert.deepEqual(removeAddress(fast), { ok: true });
    assert.deepEqual(removeAddress(slow), { ok: true });
    assert.equal(await find(fast.address), undefined);
    assert.deepEqual(removeAddress(fast), { ok: false, reason: 'not-found', code: 'EADDRNOTAVAIL' });
  });

  test('bad targets and arguments come back as values', () => {
    const v4 = { family: 4 as const, address: '198.18.27.101', prefixLen: 24 };
    assert.deepEqual(addAddress({ ...base, ...v4, ifindex: 999 }), { ok: false, reason: 'no-device', code: 'ENODEV' });
    assert.deepEqual(addAddress({ ...base, ...v4, address: '198.18.27' }), { ok: false, reason: 'invalid', code: 'EINVAL' });
    assert.deepEqual(addAddress({ ...base, ...v4, prefixLen: 33 }), { ok: false, reason: 'invalid', code: 'EINVAL' });
    assert.deepEqual(addAddress({ ...base, ...v4, netns: `${PREFIX}-missing` }), { ok: false, reason: 'other', code: 'ENOENT' });
  });
});
