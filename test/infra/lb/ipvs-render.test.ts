/**
 * ipvsadm commands from the load-balancer model. The golden lines follow keepalived's
 * ipvswrapper.c (ipvs_set_srule, ipvs_set_drule, ipvs_cmd): each test names the rule.
 * Nothing here reaches a kernel (this one has no IPVS).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LbState, LbVirtualService } from '../../../infra/lb/model.js';
import { planIpvsState, renderIpvsRestore, restoreScript, type IpvsCommand } from '../../../infra/lb/ipvs-render.js';
import { IPVS_SCHEDULERS, ipvsUnsupported, serviceId, toIpvsService, type IpvsVirtualService } from '../../../infra/lb/ipvs-service.js';

const web = (over: Partial<IpvsVirtualService> = {}): IpvsVirtualService => ({
  id: '198.18.0.100:80/tcp',
  virtualServer: '198.18.0.100:80',
  service: { kind: 'address', family: 4, protocol: 'tcp', address: '198.18.0.100', port: 80 },
  scheduler: 'wrr',
  lbKind: 'NAT',
  destinations: [
    { address: '198.18.1.1', port: 8080, weight: 3 },
    { address: '198.18.1.2', port: 8080, weight: 1 },
  ],
  ...over,
});

const lines = (cmds: readonly IpvsCommand[]) => cmds.map((c) => c.join(' '));
const fromScratch = (...s: IpvsVirtualService[]) => lines(planIpvsState([], { services: s }, () => '').commands);
/** What the kernel would hold after installing `s`. */
const installed = (...s: LbVirtualService[]) => s.map((v) => toIpvsService(v));
const plan = (before: LbVirtualService[], after: LbVirtualService[]) => planIpvsState(installed(...before), { services: after }, (s) => serviceId(s.service));

test('NAT: scheduler always given (ipvsadm would default to wlc), real servers on their own port with -m and their weight', () => {
  assert.deepEqual(fromScratch(web()), [
    '-A -t 198.18.0.100:80 -s wrr',
    '-a -t 198.18.0.100:80 -r 198.18.1.1:8080 -m -w 3',
    '-a -t 198.18.0.100:80 -r 198.18.1.2:8080 -m -w 1',
  ]);
});

test('DR and TUN: the real server port is the service port (ipvs_cmd: non-MASQ drule.port = srule.port)', () => {
  assert.deepEqual(fromScratch(web({ lbKind: 'DR' })).slice(1), [
    '-a -t 198.18.0.100:80 -r 198.18.1.1:80 -g -w 3',
    '-a -t 198.18.0.100:80 -r 198.18.1.2:80 -g -w 1',
  ]);
  assert.deepEqual(fromScratch(web({ lbKind: 'TUN' })).slice(1, 2), ['-a -t 198.18.0.100:80 -r 198.18.1.1:80 -i -w 3']);
});

test('fwmark: -f, -6 for IPv6; DR / TUN destinations without a port (port 0), NAT ones keep theirs', () => {
  const fw = (lbKind: 'NAT' | 'DR' | 'TUN', family: 4 | 6, address: string): IpvsVirtualService =>
    web({ id: 'fwmark:7', service: { kind: 'fwmark', family, fwmark: 7 }, scheduler: 'wlc', lbKind, destinations: [{ address, port: 8080, weight: 2 }] });
  assert.deepEqual(fromScratch(fw('TUN', 6, 'fd00:198:18:0::11')), ['-A -f 7 -6 -s wlc', '-a -f 7 -6 -r [fd00:198:18::11] -i -w 2']);
  assert.deepEqual(fromScratch(fw('DR', 4, '198.18.1.1')), ['-A -f 7 -s wlc', '-a -f 7 -r 198.18.1.1 -g -w 2']);
  assert.deepEqual(fromScratch(fw('NAT', 4, '198.18.1.1')), ['-A -f 7 -s wlc', '-a -f 7 -r 198.18.1.1:8080 -m -w 2']);
  const noPort = web({
    id: 'fwmark:9',
    service: { kind: 'fwmark', family: 4, fwmark: 9 },
    destinations: [{ address: '198.18.1.1', port: undefined, weight: 1 }],
  });
  assert.deepEqual(fromScratch(noPort), ['-A -f 9 -s wrr', '-a -f 9 -r 198.18.1.1 -m -w 1']);
});

