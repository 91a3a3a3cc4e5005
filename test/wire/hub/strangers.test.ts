import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StrangerReporter, type ReportedSighting, type StrangerSighting } from '../../../wire/hub/strangers.js';

const sighting = (over: Partial<StrangerSighting> = {}): StrangerSighting => ({
  sender: '198.18.0.77',
  reason: 'checksum',
  vrid: 40,
  priority: null,
  interface: 'eth0',
  family: 4,
  detail: 'bad',
  ...over,
});

test('one report per (sender, reason) a minute, with the count held back; listeners get the same', () => {
  let now = 0;
  const r = new StrangerReporter(() => now);
  const heard: ReportedSighting[] = [];
  r.onReport((s) => heard.push(s));
  assert.equal(r.sight(sighting()), 0);
  for (let i = 0; i < 1000; i++) assert.equal(r.sight(sighting()), null);
  assert.equal(r.sight(sighting({ reason: 'ttl' })), 0, 'another reason from the same sender is named');
  assert.equal(r.sight(sighting({ sender: '198.18.0.78' })), 0, 'another sender is named');
  now = 60_000;
  assert.equal(r.sight(sighting()), 1000);
  assert.deepEqual(
    heard.map((h) => [h.sender, h.reason, h.suppressed]),
    [
      ['198.18.0.77', 'checksum', 0],
      ['198.18.0.77', 'ttl', 0],
      ['198.18.0.78', 'checksum', 0],
      ['198.18.0.77', 'checksum', 1000],
    ],
  );
  const st = r.stats();
  assert.equal(st.sightings, 1004);
  assert.equal(st.tracked, 3);
  assert.equal(st.recent.length, 4);
});

test('the recent list is bounded', () => {
  const r = new StrangerReporter(() => 0, { intervalMs: 60_000, capacity: 100, totalPerInterval: 100 }, 3);
  for (let i = 0; i < 10; i++) r.sight(sighting({ sender: `198.18.0.${i}` }));
  assert.deepEqual(
    r.stats().recent.map((s) => s.sender),
    ['198.18.0.7', '198.18.0.8', '198.18.0.9'],
  );
});
