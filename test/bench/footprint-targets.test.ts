// The footprint bench's verdicts on issue 16's targets, from figures handed in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { footprintVerdicts, verdictLines, type CountFigures } from '../../bench/lib/footprint-targets.js';

const fig = (cpuPct: number, rssMiB: number) => ({ cpuPct, rssMiB });
const row = (count: number, vf: [number, number, number, number], ka: [number, number] | null): CountFigures => ({
  count,
  vipflow: { master: fig(vf[0], vf[1]), backup: fig(vf[2], vf[3]) },
  keepalived: ka ? { master: fig(ka[0], 13), backup: fig(ka[1], 13) } : { master: null, backup: null },
});

test('figures inside every bound: every target met, idle in ms/s', () => {
  const v = footprintVerdicts(
    [row(1, [0.06, 31.8, 0.041, 30.7], [0.014, 0.003]), row(150, [0.433, 38, 0.244, 39], [0.67, 0.2]), row(1000, [1.7, 66, 0.56, 66], [1.9, 0.78])],
    1,
  );
  assert.deepEqual(
    v.map((x) => [x.target, x.met]),
    [
      ['1 instance idle: CPU at most 1 ms/s', true],
      ['1 instance: RSS at most 45 MiB', true],
      ["150 instances: CPU at most 1.5x keepalived's", true],
      ["1,000 instances: CPU at most 1.5x keepalived's", true],
      ['1,000 instances: RSS at most 80 MiB', true],
    ],
  );
  assert.equal(v[0]!.figures, 'master 0.60 ms/s, backup 0.41 ms/s');
  assert.equal(v[2]!.figures, 'master 0.65x, backup 1.22x');
  assert.equal(verdictLines(v).at(-1), '  every target met (5)');
});

test('one role over a bound fails that target alone, and the summary says so', () => {
  const v = footprintVerdicts([row(1, [0.06, 46, 0.11, 30], [0.01, 0.003]), row(150, [0.4, 38, 0.31, 39], [0.67, 0.2])], 1);
  assert.deepEqual(
    v.map((x) => x.met),
    [false, false, false],
    'idle backup 1.1 ms/s, master RSS 46 MiB, backup 1.55x',
  );
  assert.deepEqual(
    footprintVerdicts([row(1000, [1.5, 80, 0.5, 80.1], [1, 1])], 1).map((x) => x.met),
    [true, false],
    '1.5x is within, 80.1 MiB is not',
  );
  assert.equal(verdictLines(v).at(-1), '  0 of 3 targets met, 3 not met, 0 not judged');
});

test('no keepalived figure, or none of vipflow: not judged, never met', () => {
  const v = footprintVerdicts([row(1000, [13, 64, 4.4, 62], null)], 0.1);
  assert.equal(v[0]!.met, null);
  assert.match(v[0]!.figures, /keepalived has no master or backup figure/);
  assert.equal(v[1]!.met, true, 'the RSS bound needs no keepalived figure');
  const none = footprintVerdicts([{ count: 1, vipflow: { master: null, backup: fig(0.01, 30) }, keepalived: { master: null, backup: null } }], 1);
  assert.deepEqual(
    none.map((x) => [x.met, x.figures]),
    [[null, 'vipflow has no master figure (see the notes)']],
  );
  assert.equal(verdictLines(v).at(-1), '  1 of 2 targets met, 0 not met, 1 not judged');
});

test('the idle bound is judged at 1 s adverts only', () => {
  const v = footprintVerdicts([row(1, [0.3, 30, 0.16, 31], [0.13, 0.03])], 0.1);
  assert.deepEqual(
    v.map((x) => x.target),
    ['1 instance: RSS at most 45 MiB'],
  );
  assert.deepEqual(verdictLines([]), ['Targets (issue 16):', '  no target applies to the counts measured']);
});
