// Pure: split-brain detection over a KV view, with explicit clocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SplitBrainDetector, mayReleaseFence, yieldOrder, type LocalInstance, type PeerState } from '../../../infra/events/split-brain.js';

const WALL = Date.parse('2026-11-26T10:00:00Z');
const peer = (over: Partial<PeerState> = {}): PeerState => ({
  instance: 'VI_1',
  node: 'b',
  vrid: 7,
  state: 'master',
  effectivePriority: 100,
  source: '198.18.1.2',
  heartbeatAt: new Date(WALL).toISOString(),
  receivedAtMs: 10,
  ...over,
});
const local = (over: Partial<LocalInstance> = {}): LocalInstance => ({
  instance: 'VI_1',
  vrid: 7,
  state: 'master',
  effectivePriority: 150,
  source: '198.18.1.1',
  masterSinceMs: 0,
  graceMs: 300,
  ...over,
});

test('a double Master counts only after the grace, once, naming both nodes and the lower priority as the one to yield', () => {
  const d = new SplitBrainDetector({ node: 'a', staleMs: 15_000 });
  d.update(peer());
  assert.deepEqual(d.evaluate([local()], WALL, 1000), [], 'not at once');
  assert.deepEqual(d.evaluate([local()], WALL, 1299), [], 'not before the grace');
  const r = d.evaluate([local()], WALL, 1300);
  assert.equal(r.length, 1);
  assert.deepEqual(r[0], { kind: 'split-brain', instance: 'VI_1', vrid: 7, masters: ['a', 'b'], loser: 'b', sinceMs: 300 });
  assert.deepEqual(d.evaluate([local()], WALL, 2000), [], 'reported once per conflict');
  d.update(peer({ state: 'backup' }));
  assert.deepEqual(d.evaluate([local()], WALL, 2100), [{ kind: 'cleared', instance: 'VI_1', vrid: 7, lastedMs: 1100 }]);
});

test('a conflict shorter than the grace (a normal takeover) is never reported', () => {
  const d = new SplitBrainDetector({ node: 'a', staleMs: 15_000 });
  d.update(peer());
  assert.deepEqual(d.evaluate([local()], WALL, 0), []);
  d.update(peer({ state: 'backup' }));
  assert.deepEqual(d.evaluate([local()], WALL, 250), [], 'ended before the grace: nothing, not even cleared');
  d.update(peer());
  assert.deepEqual(d.evaluate([local()], WALL, 300), [], 'a new conflict starts its own grace');
});

test('only Masters with a fresh heartbeat count; a local Backup sees no conflict; its own KV entry is ignored', () => {
  const d = new SplitBrainDetector({ node: 'a', staleMs: 15_000 });
  d.update(peer({ heartbeatAt: new Date(WALL - 16_000).toISOString() }));
  d.update(peer({ node: 'a' }));
  d.evaluate([local()], WALL, 0);
  assert.deepEqual(d.evaluate([local()], WALL, 1000), [], 'stale peer and own entry ignored');
  d.update(peer());
  d.evaluate([local({ state: 'backup' })], WALL, 0);
  assert.deepEqual(d.evaluate([local({ state: 'backup' })], WALL, 1000), []);
  d.remove('VI_1', 'b');
  assert.equal(d.otherMasters('VI_1', WALL).length, 0);
});

test('equal priorities: the lower primary address yields, as in RFC 5798 §6.4.3 (IPv4 and IPv6, numerically)', () => {
  assert.ok(yieldOrder({ node: 'x', effectivePriority: 100, source: '198.18.1.9' }, { node: 'y', effectivePriority: 100, source: '198.18.1.10' }) < 0);
  assert.ok(yieldOrder({ node: 'x', effectivePriority: 100, source: 'fd00:198:18::2' }, { node: 'y', effectivePriority: 100, source: 'fd00:198:18::10' }) < 0);
  assert.ok(yieldOrder({ node: 'x', effectivePriority: 101, source: '198.18.1.1' }, { node: 'y', effectivePriority: 100, source: '198.18.1.2' }) > 0);
  const d = new SplitBrainDetector({ node: 'a', staleMs: 15_000 });
  d.update(peer({ effectivePriority: 150, source: '198.18.1.2' }));
  d.evaluate([local()], WALL, 0);
  const [r] = d.evaluate([local()], WALL, 300);
  assert.equal(r?.kind === 'split-brain' && r.loser, 'a', 'a (198.18.1.1) yields to b (198.18.1.2) at equal priority');
});

test("a crashed Master's last entry is no second Master: only a write that arrived after we became Master counts", () => {
  const d = new SplitBrainDetector({ node: 'b', staleMs: 15_000 });
  // a's entry says Master, fresh by its heartbeat, but it was written before b took over (a crashed then).
  d.update(peer({ node: 'a', receivedAtMs: 900 }));
  const b = local({ masterSinceMs: 1000, effectivePriority: 100 });
  d.evaluate([b], WALL, 1000);
  assert.deepEqual(d.evaluate([b], WALL, 5000), [], 'never reported');
  d.update(peer({ node: 'a', receivedAtMs: undefined }));
  assert.deepEqual(d.evaluate([b], WALL, 6000), [], 'an entry from the initial snapshot does not count either');
  // a is alive after all: its rewrite arrives after b became Master.
  d.update(peer({ node: 'a', receivedAtMs: 6100 }));
  d.evaluate([b], WALL, 6100);
  const [r] = d.evaluate([b], WALL, 6400);
  assert.equal(r?.kind, 'split-brain');
});

test('a fence holds while another fresh Master exists and no advert is heard; releases on either', () => {
  assert.equal(mayReleaseFence({ heardAdvertAgoMs: null, advertIntervalMs: 100, otherFreshMasters: 1 }), false);
  assert.equal(mayReleaseFence({ heardAdvertAgoMs: 900, advertIntervalMs: 100, otherFreshMasters: 1 }), false);
  assert.equal(mayReleaseFence({ heardAdvertAgoMs: 50, advertIntervalMs: 100, otherFreshMasters: 1 }), true, 'LAN healed');
  assert.equal(mayReleaseFence({ heardAdvertAgoMs: null, advertIntervalMs: 100, otherFreshMasters: 0 }), true, 'the kept Master is gone');
});
