/**
 * The daemon's in-process workflow host: runs the workflows of the config's
 * `vipflow` settings and of a workflows file off the daemon's own event bus,
 * triggered by this node's transitions (unless the config says workers run
 * them). Loaded lazily after start, so a daemon without workflows never loads
 * zx or tsx; a workflow that does not load is logged and the rest run.
 */
import type { Logger } from '../core/logger.js';
import type { RunResult } from '../workflows/run.js';
import type { EventBus } from '../infra/events/bus.js';
import type { EventSource } from '../infra/events/source.js';
import type { WorkflowRunner } from '../workflows/runner.js';
import type { GroupMembers } from '../workflows/define.js';
import type { WorkflowConfig } from '../workflows/from-config.js';

/** The config's `vipflow` settings the daemon's workflows come from. */
export interface ConfiguredWorkflows {
  workflows: readonly WorkflowConfig[];
  workflowsFile?: string | undefined;
  workflowRunner?: 'daemon' | 'workers' | undefined;
}

export interface WorkflowHostDeps {
  bus: EventBus;
  source: EventSource;
  /** The events' logger. */
  log: Logger;
  /** A workflows file from the command line: replaces the config's `workflowsFile`. */
  workflowsFile?: string | undefined;
  /** Each finished run (the workflow metrics). */
  onFinished?: (r: RunResult) => void;
  /** Called once no workflow runner here will replay the bus's past: its subscription is made, or none will be. */
  onReplayDone?: () => void;
}

export class WorkflowHost {
  private workflows: Promise<WorkflowRunner | null> | null = null;
  private stopped = false;

  constructor(private readonly d: WorkflowHostDeps) {}

  /**
   * Decides which workflows run here and starts loading them. Their subscription
   * starts now, so transitions made while the file is loading still trigger them.
   * @param groups the configured vrrp_sync_groups' members, for workflows triggered `on: { group }`.
   * @param configured the config's `vipflow` settings: workflows declared there
   *   (built-in notifiers) and its `workflowsFile`, which `workflowsFile` in the
   *   deps (the command line) replaces.
   */
  start(configFile: string, groups: GroupMembers = {}, configured?: ConfiguredWorkflows): void {
    const onWorkers = configured?.workflowRunner === 'workers';
    const declared = configured !== undefined && (configured.workflows.length > 0 || configured.workflowsFile !== undefined);
    if (onWorkers && declared) this.d.log.info("the config's workflows run on vipflow workers (vipflow.workflowRunner: 'workers'), not in this daemon");
    if (onWorkers && this.d.workflowsFile)
      this.d.log.warn(
        { workflowsFile: this.d.workflowsFile },
        '--workflows given while the config says workflows run on workers: this file runs here, and would run twice if the workers load it too',
      );
    const own = onWorkers ? { workflows: [] } : (configured ?? { workflows: [] });
    if (this.d.workflowsFile || (declared && !onWorkers))
      this.workflows = this.load(configFile, own, this.d.source.now(), groups).finally(() => this.d.onReplayDone?.());
    else this.d.onReplayDone?.();
  }

  /**
   * Loads and starts the workflows. Imported lazily: a daemon without workflows
   * never loads zx or tsx.
   */
  private async load(configFile: string, configured: ConfiguredWorkflows, since: string, groups: GroupMembers): Promise<WorkflowRunner | null> {
    const log = this.d.log.child({ component: 'workflows', ...(this.d.workflowsFile ? { workflowsFile: this.d.workflowsFile } : {}) });
    try {
      const [{ loadConfiguredWorkflows }, { WorkflowRunner }, { BUILTIN_NOTIFIERS }] = await Promise.all([
        import('../workflows/from-config.js'),
        import('../workflows/runner.js'),
        import('../notifiers/builtin.js'),
      ]);
      const loaded = await loadConfiguredWorkflows(configured, configFile, BUILTIN_NOTIFIERS, this.d.workflowsFile);
      // A broken workflow must not take the others (or VRRP) down with it: the ones
      // that built run, and each problem is logged as `check-config` would print it.
      for (const d of loaded.diagnostics) log.error({ file: d.file }, `workflow not loaded: ${d.message}`);
      if (loaded.workflows.length === 0) {
        log.error('no workflow loaded; running without workflows');
        return null;
      }
      if (this.stopped) return null;
      const runner = await WorkflowRunner.start({
        bus: this.d.bus,
        source: this.d.source,
        log,
        workflows: loaded.workflows,
        groups,
        subscribe: { start: { from: 'time', time: since } },
        ...(this.d.onFinished ? { onFinished: this.d.onFinished } : {}),
      });
      log.info({ workflows: loaded.workflows.map((w) => w.name), failed: loaded.diagnostics.length }, 'workflows running');
      return runner;
    } catch (err) {
      log.error({ err }, 'workflows failed to start; running without them');
      return null;
    }
  }

  /**
   * Lets running workflows finish within half the bound (the instances' last transitions,
   * to stopped, have just been published: STOP workflows run like keepalived's
   * notify_stop), then cancels what is left so its compensations run in the rest.
   */
  async stop(boundMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.workflows) return;
    const end = Date.now() + boundMs;
    const within = async <T>(p: Promise<T>, ms: number): Promise<T | undefined> => {
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([p, new Promise<undefined>((res) => (timer = setTimeout(() => res(undefined), Math.max(0, ms))))]);
      clearTimeout(timer);
      return r;
    };
    const runner = await within(this.workflows, end - Date.now());
    if (!runner) return;
    // In-process delivery runs from setImmediate: let the last transitions reach the runner first.
    await new Promise((r) => setImmediate(r));
    await within(runner.whenIdle(), (end - Date.now()) / 2);
    const closed = await within(
      runner.close().then(() => true),
      end - Date.now(),
    );
    if (!closed) this.d.log.warn({ boundMs }, 'workflows still running or compensating at the stop bound; exiting anyway');
  }
}
