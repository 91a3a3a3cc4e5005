// The daemon's real-time clock: whole-ms delays for Node's timer lists, never an early timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watchedClock } from '../../daemon/watched-clock.js';
import { silentLogger } from '../../core/logger.js';

test('fractional delays fire no earlier than asked, in due order, and a cleared one never', async () => {
  const clock = watchedClock(silentLogger(), { late: 0, worstLateMs: 0 });
  const start = performance.now();
  const fired: { name: string; after: number }[] = [];
  const done = new Promise<void>((resolve) => {
    const at = (name: string) => () => {
      fired.push({ name, after: performance.now() - start });
      if (fired.length === 3) resolve();
    };
    clock.setTimeout(at('b'), 12.2);
    clock.setTimeout(at('a'), 4.7);
    const cleared = clock.setTimeout(at('cleared'), 8.4);
    clock.setTimeout(at('c'), 20.9);
    clock.clearTimeout(cleared);
  });
  await done;
  assert.deepEqual(
    fired.map((f) => f.name),
    ['a', 'b', 'c'],
  );
  const asked = { a: 4.7, b: 12.2, c: 20.9 } as Record<string, number>;
  for (const f of fired) assert.ok(f.after >= asked[f.name]!, `${f.name} fired after ${f.after} ms, asked ${asked[f.name]}`);
});
