// Pure: the metrics rendered from a status document, through prom-client's
// real exposition format. Each exporter-compatible name and label set is
// asserted one by one against what mehdy/keepalived-exporter and
// gen2brain/keepalived_exporter publish.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyDropCounters } from '../../actors/vrrp/receive.js';
import type { DaemonStatus } from '../../daemon/daemon.js';
import { METRIC_FAMILIES, StatusMetrics, TransitionTally, metricSamples } from '../../daemon/metrics.js';
import { transitionRecord } from './fixtures.js';

type Instance = DaemonStatus['instances'][number];

const instance = (over: Partial<Instance> = {}): Instance => ({
  name: 'VI_1',
  vrid: 51,
  family: 4,
  version: 2,
  interface: 'eth0',
  mode: 'multicast',
  source: '198.18.0.1',
  state: 'master',
  basePriority: 150,
  effectivePriority: 140,
  advertIntervalCs: 100,
  masterAdvertIntervalCs: 100,
  lastMaster: '198.18.0.1',
  lastMasterPriority: 140,
  masterDownInMs: null,
  peerChecksumVariant: null,
  counters: {
    advertsSent: 11,
    advertsReceived: 12,
    advertsDiscarded: 0,
    priorityZeroSent: 13,
    priorityZeroReceived: 14,
    lowerPriorityDiscarded: 0,
    intervalMismatches: 15,
    transitions: 3,
    becameMaster: 2,
    releasedMaster: 1,
    sendErrors: 4,
  },
  drops: { ...emptyDropCounters(), malformed: 21, 'bad-ttl': 22, 'address-list-mismatch': 23, 'auth-mismatch': 24 },
  announcements: { framesSent: 5, sendErrors: 0, sinceMaster: 5 },
  vips: ['198.18.0.100/24 dev eth0', '198.18.1.7/32 dev eth1'],
  ...over,
});

const status = (over: Partial<DaemonStatus> = {}): DaemonStatus => ({
  pid: 1,
  configPath: '/etc/keepalived/keepalived.conf',
  startedAt: new Date(0).toISOString(),
  uptimeMs: 5000,
  instances: [instance(), instance({ name: 'VI_6', vrid: 52, family: 6, state: 'backup', interface: 'eth2', vips: [] })],
  groups: [],
  wire: { sockets: 2, received: 100, malformed: 3, unknownVrid: 4 },
  eventLoop: { delayP50Ms: 1, delayP99Ms: 20, delayMaxMs: 30, lateTimers: 6, worstLateMs: 12.5 },
  recentTransitions: [],
  reloads: { ok: 2, refused: 1 },
  events: {
    bus: 'nats',
    cluster: 'c',
    node: 'n',
    published: 40,
    delivered: 0,
    outbox: { inMemory: 3, spilled: 2, delivered: 35, corrupt: 1, failures: 7 },
    splitBrain: { policy: 'page', fenced: [], detected: 1 },
    recent: [],
  },
  notify: { pending: 0, fifos: [] },
  trackScripts: [
    { name: 'chk_up', health: 'up', checks: 10, failures: 1, timeouts: 1, skipped: 0, lastExit: 0 },
    { name: 'chk_down', health: 'down', checks: 3, failures: 3, timeouts: 0, skipped: 0, lastExit: 1 },
    { name: 'chk_new', health: 'unknown', checks: 0, failures: 0, timeouts: 0, skipped: 0, lastExit: null },
  ],
  trackFiles: [],
  trackProcesses: [],
  checks: {
    virtualServers: [
      {
        id: '198.18.0.100:80/tcp',
        quorumUp: true,
        liveWeight: 1,
        sorryActive: false,
        suspended: false,
        realServers: [
          {
            id: '198.18.2.10:8080',
            alive: true,
            weight: 3,
            checkers: [{ id: 'TCP_CHECK:8080', type: 'TCP_CHECK', state: 'up', probes: 9, lastFailure: undefined }],
          },
        ],
      },
    ],
    issues: [],
  },
  lb: {
    backend: 'ipvs',
    services: 1,
    destinations: 1,
    applies: { ok: 3, failed: 1 },
    last: { ok: true, time: new Date(0).toISOString(), ms: 8, added: 1, removed: 0, changed: 0 },
    refused: [],
    table: [],
    counters: [
      {
        id: '198.18.0.100:80/tcp',
        packets: 70,
        bytes: 7000,
        connections: 7,
        destinations: [{ address: '198.18.2.10', port: 8080, packets: 60, bytes: 6000, connections: 6 }],
      },
    ],
  },
  ...over,
});

/** The exposition text as name{labels} → value, and name → TYPE. */
function parse(text: string): { values: Map<string, number>; types: Map<string, string> } {
  const values = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1]!, t[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    values.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return { values, types };
}

const render = async (s: DaemonStatus, tally = new TransitionTally()) => parse(await new StatusMetrics().render(metricSamples(s, tally)));

