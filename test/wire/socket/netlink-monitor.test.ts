// Pure: the addon's message objects to typed events (no socket is opened).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toNetlinkEvent } from '../../../wire/socket/netlink-monitor.js';

describe('toNetlinkEvent', () => {
  test('link: operstate number to its name (IF_OPER_*)', () => {
    assert.deepEqual(toNetlinkEvent({ kind: 'link', op: 'new', ifindex: 4, name: 'eth0', flags: 69699, operstate: 6 }), {
      kind: 'link',
      op: 'new',
      ifindex: 4,
      name: 'eth0',
      flags: 69699,
      operstate: 'up',
    });
    const lower = toNetlinkEvent({ kind: 'link', op: 'del', ifindex: 5, name: 'eth1', flags: 4099, operstate: 3 });
    assert.equal(lower?.kind === 'link' && lower.operstate, 'lowerlayerdown');
    assert.equal(lower?.kind === 'link' && lower.op, 'del');
    // -1 (no IFLA_OPERSTATE) and out-of-range values read as unknown.
    const none = toNetlinkEvent({ kind: 'link', op: 'new', ifindex: 1, name: 'lo', flags: 0, operstate: -1 });
    assert.equal(none?.kind === 'link' && none.operstate, 'unknown');
  });

  test('addr: family 4 or 6 only; overrun and error pass through; unknown kinds are dropped', () => {
    assert.deepEqual(toNetlinkEvent({ kind: 'addr', op: 'new', family: 6, ifindex: 4, address: 'fe80::1', prefix: 64, flags: 0xc0, scope: 253 }), {
      kind: 'addr',
      op: 'new',
      family: 6,
      ifindex: 4,
      address: 'fe80::1',
      prefix: 64,
      flags: 0xc0,
      scope: 253,
    });
    assert.equal(toNetlinkEvent({ kind: 'addr', family: 7 }), null);
    assert.deepEqual(toNetlinkEvent({ kind: 'overrun' }), { kind: 'overrun' });
    assert.deepEqual(toNetlinkEvent({ kind: 'error', code: 'ENOMEM' }), { kind: 'error', code: 'ENOMEM' });
    assert.equal(toNetlinkEvent({ kind: 'route' as 'link' }), null);
  });
});