test('UDP, SCTP and IPv6 service addresses', () => {
  assert.equal(
    fromScratch(web({ service: { kind: 'address', family: 4, protocol: 'udp', address: '198.18.0.100', port: 53 } }))[0],
    '-A -u 198.18.0.100:53 -s wrr',
  );
  assert.equal(
    fromScratch(web({ service: { kind: 'address', family: 4, protocol: 'sctp', address: '198.18.0.100', port: 3868 } }))[0],
    '-A --sctp-service 198.18.0.100:3868 -s wrr',
  );
  const v6 = web({
    service: { kind: 'address', family: 6, protocol: 'tcp', address: 'fd00:198:18:0:0:0:0:100', port: 443 },
    destinations: [{ address: 'fd00:198:18::11', port: 443, weight: 1 }],
  });
  assert.deepEqual(fromScratch(v6), ['-A -t [fd00:198:18::100]:443 -s wrr', '-a -t [fd00:198:18::100]:443 -r [fd00:198:18::11]:443 -m -w 1']);
});

test('persistence: -p timeout, -M only when a granularity narrower than one host is set (ipvs_set_srule)', () => {
  assert.equal(fromScratch(web({ persistenceTimeoutS: 300 }))[0], '-A -t 198.18.0.100:80 -s wrr -p 300');
  assert.equal(
    fromScratch(web({ persistenceTimeoutS: 300, persistenceGranularity: '255.255.255.0' }))[0],
    '-A -t 198.18.0.100:80 -s wrr -p 300 -M 255.255.255.0',
  );
  assert.equal(fromScratch(web({ persistenceTimeoutS: 300, persistenceGranularity: '/24' }))[0], '-A -t 198.18.0.100:80 -s wrr -p 300 -M 255.255.255.0');
  assert.equal(fromScratch(web({ persistenceTimeoutS: 300, persistenceGranularity: '255.255.255.255' }))[0], '-A -t 198.18.0.100:80 -s wrr -p 300');
  // keepalived sets the netmask only together with the timeout: a granularity alone does nothing.
  assert.equal(fromScratch(web({ persistenceGranularity: '255.255.255.0' }))[0], '-A -t 198.18.0.100:80 -s wrr');
  const v6 = web({
    service: { kind: 'address', family: 6, protocol: 'tcp', address: 'fd00:198:18::100', port: 443 },
    destinations: [],
    persistenceTimeoutS: 60,
    persistenceGranularity: '64',
  });
  assert.equal(fromScratch(v6)[0], '-A -t [fd00:198:18::100]:443 -s wrr -p 60 -M 64');
});

test("every keepalived scheduler, with keepalived's sh / mh flags and ops as ipvsadm's -b and -o", () => {
  for (const s of IPVS_SCHEDULERS) {
    assert.equal(ipvsUnsupported(web({ scheduler: s })), null, s);
    assert.equal(fromScratch(web({ scheduler: s }))[0], `-A -t 198.18.0.100:80 -s ${s}`);
  }
  assert.equal(fromScratch(web({ scheduler: 'sh', ipvsSchedulerFlags: ['sh-port', 'sh-fallback'] }))[0], '-A -t 198.18.0.100:80 -s sh -b sh-fallback,sh-port');
  assert.equal(fromScratch(web({ scheduler: 'mh', ipvsSchedulerFlags: ['mh-port'] }))[0], '-A -t 198.18.0.100:80 -s mh -b mh-port');
  // flag-1 is sh-fallback for sh (IP_VS_SVC_F_SCHED_SH_FALLBACK = IP_VS_SVC_F_SCHED1).
  assert.equal(fromScratch(web({ scheduler: 'sh', ipvsSchedulerFlags: ['flag-1'] }))[0], '-A -t 198.18.0.100:80 -s sh -b sh-fallback');
  assert.equal(fromScratch(web({ scheduler: 'rr', ipvsSchedulerFlags: ['flag-3'], ipvsOnePacket: true }))[0], '-A -t 198.18.0.100:80 -s rr -b flag-3 -o');
});

