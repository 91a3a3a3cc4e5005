/**
 * Runs workflows in-process off the event bus.
 *
 * - Starts every workflow whose trigger matches an `instance.transition`,
 *   `cluster.split_brain` or checker event (realserver.*, virtualserver.quorum)
 *   of this node (other nodes run their own).
 * - The bus hands events over one at a time and waits for the handler; the handler only
 *   starts runs and returns, so a slow workflow never holds up the next event.
 * - A newer transition of an instance supersedes that instance's running runs: their
 *   signal aborts and the completed steps are compensated (run.ts). A transition older
 *   than one already seen for the instance (a late redelivery) starts nothing.
 *   Split-brain runs are keyed by their instance too: the transition that ends the
 *   double Master supersedes them; a split-brain event supersedes nothing. A real
 *   server's up / down supersedes its running runs the same way, and so does a
 *   virtual server's quorum change.
 * - The same event id never starts a workflow twice: ids are remembered in a bounded
 *   in-memory set (seen.ts). Worker mode (worker.ts) keeps that memory in a KV bucket
 *   instead, so it survives restarts and is shared by every worker.
 * - Never throws into the bus: failures are logged and published as workflow.* events.
 */
import type { Logger } from '../core/logger.js';
import type { EventBus, Subscription, SubscribeOptions, SubscriptionStats } from '../infra/events/bus.js';
import type { EventSource } from '../infra/events/source.js';
import type { VipflowEvent } from '../infra/events/schema.js';
import { CHECK_EVENT_TYPES, matchesTrigger, type GroupMembers, type StepShell, type Workflow } from './define.js';
import { runWorkflow, type Emit, type RunResult } from './run.js';
import { BoundedSet } from './seen.js';
import { zxShell } from './shell.js';

export interface WorkflowRunnerOptions {
  bus: EventBus;
  /** Makes the workflow.* events; its node is the node whose events start workflows. */
  source: EventSource;
  log: Logger;
  workflows: readonly Workflow[];
  /** Sync group members, for workflows with `on.group`. */
  groups?: GroupMembers;
  /** Event ids remembered for deduplication. Default 10,000. */
  seenLimit?: number;
  /** Default zx. */
  shell?: (signal: AbortSignal) => StepShell;
  /** Called with each finished run (tests, status output). */
  onFinished?: (r: RunResult) => void;
  subscribe?: SubscribeOptions;
}

/**
 * What an event's runs are keyed by: an instance (its transitions supersede its runs;
 * a split brain supersedes nothing), a real server (up and down supersede each other's
 * runs; weight changes supersede nothing) or a virtual server's quorum.
 */
function runKeyOf(event: VipflowEvent): { key: string; supersedes: boolean; what: string } | undefined {
  switch (event.type) {
    case 'instance.transition':
      return { key: event.data.instance, supersedes: true, what: `${event.data.from} -> ${event.data.to}` };
    case 'cluster.split_brain':
      return { key: event.data.instance, supersedes: false, what: 'split brain' };
    case 'realserver.up':
    case 'realserver.down':
      return { key: `realserver:${event.data.realServer}`, supersedes: true, what: event.type };
    case 'realserver.weight':
      return { key: `realserver:${event.data.realServer}`, supersedes: false, what: event.type };
    case 'virtualserver.quorum':
      return { key: `virtualserver:${event.data.virtualServer}`, supersedes: true, what: `quorum ${event.data.up ? 'up' : 'down'}` };
    default:
      return undefined;
  }
}

interface ActiveRun {
  cancel: AbortController;
  done: Promise<void>;
}

export class WorkflowRunner {
  private readonly log: Logger;
  private readonly seen: BoundedSet<string>;
  private readonly active = new Map<string, Set<ActiveRun>>();
  /** Instance → seq of the newest transition seen, to spot late redeliveries. */
  private readonly latestSeq = new Map<string, number>();
  private sub: Subscription | null = null;
  private closed = false;

