/**
 * Every received packet vipflow dropped or refused to act on, by reason, over
 * the wire hub and all instances: what `vipflow status` and the
 * `vipflow_dropped_packets_total{reason}` metric show. Pure.
 */
import type { HubStats } from '../wire/hub/vrid-hub.js';
import type { InstanceStatus } from '../infra/vrrp/instance-runner.js';

export const DROPPED_REASONS = [
  'checksum',
  'truncated',
  'version',
  'type',
  'vrid-zero',
  'ttl',
  'unknown-vrid',
  'address-list',
  'lower-priority',
  'rate-limited',
  'shed',
  'other',
] as const;

export type DroppedReason = (typeof DROPPED_REASONS)[number];
export type DroppedCounters = Record<DroppedReason, number>;

/**
 * The instance counters of lower-priority adverts left without effect (a
 * preempting Backup's), and of a Master's answers to lower-priority and
 * priority-0 adverts held back by its answer rate limit (issue 19, part 1;
 * 0 where the daemon has none). A Master's answered lower-priority adverts
 * are no drop: `lowerPriorityWhileMaster` counts them apart.
 */
const LOWER_PRIORITY_COUNTERS = ['lowerPriorityDiscarded'];
const RATE_LIMITED_COUNTERS = ['lowerPriorityRepliesSuppressed', 'priorityZeroRepliesSuppressed'];

export function droppedByReason(wire: HubStats, instances: readonly InstanceStatus[]): DroppedCounters {
  const d = wire.dropped;
  const out: DroppedCounters = {
    checksum: d.checksum,
    truncated: d.truncated,
    version: d.version,
    type: d.type,
    'vrid-zero': d['vrid-zero'],
    ttl: 0,
    'unknown-vrid': d['unknown-vrid'],
    'address-list': 0,
    'lower-priority': 0,
    'rate-limited': 0,
    shed: wire.shed + d.flood,
    other: d.malformed,
  };
  for (const i of instances) {
    for (const [reason, n] of Object.entries(i.drops)) {
      if (reason === 'bad-ttl') out.ttl += n;
      else if (reason === 'address-list-mismatch') out['address-list'] += n;
      // The version an instance does not run is a version drop too.
      else if (reason === 'version-mismatch') out.version += n;
      else out.other += n;
    }
    for (const k of LOWER_PRIORITY_COUNTERS) out['lower-priority'] += i.counters[k] ?? 0;
    for (const k of RATE_LIMITED_COUNTERS) out['rate-limited'] += i.counters[k] ?? 0;
  }
  return out;
}
