/**
 * Split-brain detection over the cluster's KV view (pure: no I/O, times passed in).
 *
 * Every node writes its state per instance to the KV bucket (nats-bus.ts) and
 * watches the bucket. Two nodes reporting Master for the same instance is
 * normal for a moment (a takeover overlaps the old Master's last advert, and
 * KV writes travel separately), so a conflict counts only once it has lasted
 * a grace period (default 3 advert intervals). It then yields a `split-brain`
 * decision for each instance the local node is one of the Masters of, naming
 * every Master and the one that should step down under the `fence` policy.
 *
 * A peer's Master entry counts only if it was written after the local instance
 * became Master: a Master that crashed leaves its last entry behind, fresh by its
 * heartbeat for a while, and the node taking over from it must not see that as a
 * second Master (with `fence` it would step down and leave no Master at all). A
 * live Master rewrites its entry when it sees another node become Master (see
 * daemon/split-brain-fence.ts), so a real split brain is confirmed at once.
 *
 * The loser is chosen as VRRP itself would choose once the Masters hear each
 * other again (RFC 5798 §6.4.3: the lower priority yields; on equal priority
 * the lower primary address yields), so when the LAN heals VRRP keeps the
 * Master the fence kept, and nothing flaps.
 */

/** One node's entry for one instance, as read from the KV bucket. */
export interface PeerState {
  instance: string;
  node: string;
  vrid: number;
  state: string;
  effectivePriority: number;
  /** The node's primary (advert source) address, when its daemon reports it. */
  source?: string;
  /** ISO time of the last write (transition or heartbeat). */
  heartbeatAt: string;
  /**
   * Local monotonic time at which this write arrived as a live update; absent for
   * entries read from the bucket's existing contents (when the watch started).
   */
  receivedAtMs?: number;
}

/** The local node's own view of one of its instances (fresher than its KV echo). */
export interface LocalInstance {
  instance: string;
  vrid: number;
  state: string;
  effectivePriority: number;
  source: string;
  /** Local monotonic time at which this instance became Master; null when it is not Master. */
  masterSinceMs: number | null;
  /** Grace before a conflict counts (3 advert intervals by default). */
  graceMs: number;
}

export type SplitBrainDecision =
  | { kind: 'split-brain'; instance: string; vrid: number; masters: string[]; loser: string; sinceMs: number }
  | { kind: 'cleared'; instance: string; vrid: number; lastedMs: number };

export interface SplitBrainDetectorOptions {
  node: string;
  /** An entry whose heartbeat is older than this is ignored (its node is gone or cut off from NATS). */
  staleMs: number;
}

interface Conflict {
  since: number;
  reported: boolean;
}

/**
 * Compares two Masters as VRRP does: negative when `a` yields to `b`.
 * Addresses compare numerically (IPv4 dotted or IPv6 text), node names break what is left.
 */
export function yieldOrder(
  a: { effectivePriority: number; source?: string; node: string },
  b: { effectivePriority: number; source?: string; node: string },
): number {
  if (a.effectivePriority !== b.effectivePriority) return a.effectivePriority - b.effectivePriority;
  const ka = addressKey(a.source);
  const kb = addressKey(b.source);
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** A sortable key for an address (16-byte big-endian hex), '' when unknown. */
function addressKey(address: string | undefined): string {
  if (!address) return '';
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (v4)
    return v4
      .slice(1)
      .map((o) => Number(o).toString(16).padStart(2, '0'))
      .join('')
      .padStart(32, '0');
  const [head = '', tail] = address.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join('');
}

export class SplitBrainDetector {
  private readonly peers = new Map<string, PeerState>();
  private readonly conflicts = new Map<string, Conflict>();

  constructor(private readonly o: SplitBrainDetectorOptions) {}

  /** Records a KV entry (a put); entries of the local node are ignored (its live state is used instead). */
  update(entry: PeerState): void {
    if (entry.node === this.o.node) return;
    this.peers.set(`${entry.instance}\u0000${entry.node}`, entry);
  }

  /** Forgets a deleted or purged KV entry. */
  remove(instance: string, node: string): void {
    this.peers.delete(`${instance}\u0000${node}`);
  }

  /**
   * Other nodes that are Master of `instance` with a fresh heartbeat at wall time
   * `nowWallMs` and, with `writtenSinceMs`, whose entry arrived live at or after it.
   */
  otherMasters(instance: string, nowWallMs: number, writtenSinceMs?: number): PeerState[] {
    const out: PeerState[] = [];
    for (const p of this.peers.values()) {
      if (p.instance !== instance || p.state !== 'master') continue;
      const beat = Date.parse(p.heartbeatAt);
      if (Number.isNaN(beat) || nowWallMs - beat > this.o.staleMs) continue;
      if (writtenSinceMs !== undefined && (p.receivedAtMs === undefined || p.receivedAtMs < writtenSinceMs)) continue;
      out.push(p);
    }
    return out;
  }

  /**
   * Looks at every local instance against the peers' entries.
   * @param nowWallMs wall clock (heartbeat freshness; heartbeats are wall times).
   * @param nowMonoMs monotonic clock (how long a conflict has lasted).
   * @returns a `split-brain` decision once per conflict when it has outlasted the
   * grace, and a `cleared` decision when a reported conflict ends.
   */
  evaluate(local: readonly LocalInstance[], nowWallMs: number, nowMonoMs: number): SplitBrainDecision[] {
    const out: SplitBrainDecision[] = [];
    const seen = new Set<string>();
    for (const l of local) {
      seen.add(l.instance);
      const others = l.state === 'master' && l.masterSinceMs !== null ? this.otherMasters(l.instance, nowWallMs, l.masterSinceMs) : [];
      const conflict = this.conflicts.get(l.instance);
      if (others.length === 0) {
        if (conflict) {
          this.conflicts.delete(l.instance);
          if (conflict.reported) out.push({ kind: 'cleared', instance: l.instance, vrid: l.vrid, lastedMs: nowMonoMs - conflict.since });
        }
        continue;
      }
      const c = conflict ?? { since: nowMonoMs, reported: false };
      if (!conflict) this.conflicts.set(l.instance, c);
      if (c.reported || nowMonoMs - c.since < l.graceMs) continue;
      c.reported = true;
      const me = { node: this.o.node, effectivePriority: l.effectivePriority, source: l.source };
      const all = [me, ...others];
      const loser = all.reduce((a, b) => (yieldOrder(a, b) <= 0 ? a : b));
      out.push({
        kind: 'split-brain',
        instance: l.instance,
        vrid: l.vrid,
        masters: all.map((m) => m.node).sort(),
        loser: loser.node,
        sinceMs: nowMonoMs - c.since,
      });
    }
    for (const instance of [...this.conflicts.keys()]) if (!seen.has(instance)) this.conflicts.delete(instance);
    return out;
  }
}

/**
 * Whether a fenced instance may return to normal VRRP.
 * It may once it hears a Master's adverts on the LAN again (the partition healed,
 * and VRRP keeps it Backup against the Master that the fence kept), or once no
 * other node reports Master with a fresh heartbeat (the kept Master stopped or
 * died, so this node must be able to take over).
 */
export function mayReleaseFence(input: { heardAdvertAgoMs: number | null; advertIntervalMs: number; otherFreshMasters: number }): boolean {
  if (input.otherFreshMasters === 0) return true;
  return input.heardAdvertAgoMs !== null && input.heardAdvertAgoMs <= 3 * input.advertIntervalMs;
}