describe('metrics from the status', () => {
  test("mehdy/keepalived-exporter's state gauge: one series per VIP, keepalived's numbers, the address as keepalived writes it", async () => {
    const { values, types } = await render(status());
    assert.equal(types.get('keepalived_vrrp_state'), 'gauge');
    assert.equal(values.get('keepalived_vrrp_state{iname="VI_1",intf="eth0",vrid="51",ip_address="198.18.0.100/24"}'), 2);
    // A host address has no /32, and the VIP's own device is the intf.
    assert.equal(values.get('keepalived_vrrp_state{iname="VI_1",intf="eth1",vrid="51",ip_address="198.18.1.7"}'), 2);
    // No VIP: one series with an empty address, as the exporter does.
    assert.equal(values.get('keepalived_vrrp_state{iname="VI_6",intf="eth2",vrid="52",ip_address=""}'), 1);
    for (const [state, n] of [
      ['initialize', 0],
      ['backup', 1],
      ['master', 2],
      ['fault', 3],
    ] as const) {
      const { values: v } = await render(status({ instances: [instance({ state, vips: [] })] }));
      assert.equal(v.get('keepalived_vrrp_state{iname="VI_1",intf="eth0",vrid="51",ip_address=""}'), n, state);
    }
    assert.equal(values.get('keepalived_up'), 1);
  });

  test("mehdy/keepalived-exporter's counters, labelled iname, intf, vrid", async () => {
    const { values, types } = await render(status());
    const l = '{iname="VI_1",intf="eth0",vrid="51"}';
    const expected: [string, number][] = [
      ['keepalived_advertisements_received_total', 12],
      ['keepalived_advertisements_sent_total', 11],
      ['keepalived_become_master_total', 2],
      ['keepalived_release_master_total', 1],
      ['keepalived_packet_length_errors_total', 21],
      ['keepalived_advertisements_interval_errors_total', 15],
      ['keepalived_ip_ttl_errors_total', 22],
      ['keepalived_invalid_type_received_total', 0],
      ['keepalived_address_list_errors_total', 23],
      ['keepalived_authentication_invalid_total', 0],
      ['keepalived_authentication_mismatch_total', 24],
      ['keepalived_authentication_failure_total', 0],
      ['keepalived_priority_zero_received_total', 14],
      ['keepalived_priority_zero_sent_total', 13],
    ];
    for (const [name, v] of expected) {
      assert.equal(values.get(name + l), v, name);
      assert.equal(types.get(name), 'counter', name);
    }
  });

  test("mehdy/keepalived-exporter's script status: 1 GOOD, 0 BAD, nothing while unknown", async () => {
    const { values } = await render(status());
    assert.equal(values.get('keepalived_script_status{name="chk_up"}'), 1);
    assert.equal(values.get('keepalived_script_status{name="chk_down"}'), 0);
    assert.equal(values.get('keepalived_script_status{name="chk_new"}'), undefined);
  });

  test("gen2brain/keepalived_exporter's counters, labelled name, intf, vrid and the state's name", async () => {
    const { values, types } = await render(status());
    const l = '{name="VI_1",intf="eth0",vrid="51",state="MASTER"}';
    const expected: [string, number][] = [
      ['keepalived_vrrp_advert_rcvd', 12],
      ['keepalived_vrrp_advert_sent', 11],
      ['keepalived_vrrp_become_master', 2],
      ['keepalived_vrrp_release_master', 1],
      ['keepalived_vrrp_packet_len_err', 21],
      ['keepalived_vrrp_advert_interval_err', 15],
      ['keepalived_vrrp_ip_ttl_err', 22],
      ['keepalived_vrrp_invalid_type_rcvd', 0],
      ['keepalived_vrrp_addr_list_err', 23],
      ['keepalived_vrrp_invalid_authtype', 0],
      ['keepalived_vrrp_authtype_mismatch', 24],
      ['keepalived_vrrp_auth_failure', 0],
      ['keepalived_vrrp_pri_zero_rcvd', 14],
      ['keepalived_vrrp_pri_zero_sent', 13],
    ];
    for (const [name, v] of expected) {
      assert.equal(values.get(name + l), v, name);
      assert.equal(types.get(name), 'counter', name);
    }
    assert.equal(values.get('keepalived_vrrp_advert_rcvd{name="VI_6",intf="eth2",vrid="52",state="BACKUP"}'), 12);
  });

  test("gen2brain/keepalived_exporter's LVS counters: addr:port and the IP protocol number", async () => {
    const { values } = await render(status());
    assert.equal(values.get('keepalived_lvs_vip_in_packets{addr="198.18.0.100:80",proto="6"}'), 70);
    assert.equal(values.get('keepalived_lvs_vip_in_bytes{addr="198.18.0.100:80",proto="6"}'), 7000);
    assert.equal(values.get('keepalived_lvs_vip_conn{addr="198.18.0.100:80",proto="6"}'), 7);
    assert.equal(values.get('keepalived_lvs_rs_in_packets{vip="198.18.0.100:80",addr="198.18.2.10:8080",proto="6"}'), 60);
    assert.equal(values.get('keepalived_lvs_rs_in_bytes{vip="198.18.0.100:80",addr="198.18.2.10:8080",proto="6"}'), 6000);
    assert.equal(values.get('keepalived_lvs_rs_conn{vip="198.18.0.100:80",addr="198.18.2.10:8080",proto="6"}'), 6);
  });

  test("vipflow's own: transitions by reason, drops, timers, events, checkers, load balancer", async () => {
    const tally = new TransitionTally();
    tally.add(transitionRecord({ instance: 'VI_1', from: 'backup', to: 'master', reason: 'master-down-timer' }));
    tally.add(transitionRecord({ instance: 'VI_1', from: 'backup', to: 'master', reason: 'master-down-timer' }));
    tally.add(transitionRecord({ instance: 'VI_1', from: 'master', to: 'backup', reason: 'higher-priority-advert' }));
    const { values } = await render(status(), tally);
    const expected: [string, number][] = [
      ['vipflow_transitions_total{instance="VI_1",from="backup",to="master",reason="master-down-timer"}', 2],
      ['vipflow_transitions_total{instance="VI_1",from="master",to="backup",reason="higher-priority-advert"}', 1],
      ['vipflow_instance_state{instance="VI_1",vrid="51",interface="eth0",family="ipv4",state="master"}', 1],
      ['vipflow_instance_state{instance="VI_1",vrid="51",interface="eth0",family="ipv4",state="backup"}', 0],
      ['vipflow_instance_state{instance="VI_6",vrid="52",interface="eth2",family="ipv6",state="backup"}', 1],
      ['vipflow_instance_priority{instance="VI_1",vrid="51",interface="eth0",family="ipv4",kind="effective"}', 140],
      ['vipflow_instance_priority{instance="VI_1",vrid="51",interface="eth0",family="ipv4",kind="base"}', 150],
      ['vipflow_drops_total{instance="VI_1",reason="bad-ttl"}', 22],
      ['vipflow_drops_total{instance="VI_1",reason="own-packet"}', 0],
      ['vipflow_send_errors_total{instance="VI_1"}', 4],
      ['vipflow_late_timers_total', 6],
      ['vipflow_late_timer_worst_seconds', 0.0125],
      ['vipflow_event_loop_delay_seconds{quantile="0.99"}', 0.02],
      ['vipflow_event_loop_delay_seconds{quantile="1"}', 0.03],
      ['vipflow_events_published_total', 40],
      ['vipflow_events_delivered_total', 35],
      ['vipflow_events_failed_total', 7],
      ['vipflow_outbox_depth{where="memory"}', 3],
      ['vipflow_outbox_depth{where="spill"}', 2],
      ['vipflow_split_brain_detected_total', 1],
      ['vipflow_reloads_total{result="refused"}', 1],
      ['vipflow_track_script_runs_total{name="chk_up",result="ok"}', 8],
      ['vipflow_virtual_server_quorum_up{virtual_server="198.18.0.100:80/tcp"}', 1],
      ['vipflow_real_server_up{virtual_server="198.18.0.100:80/tcp",real_server="198.18.2.10:8080"}', 1],
      ['vipflow_real_server_weight{virtual_server="198.18.0.100:80/tcp",real_server="198.18.2.10:8080"}', 3],
      ['vipflow_checker_up{virtual_server="198.18.0.100:80/tcp",real_server="198.18.2.10:8080",checker="TCP_CHECK:8080",type="TCP_CHECK"}', 1],
      ['vipflow_lb_applies_total{backend="ipvs",result="ok"}', 3],
      ['vipflow_lb_applies_total{backend="ipvs",result="failed"}', 1],
      ['vipflow_lb_last_apply_seconds{backend="ipvs"}', 0.008],
      ['vipflow_lb_service_packets_total{service="198.18.0.100:80/tcp"}', 70],
      ['vipflow_wire_unknown_vrid_total', 4],
    ];
    for (const [key, v] of expected) assert.equal(values.get(key), v, key);
  });

  test('a removed instance leaves no series behind at the next scrape', async () => {
    const metrics = new StatusMetrics();
    const first = parse(await metrics.render(metricSamples(status(), new TransitionTally())));
    assert.ok([...first.values.keys()].some((k) => k.includes('iname="VI_6"')));
    const second = parse(await metrics.render(metricSamples(status({ instances: [instance()] }), new TransitionTally())));
    assert.ok(![...second.values.keys()].some((k) => k.includes('VI_6')));
    assert.equal(second.values.get('keepalived_become_master_total{iname="VI_1",intf="eth0",vrid="51"}'), 2, 'counters are not added up across scrapes');
  });

  test('every family name is valid and unique, and the sample names are all declared', () => {
    const names = METRIC_FAMILIES.map((f) => f.name);
    assert.equal(new Set(names).size, names.length);
    for (const n of names) assert.match(n, /^(keepalived|vipflow)_[a-z0-9_]+$/);
    for (const s of metricSamples(status(), new TransitionTally())) assert.ok(names.includes(s.name), s.name);
  });
});
