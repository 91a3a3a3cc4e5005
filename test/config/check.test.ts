/**
 * Semantic checks on validated models: the findings keepalived itself makes
 * once a file parses, plus interface-address checks when addresses are known.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkModel } from '../../config/check.js';
import { defineConfig } from '../../config/define.js';
import { loadKeepalivedText } from '../../config/keepalived/index.js';
import type { VrrpInstance } from '../../config/model.js';

type InstanceInput = Partial<Omit<VrrpInstance, 'virtualIpaddress'>> & { virtualIpaddress?: { address: string; prefix?: number }[] };

function model(...instances: InstanceInput[]) {
  return defineConfig({
    vrrpInstances: instances.map((i, k) => ({
      name: `VI_${k}`,
      interface: 'eth0',
      virtualRouterId: 10 + k,
      virtualIpaddress: [{ address: '198.18.0.10', prefix: 24 }],
      ...i,
    })),
  });
}

const messages = (m: ReturnType<typeof model>, addrs?: Record<string, string[]>) =>
  checkModel(m, addrs ? { interfaceAddresses: addrs } : {}).map((d) => `${d.severity}: ${d.message}`);

test('a plain instance has no finding', () => {
  assert.deepEqual(messages(model({})), []);
});

test('VIP outside the interface subnets is a warning when addresses are known', () => {
  const m = model({ virtualIpaddress: [{ address: '198.19.5.5', prefix: 24 }] });
  assert.deepEqual(messages(m), []);
  const w = messages(m, { eth0: ['198.18.0.2/24'] });
  assert.ok(
    w.some((x) => x.startsWith('warning: virtual_ipaddress 198.19.5.5 is outside every subnet of eth0')),
    w.join('\n'),
  );
  assert.ok(!messages(model({}), { eth0: ['198.18.0.2/24'] }).some((x) => x.includes('outside')));
});

test('priority 255 without owning the VIPs is a warning (as keepalived)', () => {
  const m = model({ priority: 255 });
  assert.ok(messages(m, { eth0: ['198.18.0.2/24'] }).some((x) => x.startsWith('warning: priority 255 means address owner')));
  assert.ok(!messages(m, { eth0: ['198.18.0.10/24'] }).some((x) => x.includes('priority 255')));
});

test('duplicate VRID: same interface and family only, unless keepalived allows sharing', () => {
  const dup = messages(model({ virtualRouterId: 7 }, { virtualRouterId: 7 }));
  assert.ok(dup.some((x) => x.includes('virtual_router_id 7 on eth0 (IPv4) is already used by vrrp_instance VI_0')));
  assert.deepEqual(messages(model({ virtualRouterId: 7 }, { virtualRouterId: 7, interface: 'eth1' })), []);
  assert.deepEqual(messages(model({ virtualRouterId: 7 }, { virtualRouterId: 7, virtualIpaddress: [{ address: 'fd00:198:18::1', prefix: 64 }] })), []);
  assert.deepEqual(messages(model({ virtualRouterId: 7 }, { virtualRouterId: 7, mcastDstIp: '224.0.0.19' })), []);
  const uni = (peer: string): InstanceInput => ({ virtualRouterId: 7, unicastPeers: [{ address: peer }] });
  assert.deepEqual(messages(model(uni('198.18.0.3'), uni('198.18.0.4'))), []);
  assert.equal(messages(model(uni('198.18.0.3'), uni('198.18.0.3'))).length, 1);
});

test('advert_int ranges follow the version', () => {
  assert.deepEqual(messages(model({ advertInt: 0.05, version: 3 })), []);
  assert.deepEqual(messages(model({ advertInt: 40.95, version: 3 })), []);
  assert.equal(messages(model({ advertInt: 0.005, version: 3 })).length, 1);
  assert.equal(messages(model({ advertInt: 1.5 })).length, 1);
  assert.deepEqual(messages(model({ advertInt: 255 })), []);
});

test('IPv6 instances run version 3; authentication with v3 is dropped with a warning, as keepalived does', () => {
  const m = model({ virtualIpaddress: [{ address: 'fd00:198:18::1', prefix: 64 }] });
  assert.equal(m.vrrpInstances[0]!.version, 3);
  assert.equal(m.vrrpInstances[0]!.family, 6);
  const withAuth = model({ version: 3, authentication: { type: 'PASS', password: 'x' } });
  assert.equal(withAuth.vrrpInstances[0]!.authentication, undefined);
  const a = messages(withAuth);
  assert.ok(
    a.some((x) => x.startsWith("warning: vrrp_instance VI_0: 'authentication': VRRP version 3 has no authentication")),
    a.join('\n'),
  );
});

test('references: track scripts and sync group members must exist', () => {
  const m = defineConfig({
    vrrpScripts: [{ name: 'chk_a', script: { command: '/bin/true' } }],
    vrrpInstances: [{ name: 'A', interface: 'eth0', virtualRouterId: 1, virtualIpaddress: [{ address: '198.18.0.1' }], trackScripts: [{ name: 'chk_b' }] }],
    vrrpSyncGroups: [{ name: 'G', group: ['A', 'B'] }],
  });
  const d = checkModel(m, { file: 'x.ts' });
  assert.deepEqual(
    d.map((x) => [x.severity, x.message, x.hint]),
    [
      ['error', "track_script 'chk_b' is not defined by any vrrp_script block", "did you mean 'chk_a'?"],
      ['error', "vrrp_sync_group G names undefined vrrp_instance 'B'", undefined],
    ],
  );
  assert.ok(d.every((x) => x.file === 'x.ts' && x.line === 0));
});

test('nopreempt with state MASTER is a warning; unicast peer equal to the source an error', () => {
  assert.deepEqual(messages(model({ state: 'MASTER', preempt: false })), ['warning: nopreempt has no effect with initial state MASTER (vrrp_instance VI_0)']);
  assert.deepEqual(messages(model({ unicastSrcIp: '198.18.0.2', unicastPeers: [{ address: '198.18.0.2' }] })), [
    "error: unicast_peer 198.18.0.2 is this instance's own unicast_src_ip",
  ]);
});

test('the loader passes interface addresses to the checks and positions findings', () => {
  const r = loadKeepalivedText('vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  198.19.0.1/24\n }\n}\n', 'x.conf', {
    interfaceAddresses: { eth0: ['198.18.0.2/24'] },
  });
  const w = r.diagnostics.find((d) => d.message.includes('outside every subnet'));
  assert.ok(w);
  assert.deepEqual([w.file, w.line, w.column], ['x.conf', 5, 3]);
  assert.ok(r.model, 'warnings do not withhold the model');
});

test('keepalived derives state and priority from each other, and applies strict mode', () => {
  const derived = defineConfig({
    vrrpInstances: [
      { name: 'M', interface: 'eth0', virtualRouterId: 1, state: 'MASTER', virtualIpaddress: [{ address: '198.18.0.1' }] },
      { name: 'O', interface: 'eth0', virtualRouterId: 2, priority: 255, virtualIpaddress: [{ address: '198.18.0.2' }] },
      { name: 'B', interface: 'eth0', virtualRouterId: 3, virtualIpaddress: [{ address: '198.18.0.3' }] },
    ],
  });
  assert.deepEqual(
    derived.vrrpInstances.map((i) => [i.state, i.priority, i.accept]),
    [
      ['MASTER', 255, true],
      ['MASTER', 255, true],
      ['BACKUP', 100, true],
    ],
  );
  const strict = defineConfig({
    global: { vrrpStrict: true },
    vrrpInstances: [
      {
        name: 'S',
        interface: 'eth0',
        virtualRouterId: 1,
        priority: 100,
        state: 'MASTER',
        preemptDelay: 5,
        authentication: { type: 'PASS', password: 'x' },
        unicastPeers: [{ address: '198.18.0.9' }],
        virtualIpaddress: [{ address: '198.18.0.1' }],
      },
    ],
  });
  const s = strict.vrrpInstances[0]!;
  assert.deepEqual([s.state, s.preemptDelay, s.authentication, s.accept], ['BACKUP', 0, undefined, false]);
  assert.deepEqual(s.corrections.map((c) => c.field).sort(), ['authentication', 'preemptDelay', 'state']);
  const d = messages(strict);
  assert.equal(d.filter((x) => x.startsWith('warning:')).length, 3);
  assert.deepEqual(
    d.filter((x) => x.startsWith('error:')),
    ['error: vrrp_instance S: unicast peers are not supported in strict mode (keepalived disables the instance)'],
  );
  assert.deepEqual(defineConfig(strict), strict, 'corrections are idempotent');
});

test("checkers: payload and require_reply take all their words; keepalived's DNS, UDP and FILE_CHECK complaints are warnings", () => {
  const text = `track_file load {
  file /run/load
}
virtual_server 198.18.0.10 53 {
  protocol UDP
  real_server 198.18.0.21 53 {
    DNS_CHECK {
      type PTR
      name a..b
    }
    UDP_CHECK {
      payload ab 12 f
      require_reply ab 1x
      min_reply_length 9
      max_reply_length 4
    }
    UDP_CHECK {
      payload zz
    }
    FILE_CHECK {
      track_file laod
    }
  }
}
`;
  const r = loadKeepalivedText(text, 'x.conf');
  assert.ok(r.model, JSON.stringify(r.diagnostics));
  const udp = r.model.virtualServers[0]!.realServers[0]!.checkers[1]!;
  assert.ok(udp.type === 'UDP_CHECK');
  assert.deepEqual([udp.payload, udp.requireReply], ['ab 12 f', 'ab 1x']);
  assert.deepEqual(
    r.diagnostics.map((d) => `${d.severity} ${d.line}: ${d.message}${d.hint ? ` (${d.hint})` : ''}`),
    [
      'warning 8: Unknown DNS check type PTR - ignoring (SOA is used)',
      "warning 9: DNS_CHECK name 'a..b' has empty label - ignoring (the root is queried)",
      'warning 14: UDP_CHECK min_reply length 9 > max_reply_length 4 - will always fail',
      'warning 18: Invalid hex string for UDP_CHECK payload (keepalived sends its own filler)',
      "warning 21: track_file laod not found - FILE_CHECK ignored (did you mean 'load'?)",
    ],
  );
});

test('virtual servers: two blocks for one service and a real server on the VIP are errors with their lines', () => {
  const text = `virtual_server 198.18.3.100 80 {
  protocol TCP
  real_server 198.18.2.3 80 {
  }
}
virtual_server fd00:198:18:3::100 80 {
  protocol TCP
  real_server fd00:198:18:3:0::100 80 {
  }
  real_server fd00:198:18:3::100 8080 {
  }
}
virtual_server 198.18.3.100 80 {
  protocol TCP
  real_server 198.18.2.4 80 {
  }
}
virtual_server 198.18.3.100 80 {
  protocol UDP
  real_server 198.18.2.4 80 {
  }
}
virtual_server fd00:198:18:3:0:0:0:100 80 {
  protocol TCP
  real_server fd00:198:18:2::3 80 {
  }
}
virtual_server fwmark 7 {
  real_server 198.18.2.3 80 {
  }
}
virtual_server fwmark 7 {
  real_server 198.18.2.4 80 {
  }
}
virtual_server fwmark 7 {
  real_server fd00:198:18:2::3 80 {
  }
}
`;
  const r = loadKeepalivedText(text, 'x.conf');
  assert.equal(r.model, undefined);
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.file}:${d.line}: ${d.message}`),
    [
      'x.conf:8: real_server fd00:198:18:3:0::100 80 of virtual_server fd00:198:18:3::100 80 is the virtual server itself: its traffic would come back to the service',
      // the same address on another port (x.conf:8) is a local real server, not an error
      'x.conf:13: virtual_server 198.18.3.100 80 TCP is already defined at x.conf:1: one service cannot have two virtual_server blocks',
      'x.conf:23: virtual_server fd00:198:18:3:0:0:0:100 80 TCP is already defined at x.conf:6: one service cannot have two virtual_server blocks',
      // the UDP service on the same address and port, and fwmark 7 for IPv6, are services of their own
      'x.conf:32: virtual_server fwmark 7 inet is already defined at x.conf:28: one service cannot have two virtual_server blocks',
    ],
  );
});
