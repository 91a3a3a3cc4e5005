// Real network: interface address changes through rtnetlink (infra/host) in a
// lab namespace, checked with `ip -j addr`. Starts: a namespace lab.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logger.js';
import { createLab, readAddresses, sweepStaleLabs, type Lab } from '../../lab/index.js';
import { addAddress, addressIsLocal, removeAddress, type AddressSpec } from '../../infra/host/addresses.js';
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

  test('IPv6 noDad: the local route comes after the add returns; waitLocalUs returns only once the address is delivered here', () => {
    // The race a new Master's unsolicited NA ran into: a client's SYN that
    // arrived between the add and the kernel's addrconf work was dropped.
    const vip = { ...base, family: 6 as const, address: 'fd00:198:18:1b::102', prefixLen: 64, noDad: true };
    const look = { family: 6 as const, address: vip.address, netns: base.netns! };
    const ROUNDS = 500;
    let lateWithout = 0;
    let lateWith = 0;
    let notYet = 0;
    for (let i = 0; i < ROUNDS; i++) {
      assert.deepEqual(addAddress(vip), { ok: true });
      if (addressIsLocal(look) === false) lateWithout++;
      assert.deepEqual(removeAddress(vip), { ok: true });
      const r = addAddress({ ...vip, waitLocalUs: 5000 });
      assert.ok(r.ok, 'added');
      if (r.notYetLocal) notYet++;
      if (addressIsLocal(look) !== true) lateWith++;
      assert.deepEqual(removeAddress(vip), { ok: true });
    }
    console.log(`# not yet delivered right after the add: ${lateWithout} of ${ROUNDS} without the wait, ${lateWith} with it`);
    // Not asserted: from here (a JS call after the add) 1-10 of 500 looks
    // came too early on this machine, a rate that may be 0 in a short run.
    assert.equal(notYet, 0, 'the wait never ran out');
    assert.equal(lateWith, 0, 'with the wait the address is always delivered when the add returns');
    assert.equal(addressIsLocal({ family: 4, address: '198.18.27.200', netns: base.netns! }), false, 'an address not on the node is not local');
  });

  test('bad targets and arguments come back as values', () => {
    const v4 = { family: 4 as const, address: '198.18.27.101', prefixLen: 24 };
    assert.deepEqual(addAddress({ ...base, ...v4, ifindex: 999 }), { ok: false, reason: 'no-device', code: 'ENODEV' });
    assert.deepEqual(addAddress({ ...base, ...v4, address: '198.18.27' }), { ok: false, reason: 'invalid', code: 'EINVAL' });
    assert.deepEqual(addAddress({ ...base, ...v4, prefixLen: 33 }), { ok: false, reason: 'invalid', code: 'EINVAL' });
    assert.deepEqual(addAddress({ ...base, ...v4, netns: `${PREFIX}-missing` }), { ok: false, reason: 'other', code: 'ENOENT' });
  });
});
