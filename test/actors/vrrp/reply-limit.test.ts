// A Master's immediate answers to priority-0 and lower-priority adverts, under
// floods, in simulated time (issue 19: a 20,000/s flood was answered one for one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newReplyLimiter, recordReply, replyAllowed, senderKey, SENDERS_REMEMBERED, TOTAL_PER_INTERVAL } from '../../../actors/vrrp/reply-limit.js';
import { harness, ipv4, type Harness } from './harness.js';

const INTERVAL_MS = 1000;

function master(overrides: Parameters<typeof harness>[0] = {}): Harness {
  const h = harness({ priority: 100, advertIntervalCs: INTERVAL_MS / 10, ...overrides });
  h.runUntil(() => h.state() === 'master', 5000);
  assert.equal(h.state(), 'master');
  return h;
}

/** `perMs` adverts every simulated ms for `ms` ms, from `sources` in turn. */
function flood(h: Harness, ms: number, perMs: number, priority: number, sources: readonly Uint8Array[]): number {
  let sent = 0;
  for (let t = 0; t < ms; t++) {
    for (let i = 0; i < perMs; i++) h.advert(priority, sources[sent++ % sources.length]!);
    h.run(1);
  }
  return sent;
}

const stats = (h: Harness) => h.actor.getSnapshot().context.stats;

test('one sender flooding lower-priority adverts gets one answer per advert interval', () => {
  const h = master();
  const sentBefore = h.of('send-advert').length;
  const announcesBefore = h.of('announce').length;
  const received = flood(h, 3 * INTERVAL_MS, 20, 50, [ipv4(198, 18, 0, 5)]); // 20,000 a second
  const adverts = h.of('send-advert').length - sentBefore;
  const answers = h.of('announce').length - announcesBefore;
  // 3 intervals: 3 Adver_Timer adverts plus at most one answer per interval (the first at once).
  assert.ok(answers >= 3 && answers <= 4, `${answers} answers`);
  assert.ok(adverts <= 3 + 4, `${adverts} adverts sent in 3 intervals`);
  assert.equal(h.state(), 'master');
  const s = stats(h);
  assert.equal(s.lowerPriorityRepliesSuppressed, received - answers);
  assert.equal(s.lowerPriorityDiscarded, received - answers, 'every unanswered lower-priority advert is counted');
  // The answers are spaced by at least one interval.
  const times = h
    .of('announce')
    .slice(announcesBefore)
    .map((a) => a.t);
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= INTERVAL_MS, `answers at ${times.join(', ')}`);
});

test('many senders: the total cap holds the Master to a small multiple of its advert rate', () => {
  const h = master();
  const sources = Array.from({ length: 1000 }, (_, i) => ipv4(198, 18, 4 + (i >> 8), i & 0xff));
  const before = h.of('send-advert').length;
  flood(h, 4 * INTERVAL_MS, 10, 50, sources);
  const adverts = h.of('send-advert').length - before;
  assert.ok(adverts <= 4 * (1 + TOTAL_PER_INTERVAL) + TOTAL_PER_INTERVAL, `${adverts} adverts in 4 intervals`);
  assert.ok(adverts >= 4 * (1 + TOTAL_PER_INTERVAL) - 1, `${adverts}: the cap is used, not a blanket silence`);
  assert.ok(h.actor.getSnapshot().context.replies.bySender.size <= SENDERS_REMEMBERED, 'per-sender memory stays bounded');
});

test('lower_prio_no_advert: no advert in answer, addresses still re-announced, within the same limit', () => {
  const h = master({ lowerPrioNoAdvert: true });
  const sentBefore = h.of('send-advert').length;
  const announcesBefore = h.of('announce').length;
  h.run(400);
  h.advert(50, ipv4(198, 18, 0, 5));
  assert.equal(h.of('send-advert').length, sentBefore, 'no immediate advert');
  assert.equal(h.of('announce').length, announcesBefore + 1, 'garp_lower_prio burst asked for');
  assert.equal(h.of('announce').at(-1)?.reason, 'lower-priority-advert');
  h.advert(50, ipv4(198, 18, 0, 5));
  assert.equal(h.of('announce').length, announcesBefore + 1, 'the same sender again within the interval: nothing');
  const s = stats(h);
  assert.equal(s.lowerPriorityDiscarded, 2);
  assert.equal(s.lowerPriorityRepliesSuppressed, 1);
  assert.equal(h.state(), 'master');
});

test('without lower_prio_no_advert the first lower-priority advert is answered at once', () => {
  const h = master();
  h.run(400);
  const n = h.of('send-advert').length;
  h.advert(50, ipv4(198, 18, 0, 5));
  assert.equal(h.of('send-advert').length, n + 1);
  assert.equal(h.of('send-advert').at(-1)?.priority, 100);
  assert.equal(stats(h).lowerPriorityDiscarded, 0);
});

test('a flood of priority-0 adverts is answered once per interval per sender; a new sender at once', () => {
  const h = master();
  h.run(400);
  const before = h.of('send-advert').length;
  const received = flood(h, 2 * INTERVAL_MS, 10, 0, [ipv4(198, 18, 0, 5)]);
  const adverts = h.of('send-advert').length - before;
  // Each answer resets the Adver_Timer: at most the timer's advert and one answer per interval.
  assert.ok(adverts >= 2 && adverts <= 4, `${adverts} adverts in 2 intervals`);
  const s = stats(h);
  assert.ok(s.priorityZeroRepliesSuppressed >= received - 4, `${s.priorityZeroRepliesSuppressed} suppressed of ${received}`);
  const n = h.of('send-advert').length;
  h.advert(0, ipv4(198, 18, 0, 6));
  assert.equal(h.of('send-advert').length, n + 1, 'another sender is answered');
  assert.equal(h.state(), 'master');
});

test('the limiter: per-sender spacing, a sliding total cap, a bounded LRU', () => {
  const l = newReplyLimiter();
  const a = senderKey(ipv4(198, 18, 0, 1));
  assert.ok(replyAllowed(l, a, 0, 100));
  recordReply(l, a, 0);
  assert.ok(!replyAllowed(l, a, 99, 100));
  assert.ok(replyAllowed(l, a, 100, 100));
  for (let i = 2; i <= TOTAL_PER_INTERVAL; i++) recordReply(l, senderKey(ipv4(198, 18, 0, i)), 50);
  assert.ok(!replyAllowed(l, senderKey(ipv4(198, 18, 0, 200)), 60, 100), 'total cap reached within the interval');
  assert.ok(replyAllowed(l, senderKey(ipv4(198, 18, 0, 200)), 100, 100), 'the oldest answer left the window');
  for (let i = 0; i < 3 * SENDERS_REMEMBERED; i++) recordReply(l, senderKey(ipv4(198, 19, i >> 8, i & 0xff)), 1000 + i);
  assert.equal(l.bySender.size, SENDERS_REMEMBERED);
  assert.ok(!l.bySender.has(a), 'least recently answered sender evicted');
  assert.notEqual(senderKey(ipv4(1, 2, 3, 4)), senderKey(new Uint8Array(16)));
});
