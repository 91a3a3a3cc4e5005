/**
 * Side by side with keepalived 2.2.7: each row is a trace worked out by hand
 * from the named function's code, and vipflow's rules must give the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkerChanged,
  initialCounters,
  initialRealServer,
  initialVirtualServer,
  judge,
  miscExit,
  miscExitOk,
  reweigh,
  type RealServerView,
  type VerdictRules,
} from '../../../actors/check/index.js';

interface CheckerRow {
  source: string;
  rules: Partial<VerdictRules>;
  results: boolean[];
  /** per result: the delay chosen and the transition ('-' for none) */
  expected: string[];
}

const checkerRows: CheckerRow[] = [
  // validate_check_config sets retry_it = retry, so tcp_epilog's first failure takes the
  // "retry_it >= retry" branch: down, delay_loop.
  { source: 'validate_check_config + tcp_epilog', rules: { retry: 3 }, results: [false], expected: ['L down'] },
  // tcp_epilog: success resets retry_it; then failures use delay_before_retry until retry_it == retry.
  { source: 'tcp_epilog', rules: { retry: 2 }, results: [true, false, false, false], expected: ['L -', 'R -', 'R -', 'L down'] },
  // tcp_epilog while down: retry_it counts again, so a down TCP checker alternates R.., L.
  { source: 'tcp_epilog (down)', rules: { retry: 1 }, results: [false, false, false, true], expected: ['L down', 'R -', 'L -', 'L up'] },
  // misc_check_child_thread: failures are only counted while up (or before the first result).
  {
    source: 'misc_check_child_thread (down)',
    rules: { retry: 1, retriesWhileDown: false },
    results: [false, false, false],
    expected: ['L down', 'L -', 'L -'],
  },
  // validate_check_config + update_svr_checker_state: alpha starts down; first failure still reported.
  { source: 'update_svr_checker_state (alpha)', rules: { alpha: true, retry: 1 }, results: [false, true], expected: ['L down', 'L up'] },
  // retry 0: "retry disabled", every failure from up is final.
  {
    source: 'misc_check_child_thread (retry 0)',
    rules: { retry: 0, retriesWhileDown: false },
    results: [true, false, true],
    expected: ['L -', 'L down', 'L up'],
  },
];

test('checker traces match keepalived', () => {
  for (const row of checkerRows) {
    const rules: VerdictRules = { retry: 1, delayLoopMs: 60, delayBeforeRetryMs: 1, alpha: false, retriesWhileDown: true, ...row.rules };
    let c = initialCounters(rules);
    const got = row.results.map((ok) => {
      const v = judge(rules, c, ok);
      c = v.counters;
      return `${v.delayMs === rules.delayLoopMs ? 'L' : 'R'} ${v.transition ?? '-'}`;
    });
    assert.deepEqual(got, row.expected, row.source);
  }
});

test('misc_dynamic weights match misc_check_child_thread (iweight 10)', () => {
  const rows: { codes: number[]; weights: number[] }[] = [
    // status - 2 - iweight is the offset, so the weight is status - 2.
    { codes: [2, 3, 255], weights: [0, 1, 253] },
    // 0 with misc_dynamic: legacy success, offset 0, configured weight.
    { codes: [12, 0], weights: [10, 10] },
    { codes: [50, 50, 0, 7], weights: [48, 48, 10, 5] },
  ];
  const rules = { id: 'rs', weight: 10, inhibitOnFailure: false, checkers: [{ id: 'm', alpha: false, miscDynamic: true }] };
  for (const row of rows) {
    let s = initialRealServer(rules);
    const got = row.codes.map((code) => {
      assert.ok(miscExitOk(code, true));
      s = miscExit(rules, s, 'm', code);
      return s.effectiveWeight;
    });
    assert.deepEqual(got, row.weights, row.codes.join());
  }
});

test('quorum crossings match update_quorum_state (threshold = quorum -/+ hysteresis)', () => {
  const rows: { quorum: number; hysteresis: number; weights: number[]; expected: string[] }[] = [
    // from up: lost when weight < 5 - 2 = 3; from down: gained when weight >= 7.
    { quorum: 5, hysteresis: 2, weights: [8, 4, 3, 2, 6, 7, 3], expected: ['up', '-', '-', 'down', '-', 'up', '-'] },
    // hysteresis 0: the plain quorum either way.
    { quorum: 2, hysteresis: 0, weights: [2, 1, 2, 1], expected: ['up', 'down', 'up', 'down'] },
  ];
  for (const row of rows) {
    const r = { id: 'vs', quorum: row.quorum, hysteresis: row.hysteresis, sorryServer: undefined, omega: false, haSuspend: false };
    const view = (w: number): RealServerView[] => {
      const rules = { id: 'rs', weight: w, inhibitOnFailure: false, checkers: [] };
      return [{ rules, state: initialRealServer(rules) }];
    };
    const first = initialVirtualServer(r, view(row.weights[0]!));
    let s = first.state;
    const got = [first.commands.length ? first.commands[0]!.type.replace('quorum-', '') : '-'];
    for (const w of row.weights.slice(1)) {
      const step = reweigh(r, s, view(w));
      s = step.state;
      got.push(step.commands.length ? step.commands[step.commands.length - 1]!.type.replace('quorum-', '') : '-');
    }
    assert.deepEqual(got, row.expected, `${row.quorum}/${row.hysteresis}`);
  }
});

test('real server aliveness matches update_svr_checker_state (num_failed_checkers)', () => {
  const rules = {
    id: 'rs',
    weight: 1,
    inhibitOnFailure: false,
    checkers: ['a', 'b', 'c'].map((id) => ({ id, alpha: false, miscDynamic: false })),
  };
  const steps: [string, boolean, string][] = [
    ['a', false, 'down'],
    ['b', false, '-'],
    ['a', true, '-'],
    ['a', true, '-'],
    ['b', true, 'up'],
  ];
  let s = initialRealServer(rules);
  for (const [id, up, expected] of steps) {
    const ch = checkerChanged(rules, s, id, up);
    s = ch.state;
    assert.equal(ch.alive ?? '-', expected, `${id} ${up}`);
  }
});
