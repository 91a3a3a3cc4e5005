/** Checker planning: keepalived 2.2.7's defaults and inheritance, each test naming the source rule. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualServerGroupSchema, VirtualServerSchema } from '../../../config/model.js';
import { checkerInputOf, planChecks, realServerRulesOf, virtualServerRulesOf, type CheckerPlan, type VirtualServerPlan } from '../../../infra/check/plan.js';

type VsInput = Record<string, unknown>;

function plan(vs: VsInput, groups: unknown[] = []): ReturnType<typeof planChecks> {
  return planChecks({ virtualServers: [VirtualServerSchema.parse(vs)], virtualServerGroups: groups.map((g) => VirtualServerGroupSchema.parse(g)) });
}

function onlyVs(vs: VsInput, groups: unknown[] = []): VirtualServerPlan {
  const p = plan(vs, groups);
  assert.equal(p.virtualServers.length, 1, JSON.stringify(p.issues));
  return p.virtualServers[0]!;
}

const VIP = { kind: 'address', address: '192.0.2.10', port: 80 };

function checker(vs: VsInput = {}, rs: VsInput = {}, c: VsInput = { type: 'TCP_CHECK' }): CheckerPlan {
  const p = onlyVs({ target: VIP, ...vs, realServers: [{ address: '192.0.2.21', ...rs, checkers: [c] }] });
  return p.realServers[0]!.checkers[0]!;
}

test('connect_timeout: checker, then real server, then virtual server, then 5 s (alloc_vs; validate_check_config)', () => {
  assert.equal(checker().connectTimeoutMs, 5000);
  assert.equal(checker({ connectTimeout: 7 }).connectTimeoutMs, 7000);
  assert.equal(checker({ connectTimeout: 7 }, { connectTimeout: 3 }).connectTimeoutMs, 3000);
  assert.equal(checker({ connectTimeout: 7 }, { connectTimeout: 3 }, { type: 'TCP_CHECK', connectTimeout: 2 }).connectTimeoutMs, 2000);
});

test('delay_loop: checker, then real server, then virtual server, whose default is 60 s (KEEPALIVED_DEFAULT_DELAY)', () => {
  assert.equal(checker().delayLoopMs, 60000);
  assert.equal(checker({ delayLoop: 10 }).delayLoopMs, 10000);
  assert.equal(checker({ delayLoop: 10 }, { delayLoop: 4 }).delayLoopMs, 4000);
  assert.equal(checker({ delayLoop: 10 }, { delayLoop: 4 }, { type: 'TCP_CHECK', delayLoop: 2 }).delayLoopMs, 2000);
});

test('retry: checker, rs, vs, else the type default: 1 (queue_checker), 0 for MISC (misc_check_handler), 3 for DNS (DNS_DEFAULT_RETRY)', () => {
  assert.equal(checker().retry, 1);
  assert.equal(checker({}, {}, { type: 'HTTP_GET' }).retry, 1);
  assert.equal(checker({}, {}, { type: 'MISC_CHECK', miscPath: { command: '/bin/true' } }).retry, 0);
  assert.equal(checker({}, {}, { type: 'DNS_CHECK' }).retry, 3);
  assert.equal(checker({ retry: 5 }).retry, 5);
  assert.equal(checker({ retry: 5 }, { retry: 2 }).retry, 2);
  assert.equal(checker({ retry: 5 }, { retry: 2 }, { type: 'TCP_CHECK', retry: 0 }).retry, 0);
});

test('delay_before_retry: checker, rs, vs, else 1 s, 3 s for HTTP_GET/SSL_GET (http_get_handler), delay_loop for DNS (default 0)', () => {
  assert.equal(checker().delayBeforeRetryMs, 1000);
  assert.equal(checker({}, {}, { type: 'HTTP_GET' }).delayBeforeRetryMs, 3000);
  assert.equal(checker({}, {}, { type: 'SSL_GET' }).delayBeforeRetryMs, 3000);
  assert.equal(checker({ delayLoop: 9 }, {}, { type: 'DNS_CHECK' }).delayBeforeRetryMs, 9000);
  assert.equal(checker({ delayBeforeRetry: 4 }, {}, { type: 'HTTP_GET' }).delayBeforeRetryMs, 4000);
  assert.equal(checker({ delayBeforeRetry: 4 }, { delayBeforeRetry: 6 }).delayBeforeRetryMs, 6000);
  assert.equal(checker({}, { delayBeforeRetry: 6 }, { type: 'TCP_CHECK', delayBeforeRetry: 0.5 }).delayBeforeRetryMs, 500);
});

test("warmup: checker, rs, vs, else the checker's own delay_loop (validate_check_config); 0 disables it", () => {
  assert.equal(checker().warmupMs, 60000);
  assert.equal(checker({}, {}, { type: 'TCP_CHECK', delayLoop: 6 }).warmupMs, 6000);
  assert.equal(checker({ warmup: 2 }).warmupMs, 2000);
  assert.equal(checker({ warmup: 2 }, { warmup: 0 }).warmupMs, 0);
  assert.equal(checker({ warmup: 2 }, { warmup: 0 }, { type: 'TCP_CHECK', warmup: 1 }).warmupMs, 1000);
});

test('alpha: checker, rs, vs (vs default off); inhibit_on_failure: rs or vs', () => {
  assert.equal(checker().alpha, false);
  assert.equal(checker({ alpha: true }).alpha, true);
  assert.equal(checker({ alpha: true }, { alpha: false }).alpha, false);
  assert.equal(checker({}, { alpha: false }, { type: 'TCP_CHECK', alpha: true }).alpha, true);
  const inh = (vs: VsInput, rs: VsInput) => onlyVs({ target: VIP, ...vs, realServers: [{ address: '192.0.2.21', ...rs }] }).realServers[0]!.inhibitOnFailure;
  assert.equal(inh({}, {}), false);
  assert.equal(inh({ inhibitOnFailure: true }, {}), true);
  assert.equal(inh({}, { inhibitOnFailure: true }), true);
});

test('MISC_CHECK: no connect_timeout; the probe bound is misc_timeout, else the VIRTUAL server delay_loop (misc_check_thread), scheduled from the start', () => {
  const misc = { type: 'MISC_CHECK', miscPath: { command: '/bin/true' } };
  const c = checker({ delayLoop: 20 }, { delayLoop: 5 }, misc);
  assert.equal(c.connectTimeoutMs, undefined);
  assert.equal(c.probeTimeoutMs, 20000);
  assert.equal(c.probeBoundMs, 21000);
  assert.equal(c.scheduleFrom, 'start');
  assert.equal(c.retriesWhileDown, false);
  assert.equal(checker({}, {}, { ...misc, miscTimeout: 3, miscDynamic: true }).probeTimeoutMs, 3000);
  assert.equal(checker({}, {}, { ...misc, miscDynamic: true }).miscDynamic, true);
  const tcp = checker({ connectTimeout: 2 });
  assert.deepEqual([tcp.probeBoundMs, tcp.scheduleFrom, tcp.retriesWhileDown], [3000, 'result', true]);
});

test('HTTP_GET / SSL_GET: the probe bound covers every url at connect_timeout plus the exchange limit (keepalived bounds each step, not the check)', () => {
  const urls = [{ path: '/a' }, { path: '/b' }, { path: '/c' }];
  const http = checker({}, {}, { type: 'HTTP_GET', connectTimeout: 1, urls });
  // Each url: connect (and handshake) within 1 s, then the response within max(30 s, 6 connect timeouts).
  assert.equal(http.probeTimeoutMs, 3 * (1000 + 30_000));
  assert.equal(http.probeBoundMs, 3 * 31_000 + 1000);
  assert.equal(http.connectTimeoutMs, 1000);
  assert.equal(checker({}, {}, { type: 'SSL_GET', connectTimeout: 10, urls: [{ path: '/' }] }).probeTimeoutMs, 10_000 + 60_000);
});

test('quorum above the total weight is reduced to it; hysteresis >= quorum becomes quorum - 1 (validate_check_config)', () => {
  const p = plan({
    target: VIP,
    quorum: 10,
    hysteresis: 10,
    realServers: [
      { address: '192.0.2.21', weight: 3 },
      { address: '192.0.2.22', weight: 4 },
    ],
  });
  const vs = p.virtualServers[0]!;
  assert.equal(vs.quorum, 7);
  assert.equal(vs.hysteresis, 6);
  assert.equal(p.issues.length, 2);
  const ok = onlyVs({ target: VIP, quorum: 2, hysteresis: 1, realServers: [{ address: '192.0.2.21', weight: 3 }] });
  assert.deepEqual([ok.quorum, ok.hysteresis], [2, 1]);
});

test('a virtual server without real servers is ignored; a duplicate real server is dropped (validate_check_config)', () => {
  const p = plan({ target: VIP });
  assert.equal(p.virtualServers.length, 0);
  assert.match(p.issues[0]!.message, /no real servers/);
  const d = plan({ target: VIP, realServers: [{ address: '192.0.2.21' }, { address: '192.0.2.21', port: 80 }] });
  assert.equal(d.virtualServers[0]!.realServers.length, 1);
  assert.match(d.issues[0]!.message, /duplicated/);
});

test('ha_suspend is cleared on a fwmark virtual server (validate_check_config); sorry server takes the VS port', () => {
  const p = plan({ target: { kind: 'fwmark', fwmark: 5 }, haSuspend: true, realServers: [{ address: '192.0.2.21' }] });
  assert.equal(p.virtualServers[0]!.haSuspend, false);
  assert.match(p.issues[0]!.message, /ha_suspend/);
  const vs = onlyVs({
    target: VIP,
    haSuspend: true,
    sorryServer: { address: '192.0.2.99' },
    sorryServerInhibit: true,
    realServers: [{ address: '192.0.2.21' }],
  });
  assert.equal(vs.haSuspend, true);
  assert.deepEqual(vs.sorryServer, { address: '192.0.2.99', port: 80, inhibit: true });
});

test('virtual_server_group: ranges replace the last IPv4 byte / IPv6 group (addr_matches); an unknown group is an issue', () => {
  const group = {
    name: 'G',
    entries: [
      { kind: 'address', address: '192.0.2.1', rangeEnd: 3, port: 80 },
      { kind: 'address', address: '2001:db8::a', rangeEnd: 0xb, port: 80 },
      { kind: 'fwmark', fwmark: 7 },
    ],
  };
  const vs = onlyVs({ target: { kind: 'group', group: 'G' }, realServers: [{ address: '192.0.2.21', port: 80 }] }, [group]);
  assert.deepEqual(
    vs.services.map((s) => (s.kind === 'fwmark' ? `fwmark ${s.fwmark}` : s.address)),
    ['192.0.2.1', '192.0.2.2', '192.0.2.3', '2001:db8::a', '2001:db8::b', 'fwmark 7'],
  );
  const missing = plan({ target: { kind: 'group', group: 'X' }, realServers: [{ address: '192.0.2.21' }] });
  assert.equal(missing.virtualServers.length, 0);
  assert.match(missing.issues[0]!.message, /not defined/);
});

test('the plan feeds the actors: a ha_suspend checker starts disabled until the VIP is present (register_checkers_thread)', () => {
  const vs = onlyVs({
    target: VIP,
    haSuspend: true,
    quorum: 2,
    realServers: [{ address: '192.0.2.21', weight: 2, checkers: [{ type: 'MISC_CHECK', miscPath: { command: '/bin/true' }, miscDynamic: true, alpha: true }] }],
  });
  const rs = vs.realServers[0]!;
  const deps = { random: () => 0, now: () => 0 };
  assert.equal(checkerInputOf(vs, rs.checkers[0]!, { ...deps, vipPresent: false }).enabled, false);
  assert.equal(checkerInputOf(vs, rs.checkers[0]!, { ...deps, vipPresent: true }).enabled, true);
  assert.deepEqual(realServerRulesOf(rs).checkers, [{ id: rs.checkers[0]!.id, alpha: true, miscDynamic: true }]);
  assert.deepEqual(virtualServerRulesOf(vs), { id: '192.0.2.10:80', quorum: 2, hysteresis: 0, sorryServer: undefined, omega: false, haSuspend: true });
});

test('SMTP_CHECK host blocks become checkers of their own (smtp_check_end_handler), each with its own connection and connect_timeout', () => {
  const hosts = [{ connectIp: '192.0.2.31', connectPort: 2525, connectTimeout: 2 }, { connectIp: '192.0.2.32' }];
  const rs = { address: '192.0.2.21', port: 25, connectTimeout: 7, checkers: [{ type: 'SMTP_CHECK', heloName: 'lb.test', retry: 4, hosts }] };
  const first = plan({ target: { kind: 'address', address: '192.0.2.10', port: 25 }, realServers: [rs] }).virtualServers[0]!.realServers[0]!.checkers;
  // No connection option on the checker itself: the first host's become its own.
  assert.deepEqual(
    first.map((c) => [c.id.split('/').pop(), c.settings.type === 'SMTP_CHECK' && c.settings.connectIp, c.connectTimeoutMs, c.retry, c.probeTimeoutMs]),
    [
      ['SMTP_CHECK#0', '192.0.2.31', 2000, 4, 8000],
      ['SMTP_CHECK#0.host2', '192.0.2.32', 7000, 4, 28000],
    ],
  );
  for (const c of first) assert.ok(c.settings.type === 'SMTP_CHECK' && c.settings.hosts.length === 0 && c.settings.heloName === 'lb.test');
  // A connection option on the checker: it keeps its own, every host is an extra checker.
  const own = plan({
    target: { kind: 'address', address: '192.0.2.10', port: 25 },
    realServers: [{ ...rs, checkers: [{ type: 'SMTP_CHECK', connectTimeout: 1, hosts }] }],
  }).virtualServers[0]!.realServers[0]!.checkers;
  assert.deepEqual(
    own.map((c) => [c.id.split('/').pop(), c.settings.type === 'SMTP_CHECK' ? (c.settings.connectIp ?? null) : 0, c.connectTimeoutMs]),
    [
      ['SMTP_CHECK#0', null, 1000],
      ['SMTP_CHECK#0.host1', '192.0.2.31', 2000],
      ['SMTP_CHECK#0.host2', '192.0.2.32', 7000],
    ],
  );
});

test("FILE_CHECK: its track_file resolved, weight and reverse its own else the track_file's, never alpha; an unknown track_file is dropped", () => {
  const vs = VirtualServerSchema.parse({
    target: { kind: 'address', address: '192.0.2.10', port: 80 },
    alpha: true,
    realServers: [
      {
        address: '192.0.2.21',
        checkers: [
          { type: 'FILE_CHECK', trackFile: 'load' },
          { type: 'FILE_CHECK', trackFile: 'load', weight: -5, reverse: true },
          { type: 'FILE_CHECK', trackFile: 'missing' },
        ],
      },
    ],
  });
  const trackFiles = [{ name: 'load', file: '/run/load', weight: 2, reverse: true }];
  const p = planChecks({ virtualServers: [vs], virtualServerGroups: [], trackFiles });
  const cs = p.virtualServers[0]!.realServers[0]!.checkers;
  assert.deepEqual(
    cs.map((c) => [c.file, c.alpha, c.scheduled]),
    [
      [{ name: 'load', path: '/run/load', weight: 2, reverse: true }, false, false],
      [{ name: 'load', path: '/run/load', weight: -5, reverse: true }, false, false],
    ],
  );
  assert.deepEqual(p.issues, [{ virtualServer: '192.0.2.10:80', message: 'real server 192.0.2.21:80: FILE_CHECK track_file missing not found - ignoring' }]);
  assert.deepEqual(realServerRulesOf(p.virtualServers[0]!.realServers[0]!).checkers[0], {
    id: cs[0]!.id,
    alpha: false,
    miscDynamic: false,
    file: { weight: 2, reverse: true },
  });
});

test('planning with the previous plan: an unchanged virtual server keeps its plan object and issues; a changed one, or changed groups, is planned again', () => {
  const a = VirtualServerSchema.parse({ target: { kind: 'address', address: '192.0.2.10', port: 80 }, quorum: 9, realServers: [{ address: '192.0.2.21' }] });
  const b = VirtualServerSchema.parse({ target: { kind: 'address', address: '192.0.2.11', port: 80 }, realServers: [{ address: '192.0.2.22' }] });
  const input = { virtualServers: [a, b], virtualServerGroups: [] };
  const first = planChecks(input);
  assert.equal(first.issues.length, 1, 'quorum above the total weight');
  const b2 = VirtualServerSchema.parse({ target: { kind: 'address', address: '192.0.2.11', port: 80 }, realServers: [{ address: '192.0.2.23' }] });
  // New objects with the same content for a (as a reload parses them), a changed b.
  const next = { virtualServers: [VirtualServerSchema.parse(structuredClone(a)), b2], virtualServerGroups: [] };
  const second = planChecks(next, { previous: { input, plan: first } });
  assert.equal(second.virtualServers[0], first.virtualServers[0], 'unchanged: the same object');
  assert.notEqual(second.virtualServers[1], first.virtualServers[1]);
  assert.equal(second.virtualServers[1]!.realServers[0]!.address, '192.0.2.23');
  assert.deepEqual(second.issues, first.issues, 'the reused virtual server keeps its issue');
  assert.deepEqual(second, planChecks(next), 'the same plan as without the previous one');
  const groups = [VirtualServerGroupSchema.parse({ name: 'g', entries: [] })];
  const third = planChecks({ ...next, virtualServerGroups: groups }, { previous: { input: next, plan: second } });
  assert.notEqual(third.virtualServers[0], second.virtualServers[0], 'groups changed: everything planned again');
  assert.deepEqual(third.virtualServers[0], second.virtualServers[0]);
});
