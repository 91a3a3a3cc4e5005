import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyDropCounters } from '../../actors/vrrp/receive.js';
import { droppedByReason } from '../../daemon/drop-summary.js';
import { status as statusFixture } from './status-fixture.js';

test('wire and instance drops add up by reason', () => {
  const s = statusFixture();
  for (const each of s.instances) {
    each.drops = emptyDropCounters();
    each.counters = {};
  }
  const i = s.instances[0]!;
  i.drops['bad-ttl'] = 3;
  i.drops['address-list-mismatch'] = 2;
  i.drops['version-mismatch'] = 1;
  i.drops['own-packet'] = 4;
  i.counters.lowerPriorityDiscarded = 5;
  i.counters.lowerPriorityWhileMaster = 6; // answered: no drop
  i.counters.lowerPriorityRepliesSuppressed = 7;
  i.counters.priorityZeroRepliesSuppressed = 1;
  const d = droppedByReason(s.wire, s.instances);
  assert.equal(d.ttl, 3);
  assert.equal(d['address-list'], 2);
  assert.equal(d.version, 1);
  assert.equal(d.checksum, 2);
  assert.equal(d.truncated, 1);
  assert.equal(d['unknown-vrid'], 4);
  assert.equal(d.shed, 5);
  assert.equal(d['lower-priority'], 5);
  assert.equal(d['rate-limited'], 8);
  assert.equal(d.other, 4);
});
