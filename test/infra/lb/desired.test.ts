/** The load balancer's desired state: keepalived's rules from ipwrapper.c / ipvswrapper.c, each test naming the one it checks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualServerGroupSchema, VirtualServerSchema } from '../../../config/model.js';
import { planChecks, type VirtualServerPlan } from '../../../infra/check/plan.js';
import type { VirtualServerStatus } from '../../../infra/check/runner.js';
import { desiredLbState, diffLbState } from '../../../infra/lb/desired.js';

function plans(vs: Record<string, unknown>, groups: unknown[] = []): VirtualServerPlan[] {
  const p = planChecks({ virtualServers: [VirtualServerSchema.parse(vs)], virtualServerGroups: groups.map((g) => VirtualServerGroupSchema.parse(g)) });
  assert.equal(p.virtualServers.length, 1, JSON.stringify(p.issues));
  return p.virtualServers;
}

const VIP = { kind: 'address', address: '198.18.0.100', port: 80 };
const RS = [
  { address: '198.18.1.1', weight: 3 },
  { address: '198.18.1.2', weight: 2, inhibitOnFailure: true },
  { address: '198.18.1.3', weight: 1 },
];

function status(vs: VirtualServerPlan, alive: boolean[], opts: { sorryActive?: boolean; weights?: number[] } = {}): VirtualServerStatus[] {
  return [
    {
      id: vs.id,
      quorumUp: !opts.sorryActive,
      liveWeight: 0,
      sorryActive: opts.sorryActive ?? false,
      suspended: false,
      realServers: vs.realServers.map((r, i) => ({ id: r.id, alive: alive[i]!, weight: opts.weights?.[i] ?? r.weight, checkers: [] })),
    },
  ];
}

test('alive real servers at their weight; a dead one removed, or at weight 0 with inhibit_on_failure (ipvs_cmd: DELDEST -> EDITDEST)', () => {
  const vs = plans({ target: VIP, lbAlgo: 'wrr', realServers: RS });
  const all = desiredLbState(vs, status(vs[0]!, [true, true, true], { weights: [3, 5, 1] }));
  assert.equal(all.services.length, 1);
  const s = all.services[0]!;
  assert.equal(s.id, '198.18.0.100:80/tcp');
  assert.equal(s.virtualServer, '198.18.0.100:80');
  assert.deepEqual(s.service, { kind: 'address', family: 4, protocol: 'tcp', address: '198.18.0.100', port: 80 });
  assert.equal(s.scheduler, 'wrr');
  assert.equal(s.lbKind, 'NAT');
  // misc_dynamic weights come from the status; the real server's port defaults to the virtual server's.
  assert.deepEqual(s.destinations, [
    { address: '198.18.1.1', port: 80, weight: 3 },
    { address: '198.18.1.2', port: 80, weight: 5 },
    { address: '198.18.1.3', port: 80, weight: 1 },
  ]);
  const down = desiredLbState(vs, status(vs[0]!, [false, false, true]));
  assert.deepEqual(down.services[0]!.destinations, [
    { address: '198.18.1.2', port: 80, weight: 0 },
    { address: '198.18.1.3', port: 80, weight: 1 },
  ]);
});

test('sorry server active: real servers removed (inhibit: weight 0), the sorry server alone at weight 1 (update_quorum_state, alloc_ssvr)', () => {
  const vs = plans({ target: VIP, realServers: RS, sorryServer: { address: '198.18.1.9', port: 8080 } });
  const st = desiredLbState(vs, status(vs[0]!, [false, false, false], { sorryActive: true }));
  assert.deepEqual(st.services[0]!.destinations, [
    { address: '198.18.1.2', port: 80, weight: 0 },
    { address: '198.18.1.9', port: 8080, weight: 1 },
  ]);
  // Not active and no sorry_server_inhibit: the sorry server is absent.
  const up = desiredLbState(vs, status(vs[0]!, [true, true, true]));
  assert.equal(
    up.services[0]!.destinations.some((d) => d.address === '198.18.1.9'),
    false,
  );
});

test('sorry_server_inhibit: present at weight 0 while not active (init_service_vs), unless it is one of the real servers', () => {
  const vs = plans({ target: VIP, realServers: RS, sorryServer: { address: '198.18.1.9' }, sorryServerInhibit: true });
  const st = desiredLbState(vs, status(vs[0]!, [true, true, true]));
  assert.deepEqual(st.services[0]!.destinations.at(-1), { address: '198.18.1.9', port: 80, weight: 0 });
  const dup = plans({ target: VIP, realServers: RS, sorryServer: { address: '198.18.1.1' }, sorryServerInhibit: true });
  const st2 = desiredLbState(dup, status(dup[0]!, [true, true, true]));
  assert.deepEqual(st2.services[0]!.destinations[0], { address: '198.18.1.1', port: 80, weight: 3 });
  assert.equal(st2.services[0]!.destinations.length, 3);
});

test('no status yet: a real server is in the pool unless alpha (init_service_rs)', () => {
  const vs = plans({ target: VIP, realServers: [{ address: '198.18.1.1' }, { address: '198.18.1.2', alpha: true }] });
  assert.deepEqual(desiredLbState(vs, []).services[0]!.destinations, [{ address: '198.18.1.1', port: 80, weight: 1 }]);
});

test('IPv6, UDP, persistence and lb_kind carried; a group expands to one service per entry with its port', () => {
  const v6 = plans({
    target: { kind: 'address', address: 'fd00:198:18::100', port: 53 },
    protocol: 'UDP',
    lbAlgo: 'sh',
    lbKind: 'DR',
    persistenceTimeout: 300,
    persistenceGranularity: '64',
    realServers: [{ address: 'fd00:198:18:1::1' }],
  });
  const s = desiredLbState(v6, []).services[0]!;
  assert.equal(s.id, '[fd00:198:18::100]:53/udp');
  assert.deepEqual(s.service, { kind: 'address', family: 6, protocol: 'udp', address: 'fd00:198:18::100', port: 53 });
  assert.equal(s.lbKind, 'DR');
  assert.equal(s.persistenceTimeoutS, 300);
  assert.equal(s.persistenceGranularity, '64');
  const g = plans({ target: { kind: 'group', group: 'web' }, realServers: [{ address: '198.18.1.1' }] }, [
    {
      name: 'web',
      entries: [
        { kind: 'address', address: '198.18.0.100', rangeEnd: 101, port: 80 },
        { kind: 'address', address: '198.18.0.200', port: 443 },
      ],
    },
  ]);
  const gs = desiredLbState(g, []).services;
  assert.deepEqual(
    gs.map((x) => x.id),
    ['198.18.0.100:80/tcp', '198.18.0.101:80/tcp', '198.18.0.200:443/tcp'],
  );
  assert.deepEqual(
    gs.map((x) => x.destinations[0]!.port),
    [80, 80, 443],
  );
  assert.ok(gs.every((x) => x.virtualServer === 'group:web'));
});

test('fwmark: family from ip_family, else from the real servers; destinations without a port', () => {
  const f = plans({ target: { kind: 'fwmark', fwmark: 7 }, realServers: [{ address: 'fd00:198:18:1::1' }] });
  const s = desiredLbState(f, []).services[0]!;
  assert.deepEqual(s.service, { kind: 'fwmark', family: 6, fwmark: 7 });
  assert.equal(s.id, 'fwmark:7/v6');
  assert.equal(s.destinations[0]!.port, undefined);
  const f4 = plans({ target: { kind: 'fwmark', fwmark: 7 }, ipFamily: 'inet', realServers: [{ address: '198.18.1.1' }] });
  assert.equal(desiredLbState(f4, []).services[0]!.service.family, 4);
});

test('diff: added, removed, changed by service id; destination order does not count', () => {
  const vs = plans({ target: VIP, realServers: RS });
  const a = desiredLbState(vs, status(vs[0]!, [true, true, true]));
  const b = desiredLbState(vs, status(vs[0]!, [true, false, true]));
  assert.deepEqual(diffLbState(undefined, a), { added: ['198.18.0.100:80/tcp'], removed: [], changed: [] });
  assert.deepEqual(diffLbState(a, b), { added: [], removed: [], changed: ['198.18.0.100:80/tcp'] });
  const reordered = { services: [{ ...a.services[0]!, destinations: [...a.services[0]!.destinations].reverse() }] };
  assert.deepEqual(diffLbState(a, reordered), { added: [], removed: [], changed: [] });
  assert.deepEqual(diffLbState(a, { services: [] }), { added: [], removed: ['198.18.0.100:80/tcp'], changed: [] });
});