test('unsupported: named for an operator, nothing rendered for them by the backend', () => {
  assert.match(ipvsUnsupported(web({ scheduler: 'random' }))!, /lb_algo 'random' is not an IPVS scheduler; use one of rr wrr/);
  assert.match(ipvsUnsupported(web({ scheduler: 'rr', ipvsSchedulerFlags: ['sh-port'] }))!, /flag 'sh-port' does not apply to scheduler 'rr'/);
  assert.match(ipvsUnsupported(web({ destinations: [{ address: 'fd00::1', port: 80, weight: 1 }] }))!, /not an IPv4 address \(IPVS needs one family/);
  assert.match(ipvsUnsupported(web({ destinations: [{ address: '198.18.1.1', port: 80, weight: 70000 }] }))!, /weight 70000 must be 0..65535/);
  assert.match(
    ipvsUnsupported(web({ service: { kind: 'address', family: 4, protocol: 'tcp', address: '198.18.0.100', port: 0 } }))!,
    /port 0 .* needs persistence_timeout/,
  );
  assert.equal(
    ipvsUnsupported(web({ service: { kind: 'address', family: 4, protocol: 'tcp', address: '198.18.0.100', port: 0 }, persistenceTimeoutS: 60 })),
    null,
  );
  assert.match(ipvsUnsupported(web({ persistenceTimeoutS: 60, persistenceGranularity: '255.0.255.0' }))!, /not an IPv4 netmask/);
  assert.match(ipvsUnsupported(web({ service: { kind: 'fwmark', family: 4, fwmark: 0 } }))!, /fwmark 0 must be/);
  // DR puts both real servers on port 80: the same IPVS destination twice.
  const twice = web({
    lbKind: 'DR',
    destinations: [
      { address: '198.18.1.1', port: 8080, weight: 1 },
      { address: '198.18.1.1', port: 8081, weight: 1 },
    ],
  });
  assert.match(ipvsUnsupported(twice)!, /real server 198\.18\.1\.1:80 is listed twice/);
  assert.equal(ipvsUnsupported({ ...twice, lbKind: 'NAT' }), null);
});

test('a weight change is one -e: the service and its connections stay', () => {
  const after = web({
    destinations: [
      { address: '198.18.1.1', port: 8080, weight: 5 },
      { address: '198.18.1.2', port: 8080, weight: 1 },
    ],
  });
  const p = plan([web()], [after]);
  assert.deepEqual(lines(p.commands), ['-e -t 198.18.0.100:80 -r 198.18.1.1:8080 -m -w 5']);
  assert.deepEqual(p.diff, { added: [], removed: [], changed: ['198.18.0.100:80/tcp'] });
});

test('inhibit_on_failure (weight 0) is an edit, a removed real server is one -d, and other services are untouched', () => {
  const other = web({ id: '198.18.0.101:80/tcp', service: { kind: 'address', family: 4, protocol: 'tcp', address: '198.18.0.101', port: 80 } });
  const inhibited = web({
    destinations: [
      { address: '198.18.1.1', port: 8080, weight: 0 },
      { address: '198.18.1.2', port: 8080, weight: 1 },
    ],
  });
  assert.deepEqual(lines(plan([web(), other], [inhibited, other]).commands), ['-e -t 198.18.0.100:80 -r 198.18.1.1:8080 -m -w 0']);
  const removed = web({ destinations: [{ address: '198.18.1.2', port: 8080, weight: 1 }] });
  const p = plan([web(), other], [removed, other]);
  assert.deepEqual(lines(p.commands), ['-d -t 198.18.0.100:80 -r 198.18.1.1:8080']);
  assert.deepEqual(p.diff.changed, ['198.18.0.100:80/tcp']);
});

test('scheduler or persistence changes are -E, never -D then -A', () => {
  const p = plan([web()], [web({ scheduler: 'wlc', persistenceTimeoutS: 120, persistenceGranularity: '255.255.0.0' })]);
  assert.deepEqual(lines(p.commands), ['-E -t 198.18.0.100:80 -s wlc -p 120 -M 255.255.0.0']);
  assert.deepEqual(lines(plan([web({ persistenceTimeoutS: 120 })], [web()]).commands), ['-E -t 198.18.0.100:80 -s wrr']);
});

test('order: new services and destinations before edits, removals last, so no service is ever left empty', () => {
  const swapped = web({ destinations: [{ address: '198.18.1.3', port: 8080, weight: 1 }] });
  const added = web({ id: 'fwmark:7', service: { kind: 'fwmark', family: 4, fwmark: 7 }, destinations: [] });
  const gone = web({ id: '198.18.0.102:80/tcp', service: { kind: 'address', family: 4, protocol: 'tcp', address: '198.18.0.102', port: 80 } });
  const p = plan([web(), gone], [swapped, added]);
  assert.deepEqual(lines(p.commands), [
    '-A -f 7 -s wrr',
    '-a -t 198.18.0.100:80 -r 198.18.1.3:8080 -m -w 1',
    '-d -t 198.18.0.100:80 -r 198.18.1.1:8080',
    '-d -t 198.18.0.100:80 -r 198.18.1.2:8080',
    '-D -t 198.18.0.102:80',
  ]);
  assert.deepEqual(p.diff, { added: ['fwmark:7'], removed: ['198.18.0.102:80/tcp'], changed: ['198.18.0.100:80/tcp'] });
});

test('the same state twice plans nothing; a service not owned is left in place', () => {
  assert.deepEqual(plan([web()], [web()]).commands, []);
  const foreign = installed(web({ service: { kind: 'address', family: 4, protocol: 'udp', address: '198.18.0.9', port: 53 } }));
  const p = planIpvsState(foreign, { services: [] }, (s) => serviceId(s.service), { owns: () => false });
  assert.deepEqual(p.commands, []);
});

test('lb_kind change re-targets the destinations by edit or re-add (NAT 8080 -> DR on the service port)', () => {
  const p = plan([web()], [web({ lbKind: 'DR' })]);
  assert.deepEqual(lines(p.commands), [
    '-a -t 198.18.0.100:80 -r 198.18.1.1:80 -g -w 3',
    '-a -t 198.18.0.100:80 -r 198.18.1.2:80 -g -w 1',
    '-d -t 198.18.0.100:80 -r 198.18.1.1:8080',
    '-d -t 198.18.0.100:80 -r 198.18.1.2:8080',
  ]);
  const samePort = (k: 'NAT' | 'TUN') => web({ lbKind: k, destinations: [{ address: '198.18.1.1', port: 80, weight: 1 }] });
  assert.deepEqual(lines(plan([samePort('NAT')], [samePort('TUN')]).commands), ['-e -t 198.18.0.100:80 -r 198.18.1.1:80 -i -w 1']);
});

test('ipvsadm-restore script: one command per line, optionally from a cleared table', () => {
  const state: LbState = { services: [web()] };
  assert.equal(
    renderIpvsRestore(state, true),
    ['-C', '-A -t 198.18.0.100:80 -s wrr', '-a -t 198.18.0.100:80 -r 198.18.1.1:8080 -m -w 3', '-a -t 198.18.0.100:80 -r 198.18.1.2:8080 -m -w 1', ''].join(
      '\n',
    ),
  );
  assert.equal(restoreScript([]), '');
});
