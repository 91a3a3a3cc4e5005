/**
 * The rule by which an IPv4 advert source follows its interface's addresses
 * (daemon/source-addresses.ts, after keepalived's netlink address handler).
 * The whole path against a real namespace: test/lab/daemon-source-address.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceDecision } from '../../daemon/source-addresses.js';

const none: ReadonlySet<string> = new Set();

test('the source still held: keep it', () => {
  assert.deepEqual(sourceDecision('interface', '198.18.0.2', ['198.18.0.9', '198.18.0.2'], none), { kind: 'keep' });
  assert.deepEqual(sourceDecision('fixed', '198.18.0.2', ['198.18.0.2'], none), { kind: 'keep' });
});

test('gone with another address left: a source from the interface moves, a configured one is lost', () => {
  assert.deepEqual(sourceDecision('interface', '198.18.0.2', ['198.18.0.9'], none), { kind: 'move', address: '198.18.0.9' });
  assert.deepEqual(sourceDecision('fixed', '198.18.0.2', ['198.18.0.9'], none), { kind: 'lost' });
});

test('no address left: lost (Fault)', () => {
  assert.deepEqual(sourceDecision('interface', '198.18.0.2', [], none), { kind: 'lost' });
});

test('VIPs are never a new source, but an address owner keeps its source that is also its VIP', () => {
  const vips = new Set(['198.18.0.2', '198.18.0.100']);
  assert.deepEqual(sourceDecision('interface', '198.18.0.2', ['198.18.0.100', '198.18.0.2'], vips), { kind: 'keep' });
  assert.deepEqual(sourceDecision('interface', '198.18.0.2', ['198.18.0.100'], vips), { kind: 'lost' });
  assert.deepEqual(sourceDecision('interface', '198.18.0.2', ['198.18.0.100', '198.18.0.7'], vips), { kind: 'move', address: '198.18.0.7' });
});
