/** One valid payload per event type, and helpers to make events in tests. */
import { createEventSource, memorySeq, type EventSource } from '../../../infra/events/source.js';
import type { EventData, EventType } from '../../../infra/events/schema.js';

export const samplePayloads: { [T in EventType]: EventData<T> } = {
  'instance.transition': {
    instance: 'VI_1',
    vrid: 51,
    family: 'ipv4',
    interface: 'eth0',
    from: 'backup',
    to: 'master',
    reason: 'master-down-timer',
    effectivePriority: 100,
    basePriority: 100,
    masterSeen: '198.18.0.2',
    advertIntervalCs: 100,
  },
  'instance.fault': { instance: 'VI_1', vrid: 51, reason: 'track-fault', tracksDown: ['eth1'] },
  'instance.recover': { instance: 'VI_1', vrid: 51, reason: 'fault-cleared' },
  'group.transition': { group: 'G1', from: 'master', to: 'fault', by: 'VI_1', reason: 'member-fault', members: ['VI_1', 'VI_2'] },
  'track.change': { instance: 'VI_1', track: 'chk_nginx', kind: 'script', up: false, weight: -20, effectivePriority: 80 },
  'wire.drops': { periodMs: 10_000, interface: 'eth0', counters: { badChecksum: 2, wrongVrid: 0 }, total: 2 },
  'vrrp.intruder': {
    sender: '198.18.0.77',
    mac: '02:00:00:00:00:77',
    reason: 'lower-priority',
    vrid: 40,
    priority: 50,
    interface: 'eth0',
    family: 'ipv4',
    instance: 'VI_1',
    detail: 'priority 50, ours 200',
    suppressed: 12,
  },
  'config.reload': { file: '/etc/keepalived/keepalived.conf', ok: true, errors: 0, warnings: 1, instances: ['VI_1'] },
  'daemon.start': { version: '0.1.0', pid: 1234, configFile: '/etc/keepalived/keepalived.conf', instances: ['VI_1'] },
  'daemon.stop': { reason: 'SIGTERM', uptimeMs: 5000 },
  'cluster.split_brain': { instance: 'VI_1', vrid: 51, masters: ['node-a', 'node-b'] },
  'realserver.up': { virtualServer: '198.18.0.100:80', realServer: '198.18.0.100:80/198.18.1.1:80', weight: 1, reason: 'checks' },
  'realserver.down': {
    virtualServer: '198.18.0.100:80',
    realServer: '198.18.0.100:80/198.18.1.1:80',
    reason: 'status',
    detail: 'status 503 not in 200-299',
    checker: '198.18.0.100:80/198.18.1.1:80/HTTP_GET#0',
  },
  'realserver.weight': { virtualServer: '198.18.0.100:80', realServer: '198.18.0.100:80/198.18.1.1:80', weight: 3 },
  'virtualserver.quorum': { virtualServer: '198.18.0.100:80', up: false, liveWeight: 1, quorum: 2, hysteresis: 0 },
  'lb.applied': { backend: 'nftables', ok: true, added: ['198.18.0.100:80/tcp'], removed: [], changed: [], ms: 12 },
  'workflow.started': { workflow: 'drain-lb', runId: 'r1', instance: 'VI_1', trigger: 'node-a:x:1' },
  'workflow.step': { workflow: 'drain-lb', runId: 'r1', step: 'disable-backend', status: 'succeeded', durationMs: 12 },
  'workflow.finished': { workflow: 'drain-lb', runId: 'r1', status: 'succeeded', durationMs: 40 },
};

export function testSource(node = 'node-a', cluster = 'dc1', bootId = 'b00t'): EventSource {
  return createEventSource({ cluster, node, bootId, seq: memorySeq() });
}

/** A transition of `instance` into `to`, with a marker in `reason` to tell events apart. */
export function transition(src: EventSource, instance: string, to: 'master' | 'backup' | 'fault', reason = 'test') {
  return src.make('instance.transition', { ...samplePayloads['instance.transition'], instance, from: to === 'master' ? 'backup' : 'master', to, reason });
}
