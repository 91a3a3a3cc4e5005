// The live feed behind the status page and the fleet page (real timers, short
// intervals): nothing rendered without a client, a burst of changes as one push,
// the tick only while a client is connected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveFeed } from '../../../infra/http/live-feed.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function counted(o: { tickMs: number; minGapMs?: number }) {
  let renders = 0;
  const feed = new LiveFeed({ ...o, render: () => String(++renders) });
  return { feed, renders: () => renders };
}

test('without a client, changes render nothing and no timer runs', async () => {
  const { feed, renders } = counted({ tickMs: 20, minGapMs: 10 });
  for (let i = 0; i < 5; i++) feed.changed();
  await sleep(80);
  assert.equal(renders(), 0);
  assert.equal(feed.size, 0);
});

test('a client gets the view at once; a burst of changes is one push, no sooner than the gap after the last', async () => {
  const { feed, renders } = counted({ tickMs: 10_000, minGapMs: 150 });
  const got: { data: string; at: number }[] = [];
  const t0 = performance.now();
  const stop = feed.stream((data) => got.push({ data, at: performance.now() - t0 }));
  try {
    assert.deepEqual(
      got.map((g) => g.data),
      ['1'],
    );
    // The first change after a quiet gap goes out on the next turn...
    await sleep(160);
    feed.changed();
    await sleep(20);
    assert.equal(got.length, 2);
    // ...then ten more within the gap are one push, a gap after the previous one.
    for (let i = 0; i < 10; i++) feed.changed();
    await sleep(60);
    assert.equal(got.length, 2, 'not before the gap');
    await sleep(150);
    assert.equal(got.length, 3);
    assert.ok(got[2]!.at - got[1]!.at >= 140, `gap ${(got[2]!.at - got[1]!.at).toFixed(0)} ms`);
    assert.equal(renders(), 3, 'one render per push');
  } finally {
    stop();
  }
});

test('with a gap of 0 a change is pushed on the next turn, never inside changed()', async () => {
  const { feed } = counted({ tickMs: 10_000 });
  const got: string[] = [];
  const stop = feed.stream((d) => got.push(d));
  feed.changed();
  feed.changed();
  assert.equal(got.length, 1, 'only the first view so far');
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(got.length, 2, 'one push for both changes');
  stop();
});

test('the tick pushes while a client is connected and stops with the last one', async () => {
  const { feed, renders } = counted({ tickMs: 25, minGapMs: 10 });
  const a: string[] = [];
  const b: string[] = [];
  const stopA = feed.stream((d) => a.push(d));
  const stopB = feed.stream((d) => b.push(d));
  await sleep(130);
  assert.ok(a.length >= 2, `ticks reached the first client (${a.length})`);
  assert.ok(b.length >= 2, `and the second (${b.length})`);
  stopA();
  assert.equal(feed.size, 1);
  await sleep(60);
  assert.ok(b.length > a.length);
  stopB();
  feed.changed();
  const after = renders();
  await sleep(100);
  assert.equal(renders(), after, 'no render once the last client left');
});
