// When a stream feed is stuck (pure, on a fake clock): judged from the stream's last sequence, not from the consumer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { delivered, judgeFeed, openedProgress, type FeedProgress } from '../../../infra/events/feed-stall.js';

const STALL = 6000;

/** Feeds `lastSeqs` (one per 2 s watchdog round from t0) into judgeFeed; returns the verdicts and the final progress. */
function rounds(p: FeedProgress, t0: number, lastSeqs: number[]): { stuck: boolean[]; lag: number[]; progress: FeedProgress } {
  const stuck: boolean[] = [];
  const lag: number[] = [];
  for (const [i, last] of lastSeqs.entries()) {
    const v = judgeFeed(p, last, t0 + i * 2000, STALL);
    p = v.progress;
    stuck.push(v.stuck);
    lag.push(v.lag);
  }
  return { stuck, lag, progress: p };
}

test('a feed at the end of its stream is never stuck, however long it is quiet', () => {
  const r = rounds(openedProgress(40, 0), 0, Array<number>(100).fill(40));
  assert.ok(r.stuck.every((s) => !s));
  assert.equal(r.progress.lagSince, null);
});

test('a stream ahead of a feed that delivers nothing: stuck once the lag has lasted the stall time, not before', () => {
  // Opened at t=0 at seq 10; quiet until t=60 s, when the stream gets seq 11 and the feed never delivers it.
  const p = openedProgress(10, 0);
  const r = rounds(p, 60_000, [11, 11, 11, 11, 11]);
  assert.deepEqual(r.stuck, [false, false, false, true, true], 'a lag just seen is not stuck, even after a long quiet (the message may be on its way)');
  assert.deepEqual(r.lag, [1, 1, 1, 1, 1]);
});

test('a lag that goes away before the stall time is forgotten', () => {
  let p = openedProgress(10, 0);
  p = judgeFeed(p, 12, 1000, STALL).progress;
  assert.equal(p.lagSince, 1000);
  p = delivered(p, 11, 1500);
  p = delivered(p, 12, 1600);
  const v = judgeFeed(p, 12, 3000, STALL);
  assert.equal(v.lag, 0);
  assert.equal(v.progress.lagSince, null);
  // A new lag later starts its own clock.
  const later = judgeFeed(v.progress, 13, 20_000, STALL);
  assert.equal(later.stuck, false);
  assert.equal(judgeFeed(later.progress, 13, 25_999, STALL).stuck, false);
  assert.equal(judgeFeed(later.progress, 13, 26_000, STALL).stuck, true);
});

test('a slow feed that keeps delivering is not stuck while it moves, and is once it stops', () => {
  let p = openedProgress(0, 0);
  let t = 0;
  // The stream holds 1000 messages; the feed delivers 10 per 2 s round.
  for (let i = 0; i < 20; i++, t += 2000) {
    const v = judgeFeed(p, 1000, t, STALL);
    assert.equal(v.stuck, false, `round ${i}`);
    p = v.progress;
    for (let k = 0; k < 10; k++) p = delivered(p, p.position + 1, t + 100);
  }
  assert.equal(p.position, 200);
  // It stops: stuck STALL after its last message.
  assert.equal(judgeFeed(p, 1000, t - 2000 + 100 + STALL - 1, STALL).stuck, false);
  assert.equal(judgeFeed(p, 1000, t - 2000 + 100 + STALL, STALL).stuck, true);
});

test('a repeated or older message changes nothing', () => {
  const p = delivered(openedProgress(5, 0), 9, 100);
  assert.equal(delivered(p, 9, 5000), p);
  assert.equal(delivered(p, 3, 5000), p);
  assert.deepEqual(delivered(p, 10, 5000), { position: 10, progressAt: 5000, lagSince: null });
});

test('a stream whose end is behind the feed (purged, or an answer from a lagging replica) is no lag', () => {
  const v = judgeFeed(openedProgress(50, 0), 20, 100_000, STALL);
  assert.equal(v.lag, 0);
  assert.equal(v.stuck, false);
});