  private constructor(private readonly o: WorkflowRunnerOptions) {
    this.log = o.log.child({ component: 'workflows' });
    this.seen = new BoundedSet(o.seenLimit ?? 10_000);
    for (const w of o.workflows) {
      if (w.on.group !== undefined && !(o.groups && w.on.group in o.groups)) {
        this.log.warn({ workflow: w.name, group: w.on.group }, 'workflow names an unknown sync group; it will never start');
      }
    }
  }

  /** Subscribes to the bus and returns the running runner. */
  static async start(o: WorkflowRunnerOptions): Promise<WorkflowRunner> {
    const r = new WorkflowRunner(o);
    r.sub = await o.bus.subscribe(
      { cluster: o.source.cluster, node: o.source.node, types: ['instance.transition', 'cluster.split_brain', ...CHECK_EVENT_TYPES] },
      (event) => r.handle(event),
      o.subscribe,
    );
    return r;
  }

  /** The bus subscription's counters; handlerErrors stays 0 because handle() never throws. */
  get stats(): SubscriptionStats | undefined {
    return this.sub?.stats;
  }

  /** Number of runs in progress. */
  get running(): number {
    let n = 0;
    for (const s of this.active.values()) n += s.size;
    return n;
  }

  /** Resolves when no run is in progress (runs started meanwhile are waited for too). */
  async whenIdle(): Promise<void> {
    for (;;) {
      const all = [...this.active.values()].flatMap((s) => [...s].map((r) => r.done));
      if (all.length === 0) return;
      await Promise.all(all);
    }
  }

  /** Starts the matching workflows for one event. Synchronous and never throws. */
  handle(event: VipflowEvent): void {
    try {
      if (this.closed) return;
      const key = runKeyOf(event);
      if (key === undefined) return;
      if (!this.seen.add(event.id)) {
        this.log.debug({ eventId: event.id }, 'event already handled; ignored');
        return;
      }
      if (key.supersedes) {
        const latest = this.latestSeq.get(key.key);
        if (latest !== undefined && event.seq < latest) {
          this.log.info({ eventId: event.id, key: key.key }, 'event older than one already seen for the same instance or server; no workflow started');
          return;
        }
        this.latestSeq.set(key.key, event.seq);
        this.cancelInstance(key.key, new Error(`superseded by ${event.id} (${key.what})`));
      }
      for (const w of this.o.workflows) if (matchesTrigger(w, event, this.o.groups)) this.startRun(w, event, key.key);
    } catch (err) {
      this.log.error({ err, eventId: event.id }, 'starting workflows failed');
    }
  }

  private cancelInstance(instance: string, reason: Error): void {
    for (const r of this.active.get(instance) ?? []) r.cancel.abort(reason);
  }

  private startRun(w: Workflow, event: VipflowEvent, instance: string): void {
    const emit: Emit = (type, data) => this.o.bus.publish(this.o.source.make(type, data) as VipflowEvent);
    const cancel = new AbortController();
    const runs = this.active.get(instance) ?? new Set<ActiveRun>();
    this.active.set(instance, runs);
    const run: ActiveRun = { cancel, done: Promise.resolve() };
    run.done = runWorkflow(w, event, {
      runId: `${event.id}/${w.name}`,
      log: this.log,
      emit,
      shell: this.o.shell ?? zxShell,
      cancel: cancel.signal,
    })
      .then((r) => this.o.onFinished?.(r))
      .catch((err: unknown) => this.log.error({ err, workflow: w.name }, 'workflow run failed unexpectedly'))
      .finally(() => {
        runs.delete(run);
        if (runs.size === 0 && this.active.get(instance) === runs) this.active.delete(instance);
      });
    runs.add(run);
  }

  /** Stops taking events, cancels running runs (their compensations still run) and waits for them. */
  async close(): Promise<void> {
    this.closed = true;
    await this.sub?.close();
    for (const instance of this.active.keys()) this.cancelInstance(instance, new Error('workflow runner stopped'));
    await this.whenIdle();
  }
}
