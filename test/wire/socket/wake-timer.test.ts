/**
 * The addon's wake timer (a timerfd the loop polls): it fires once, never
 * before the time asked, to well under Node's whole millisecond; a re-arm
 * replaces the earlier time, 0 disarms, and a closed one never fires.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openWakeTimer } from '../../../wire/socket/index.js';

/** Resolves after `ms` on a timer that keeps the loop alive (the wake timer does not). */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('fires once, no earlier than asked, at sub-millisecond times', async () => {
  const late: number[] = [];
  for (const us of [300, 1250, 2700]) {
    const firedAt: number[] = [];
    const wake = openWakeTimer(() => firedAt.push(performance.now()));
    const asked = performance.now();
    wake.arm(us);
    await sleep(us / 1000 + 20);
    assert.equal(firedAt.length, 1, `${us} µs: fired ${firedAt.length} times`);
    const took = firedAt[0]! - asked;
    assert.ok(took >= us / 1000, `${us} µs: fired after ${took.toFixed(3)} ms, early`);
    late.push(took - us / 1000);
    wake.close();
  }
  // Not a timing target (a loaded host can be late): it must not be on a whole-ms grid of its own.
  assert.ok(Math.min(...late) < 1, `late by ${late.map((l) => l.toFixed(3)).join(', ')} ms: never within a millisecond`);
});

test('a re-arm replaces the earlier time; 0 disarms; close stops it for good', async () => {
  let fired = 0;
  const wake = openWakeTimer(() => fired++);
  wake.arm(50_000);
  wake.arm(1000);
  await sleep(15);
  assert.equal(fired, 1, 'the re-arm to 1 ms fired, once');
  await sleep(60);
  assert.equal(fired, 1, 'the replaced 50 ms arm never fired');

  wake.arm(2000);
  wake.arm(0);
  await sleep(15);
  assert.equal(fired, 1, 'disarmed');

  wake.arm(2000);
  wake.close();
  wake.close();
  wake.arm(1000);
  await sleep(15);
  assert.equal(fired, 1, 'closed: neither the armed time nor a later arm fired');
});

test('an armed wake timer does not keep the process alive', async () => {
  const { spawnSync } = await import('node:child_process');
  const url = new URL('../../../wire/socket/index.js', import.meta.url).href;
  const started = performance.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { openWakeTimer } from '${url}'; openWakeTimer(() => {}).arm(10_000_000);`], {
    timeout: 5000,
  });
  assert.equal(r.status, 0, String(r.stderr));
  assert.ok(performance.now() - started < 5000, 'the process waited for the 10 s wake');
});
