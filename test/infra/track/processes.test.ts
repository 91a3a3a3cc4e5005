/** The process counter on a fake process table and a simulated clock for the delays. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { spawn } from 'node:child_process';
import { silentLogger } from '../../../core/logger.js';
import { TrackProcesses } from '../../../infra/track/processes.js';
import type { ProcessSample } from '../../../actors/track-process/index.js';
import type { TrackProcess } from '../../../config/model.js';

const def = (extra: Partial<TrackProcess> = {}): TrackProcess => ({
  name: 'w',
  process: 'worker',
  parameters: [],
  weight: 0,
  reverse: false,
  quorum: 1,
  fullCommand: false,
  ...extra,
});
const p = (pid: number, ppid = 1, comm = 'worker'): ProcessSample => ({ pid, ppid, comm, cmdline: `${comm}\0`, zombie: false });

function setup(d: TrackProcess, table: ProcessSample[]) {
  const clock = new SimulatedClock();
  const changes: [string, boolean, number][] = [];
  const t = new TrackProcesses({
    log: silentLogger(),
    onQuorum: (name, up) => changes.push([name, up, clock.now()]),
    clock: { setTimeout: (fn, ms) => clock.setTimeout(fn, ms), clearTimeout: (id) => clock.clearTimeout(id as number) },
    readProcesses: () => table,
    alive: (pid) => table.some((x) => x.pid === pid),
    scanMs: 3_600_000,
    checkMs: 3_600_000,
  });
  t.start([d]);
  return { t, clock, changes };
}

test('counts at start, then quorum follows processes ending and starting', () => {
  const table = [p(10), p(11), p(12, 1, 'other')];
  const { t, changes } = setup(def({ quorum: 2 }), table);
  assert.deepEqual(t.status(), [{ name: 'w', count: 2, quorum: true, pids: [10, 11] }]);
  table.splice(0, 1);
  t.scan();
  assert.deepEqual(changes, [['w', false, 0]]);
  table.push(p(20));
  t.scan();
  assert.deepEqual(changes, [
    ['w', false, 0],
    ['w', true, 0],
  ]);
  t.stop();
});

test('a restart seen in one scan does not flap the quorum; a zombie no longer counts', () => {
  const table = [p(10)];
  const { t, changes } = setup(def(), table);
  table[0] = p(30);
  t.scan();
  assert.deepEqual(changes, []);
  table[0] = { ...p(30), zombie: true };
  t.scan();
  assert.deepEqual(changes, [['w', false, 0]]);
  t.stop();
});

test('terminate_delay and fork_delay as keepalived applies them (a child of a counted process is a fork)', () => {
  const table = [p(10)];
  const { t, clock, changes } = setup(def({ quorum: 2, delay: 2 }), table);
  table.push(p(11, 10));
  t.scan();
  assert.deepEqual(changes, [], 'fork of a counted process waits fork_delay');
  clock.increment(2000);
  assert.deepEqual(changes, [['w', true, 2000]]);
  table.pop();
  t.scan();
  clock.increment(1999);
  assert.equal(changes.length, 1, 'terminate_delay holds the loss');
  clock.increment(1);
  assert.deepEqual(changes.at(-1), ['w', false, 4000]);
  table.push(p(12, 1));
  t.scan();
  assert.deepEqual(changes.at(-1), ['w', true, 4000], 'a process started by exec counts at once');
  t.stop();
});

test('the real /proc: a sleep with a distinctive argument is counted, and its end seen by the fast check', async () => {
  const child = spawn('sleep', ['3017.25'], { stdio: 'ignore' });
  const changes: boolean[] = [];
  const t = new TrackProcesses({ log: silentLogger(), onQuorum: (_n, up) => changes.push(up), checkMs: 50 });
  try {
    t.start([def({ process: 'sleep', parameters: ['3017.25'] })]);
    assert.deepEqual(t.status()[0]?.pids, [child.pid]);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const end = Date.now() + 2000;
    while (changes.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(changes, [false]);
  } finally {
    t.stop();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
