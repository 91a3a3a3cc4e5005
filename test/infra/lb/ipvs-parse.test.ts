/**
 * Reading ipvsadm's listings back. The texts (ipvsadm-output.ts) are written by hand
 * from ipvsadm 1.31's format strings, not captured: this kernel has no IPVS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpvsList, parseIpvsRates, parseIpvsStats, parseLargeNumber } from '../../../infra/lb/ipvs-parse.js';
import { planIpvsState } from '../../../infra/lb/ipvs-render.js';
import { serviceId, toLbState, type IpvsVirtualService } from '../../../infra/lb/ipvs-service.js';
import { LIST_N, RATE_EXACT, STATS_EXACT, STATS_SHORT } from './ipvsadm-output.js';

function list() {
  const r = parseIpvsList(LIST_N);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.value;
}

test('ipvsadm -Ln: services, options and destinations in the kernel terms', () => {
  const s = list();
  assert.equal(s.length, 6);
  assert.deepEqual(s[0], {
    key: 'tcp:198.18.0.100:80',
    service: { kind: 'address', family: 4, protocol: 'tcp', address: '198.18.0.100', port: 80 },
    scheduler: 'wrr',
    schedFlags: 0,
    onePacket: false,
    persistence: { timeoutS: 300, netmask: '255.255.255.0' },
    dests: [
      { address: '198.18.1.1', port: 8080, weight: 3, forward: 'NAT' },
      { address: '198.18.1.2', port: 8080, weight: 0, forward: 'NAT' },
    ],
  });
  assert.equal(s[1]!.schedFlags, 3);
  assert.equal(s[1]!.dests[0]!.forward, 'DR');
  assert.equal(s[2]!.service.kind === 'address' && s[2]!.service.protocol, 'sctp');
  assert.equal(s[2]!.onePacket, true);
  assert.equal(s[2]!.dests[0]!.forward, 'TUN');
  assert.deepEqual(s[3]!.persistence, { timeoutS: 60, netmask: '64' });
  assert.equal(s[3]!.schedFlags, 2);
  assert.deepEqual(s[4]!.service, { kind: 'fwmark', family: 4, fwmark: 7 });
  assert.deepEqual(s[5]!.service, { kind: 'fwmark', family: 6, fwmark: 8 });
  assert.deepEqual(s[5]!.dests[0], { address: 'fd00:198:18::12', port: 0, weight: 1, forward: 'TUN' });
});

test('round trip: the listing as LbState plans no command against itself, and renders back to the listed options', () => {
  const kernel = list();
  const state = toLbState(kernel);
  assert.deepEqual(
    state.services.map((s) => s.id),
    ['198.18.0.100:80/tcp', '198.18.0.100:53/udp', '198.18.0.100:3868/sctp', '[fd00:198:18::100]:443/tcp', 'fwmark:7/v4', 'fwmark:8/v6'],
  );
  const web = state.services[0] as IpvsVirtualService;
  assert.equal(web.persistenceGranularity, '255.255.255.0');
  assert.deepEqual((state.services[1] as IpvsVirtualService).ipvsSchedulerFlags, ['sh-fallback', 'sh-port']);
  assert.equal(state.services[4]!.destinations[0]!.port, undefined);
  const p = planIpvsState(kernel, state, (s) => serviceId(s.service));
  assert.deepEqual(p.commands, []);
  assert.deepEqual(p.diff, { added: [], removed: [], changed: [] });
  const fresh = planIpvsState([], state, () => '').commands.map((c) => c.join(' '));
  assert.ok(fresh.includes('-A -u 198.18.0.100:53 -s sh -b sh-fallback,sh-port'));
  assert.ok(fresh.includes('-A -t [fd00:198:18::100]:443 -s mh -b mh-port -p 60 -M 64'));
  assert.ok(fresh.includes('-A --sctp-service 198.18.0.100:3868 -s rr -o'));
  assert.ok(fresh.includes('-a -f 8 -6 -r [fd00:198:18::12] -i -w 1'));
});

test('an empty table, and errors naming the line', () => {
  const empty = parseIpvsList(
    'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n',
  );
  assert.deepEqual(empty, { ok: true, value: [] });
  assert.deepEqual(parseIpvsList('  -> 198.18.1.1:80 Masq 1 0 0'), { ok: false, error: 'line 1: destination before any service' });
  const bad = parseIpvsList('TCP  198.18.0.100:80 rr\n  -> 198.18.1.1:80 Bridge 1 0 0');
  assert.ok(!bad.ok && /line 2: expected forward/.test(bad.error));
  const v6inv4 = parseIpvsList('TCP  198.18.0.100:80 rr\n  -> [fd00::1]:80 Masq 1 0 0');
  assert.ok(!v6inv4.ok && /not an IPv4 address:port/.test(v6inv4.error));
  const junk = parseIpvsList("Can't initialize ipvs: Protocol not available");
  assert.ok(!junk.ok);
});

test('--stats --exact: packets and bytes of both directions, scheduled connections, fwmark port 0 as undefined', () => {
  const r = parseIpvsStats(STATS_EXACT);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.deepEqual(r.value[0], {
    id: '198.18.0.100:80/tcp',
    connections: 12,
    packets: 640,
    bytes: 22000 + 1234567890,
    destinations: [
      { address: '198.18.1.1', port: 8080, connections: 7, packets: 380, bytes: 13000 + 734567890 },
      { address: '198.18.1.2', port: 8080, connections: 5, packets: 260, bytes: 9000 + 500000000 },
    ],
  });
  assert.deepEqual(r.value[1], {
    id: 'fwmark:8/v6',
    connections: 1,
    packets: 2,
    bytes: 120,
    destinations: [{ address: 'fd00:198:18::12', port: undefined, connections: 1, packets: 2, bytes: 120 }],
  });
});

test('--stats without --exact: shortened numbers read as their lower bound', () => {
  assert.equal(parseLargeNumber('1234M'), 1234e6);
  assert.equal(parseLargeNumber('734567K'), 734567e3);
  assert.equal(parseLargeNumber('12x'), null);
  const r = parseIpvsStats(STATS_SHORT);
  assert.ok(r.ok);
  assert.equal(r.value[0]!.bytes, 22000 + 1234e6);
});

test('--rate --exact: per second figures', () => {
  const r = parseIpvsRates(RATE_EXACT);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.deepEqual(r.value[0], {
    id: '198.18.0.100:80/tcp',
    connectionsPerS: 3,
    inPacketsPerS: 40,
    outPacketsPerS: 35,
    inBytesPerS: 5200,
    outBytesPerS: 48000,
    destinations: [{ address: '198.18.1.1', port: 8080, connectionsPerS: 2, inPacketsPerS: 25, outPacketsPerS: 20, inBytesPerS: 3100, outBytesPerS: 30000 }],
  });
});
