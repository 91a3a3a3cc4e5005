/**
 * Supersession across workers: the pure half. Every worker follows the cluster's
 * transitions in stream order (an ordered consumer, workflows/worker.ts) and feeds them
 * here; runs are positioned by the JetStream stream sequence of their trigger, which is
 * global and, for one node, follows that node's publish order.
 *
 * The rules are the in-process runner's (runner.ts), keyed by node as well because a
 * worker serves every node of the cluster, where the daemon only serves its own:
 * - a transition of instance I on node N supersedes runs triggered by earlier
 *   transitions of I on N, and split-brain runs of I (the transition that ends a double
 *   Master may come from any node);
 * - a transition that is already superseded when it is delivered (a late redelivery)
 *   starts nothing;
 * - a split-brain event supersedes nothing.
 */

export interface TriggerRef {
  /** Checker events (realserver.*, virtualserver.quorum) neither supersede nor are superseded across workers. */
  type: 'instance.transition' | 'cluster.split_brain' | 'realserver.up' | 'realserver.down' | 'realserver.weight' | 'virtualserver.quorum';
  node: string;
  /** The instance; for checker events the real or virtual server they are about. */
  instance: string;
  /** Stream sequence of the trigger event. */
  streamSeq: number;
}

/** True when transition `newer` supersedes a run started by `run`. */
export function supersedes(newer: TriggerRef, run: TriggerRef): boolean {
  if (newer.type !== 'instance.transition' || newer.instance !== run.instance || newer.streamSeq <= run.streamSeq) return false;
  return run.type === 'cluster.split_brain' || run.node === newer.node;
}

/** The newest transition seen per (node, instance), and how far the stream was followed. */
export class TransitionLog {
  private readonly latest = new Map<string, number>();
  /** Newest transition per instance over all nodes (supersedes split-brain runs). */
  private readonly latestAnyNode = new Map<string, number>();
  /** Highest stream sequence observed. */
  position = 0;

  /** Records a transition (idempotent; order-insensitive). */
  observe(t: TriggerRef): void {
    if (t.type !== 'instance.transition') return;
    const k = `${t.node}\u0000${t.instance}`;
    if ((this.latest.get(k) ?? 0) < t.streamSeq) this.latest.set(k, t.streamSeq);
    if ((this.latestAnyNode.get(t.instance) ?? 0) < t.streamSeq) this.latestAnyNode.set(t.instance, t.streamSeq);
    if (t.streamSeq > this.position) this.position = t.streamSeq;
  }

  /** The stream sequence of a transition that supersedes `run`, if one was seen. */
  supersededBy(run: TriggerRef): number | undefined {
    if (run.type !== 'instance.transition' && run.type !== 'cluster.split_brain') return undefined;
    const newest = run.type === 'cluster.split_brain' ? this.latestAnyNode.get(run.instance) : this.latest.get(`${run.node}\u0000${run.instance}`);
    return newest !== undefined && newest > run.streamSeq ? newest : undefined;
  }

  /** Number of (node, instance) pairs remembered: one entry each, so memory follows the cluster's size, not its history. */
  get size(): number {
    return this.latest.size;
  }
}
