// Pure: the metrics rendered from a status document, through prom-client's
// real exposition format. Each exporter-compatible name and label set is
// asserted one by one against what mehdy/keepalived-exporter and
// gen2brain/keepalived_exporter publish.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonStatus } from '../../daemon/daemon.js';
import { METRIC_FAMILIES, StatusMetrics, TransitionTally, metricSamples } from '../../daemon/metrics.js';
import { Counter, Gauge, Registry } from 'prom-client';
import { TimingMetrics } from '../../daemon/timing-metrics.js';
import { transitionRecord } from './fixtures.js';
import { instance, status } from './status-fixture.js';

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
      ['vipflow_takeover_scavenges_total', 2],
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
      ['vipflow_wire_absorbed_total', 60],
      ['vipflow_wire_receive_holds_total', 7],
      ['vipflow_wire_receive_drains_total', 2],
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

  test('renderStatus (what a scrape uses, with its label cache) writes what render writes, also after instances change', async () => {
    const metrics = new StatusMetrics();
    const tally = new TransitionTally();
    tally.add(transitionRecord());
    const many = (state: 'master' | 'backup', vips: string[]) =>
      status({ instances: Array.from({ length: 250 }, (_, k) => instance({ name: `VI_${k}`, state, vips: k % 2 ? vips : [] })) });
    for (const s of [many('master', []), many('master', []), many('backup', ['198.18.0.9/32 dev eth3']), status()])
      assert.equal(await metrics.renderStatus(s, tally), await new StatusMetrics().render(metricSamples(s, tally)));
  });

  test('concurrent scrapes each get a whole document', async () => {
    const metrics = new StatusMetrics();
    const [a, b] = await Promise.all([
      metrics.render(metricSamples(status(), new TransitionTally())),
      metrics.render(metricSamples(status({ instances: [instance()] }), new TransitionTally())),
    ]);
    assert.ok(parse(a).values.has('keepalived_become_master_total{iname="VI_6",intf="eth2",vrid="52"}'));
    assert.ok(!parse(b).values.has('keepalived_become_master_total{iname="VI_6",intf="eth2",vrid="52"}'));
    assert.equal(parse(b).values.get('keepalived_become_master_total{iname="VI_1",intf="eth0",vrid="51"}'), 2);
  });
});

test("the text is byte for byte what prom-client's Registry writes for the same samples", async () => {
  const s = status({ instances: [instance({ name: 'odd "name"\\with\nescapes' }), instance({ name: 'VI_6', vrid: 52, vips: [] })] });
  const tally = new TransitionTally();
  tally.add(transitionRecord());
  const samples = metricSamples(s, tally);
  const registry = new Registry();
  for (const f of METRIC_FAMILIES) {
    const config = { name: f.name, help: f.help, labelNames: [...f.labels], registers: [registry] };
    const m = f.type === 'gauge' ? new Gauge(config) : new Counter(config);
    for (const x of samples.filter((y) => y.name === f.name)) {
      if (m instanceof Gauge) m.set(x.labels, x.value);
      else m.inc(x.labels, x.value);
    }
  }
  assert.equal(await new StatusMetrics().render(samples), await registry.metrics());
});

test('the takeover and jitter histograms follow the status metrics, rendered by prom-client', async () => {
  const timing = new TimingMetrics();
  timing.takeover('VI_1', 3_609);
  timing.advertJitter(2);
  timing.advertJitter(-40);
  const text = await new StatusMetrics(METRIC_FAMILIES, [timing.registry]).render(metricSamples(status(), new TransitionTally()));
  const { values, types } = parse(text);
  assert.equal(types.get('vipflow_takeover_seconds'), 'histogram');
  assert.equal(values.get('vipflow_takeover_seconds_bucket{le="3.5",instance="VI_1"}'), 0);
  assert.equal(values.get('vipflow_takeover_seconds_bucket{le="4",instance="VI_1"}'), 1);
  assert.equal(values.get('vipflow_takeover_seconds_sum{instance="VI_1"}'), 3.609);
  assert.equal(values.get('vipflow_advert_interval_jitter_seconds_bucket{le="-0.01"}'), 1);
  assert.equal(values.get('vipflow_advert_interval_jitter_seconds_bucket{le="0.005"}'), 2);
  assert.equal(values.get('vipflow_advert_interval_jitter_seconds_count'), 2);
  assert.ok(text.endsWith('\n') && !text.endsWith('\n\n'));
});

test('vipflow_dropped_packets_total: one series per reason from the status summary', async () => {
  const { values, types } = await render(status());
  assert.equal(types.get('vipflow_dropped_packets_total'), 'counter');
  assert.equal(values.get('vipflow_dropped_packets_total{reason="checksum"}'), 2);
  assert.equal(values.get('vipflow_dropped_packets_total{reason="shed"}'), 5);
  assert.equal(values.get('vipflow_dropped_packets_total{reason="unknown-vrid"}'), 4);
});
