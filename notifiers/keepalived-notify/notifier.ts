/**
 * keepalived-compatible notify hooks for VRRP instances: turns each
 * transition into FIFO lines (written at once, non-blocking) and notify
 * programs (queued per instance on a ScriptRunner). `transition` is cheap
 * and synchronous so it can sit on the daemon's transition listener: the
 * user lookup, the security check and the fork all happen in the queue.
 *
 * Who runs a script (keepalived's rules): the script's own `user [group]`,
 * else global `script_user`, else `keepalived_script` if that user exists,
 * else the daemon's own user; with enable_script_security and none of the
 * first three resolvable, keepalived refuses to run scripts, and so do we.
 * Security checks apply only when the script would run with root privileges
 * (uid 0, gid 0, or a set-uid/set-gid root file).
 *
 * Sync groups: `groupTransition` runs the group's notify_master /
 * notify_backup / notify_fault / notify_stop with their own arguments and
 * the generic `notify` with `GROUP name STATE 0` appended, and writes
 * `GROUP "name" STATE 0` to the FIFOs (keepalived's send_group_notifies).
 */
import type { VrrpStateName } from '../../actors/vrrp/types.js';
import type { Script, VipflowConfig } from '../../config/model.js';
import type { TransitionRecord } from '../../actors/vrrp/types.js';
import type { Logger } from '../../core/logger.js';
import { fifoLine, invocationsFor, notifyStateOf, splitCommandLine, type Notify, type NotifyEvent } from './argv.js';
import { NotifyFifo } from './fifo.js';
import { ScriptRunner, type Job, type JobOutcome, type Prepared } from '../../infra/scripts/runner.js';
import { checkScriptSecurity, runsPrivileged } from '../../infra/scripts/security.js';
import { resolveUser, type UserResult } from '../../infra/scripts/users.js';

export const DEFAULT_NOTIFY_TIMEOUT_MS = 30_000;
const DEFAULT_SCRIPT_USER = 'keepalived_script';

export interface NotifierOptions {
  log: Logger;
  /** The configuration in force (a reload replaces it; scripts are read from it at each transition). */
  config: () => VipflowConfig;
  /** A notify program still running after this long is killed with its process group. */
  timeoutMs?: number;
  /** Called after each program ends or is refused (tests, metrics). */
  onDone?: (job: Job, outcome: JobOutcome) => void;
}

export class KeepalivedNotifier {
  private readonly runner: ScriptRunner;
  private readonly fifos: NotifyFifo[] = [];
  private readonly log: Logger;

  constructor(private readonly options: NotifierOptions) {
    this.log = options.log.child({ component: 'notify' });
    this.runner = new ScriptRunner({
      log: this.log,
      timeoutMs: options.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS,
      ...(options.onDone ? { onDone: options.onDone } : {}),
    });
    const g = options.config().global;
    // keepalived writes each line to both the global and the VRRP FIFO.
    for (const f of [g.notifyFifo, g.vrrpNotifyFifo]) {
      if (!f) continue;
      const owner = f.user !== undefined ? resolveUser(f.user, f.group) : null;
      if (owner && !owner.ok) this.log.warn({ fifo: f.command, err: owner.message }, 'notify fifo owner unknown: keeping ours');
      const fifo = NotifyFifo.open(f.command, this.log, owner?.ok ? owner.ids : undefined);
      if (fifo) this.fifos.push(fifo);
    }
    if (g.notifyFifoScript || g.vrrpNotifyFifoScript) this.log.warn('notify_fifo_script is not supported yet: read the fifo with your own reader');
  }

  /**
   * Reacts to one instance transition: FIFO lines now, programs queued.
   * Returns at once; never throws.
   */
  transition(t: TransitionRecord): void {
    const state = notifyStateOf(t.to);
    if (!state) return;
    this.notify(
      { target: 'INSTANCE', name: t.instance, state, priority: t.effectivePriority },
      (c) => c.vrrpInstances.find((i) => i.name === t.instance)?.notify,
    );
  }

  /**
   * Reacts to one sync group transition, like {@link transition} (keepalived
   * passes priority 0 for a group). Returns at once; never throws.
   */
  groupTransition(group: string, to: VrrpStateName): void {
    const state = notifyStateOf(to);
    if (!state) return;
    this.notify({ target: 'GROUP', name: group, state, priority: 0 }, (c) => c.vrrpSyncGroups.find((g) => g.name === group)?.notify);
  }

  private notify(event: NotifyEvent, hooksOf: (config: VipflowConfig) => Notify | undefined): void {
    try {
      const config = this.options.config();
      const line = fifoLine(event);
      for (const f of this.fifos) f.write(line);
      const hooks = hooksOf(config);
      if (!hooks) return;
      const built = invocationsFor(hooks, event);
      const who = event.target === 'GROUP' ? { group: event.name } : { instance: event.name };
      for (const e of built.errors) this.log.error({ ...who, hook: e.hook, err: e.message }, 'notify script not run: bad command line');
      // Queued per instance or group: one's programs run in order, never two at once.
      const queue = event.target === 'GROUP' ? `group:${event.name}` : event.name;
      for (const inv of built.invocations) {
        this.runner.enqueue(queue, {
          argv: inv.argv,
          context: { ...who, hook: inv.hook, state: event.state },
          prepare: () => this.prepare(inv.script, inv.argv[0]!, config),
        });
      }
    } catch (err) {
      this.log.error({ err, name: event.name }, 'notify failed');
    }
  }

  /**
   * A checker's notify_up / notify_down / quorum_up / quorum_down and its
   * notify_fifo line (`RS [10.0.0.1]:tcp:80 [192.0.2.1]:tcp:80 UP`): keepalived
   * writes checker lines to notify_fifo only (not vrrp_notify_fifo) and runs the
   * script as written, with no arguments added. Queued per `queue` (a real or
   * virtual server): its scripts run in order. Returns at once; never throws.
   */
  checker(n: { fifoLine: string; script: Script | undefined; queue: string; context: Record<string, unknown> }): void {
    try {
      const config = this.options.config();
      if (config.global.notifyFifo !== undefined) for (const f of this.fifos) if (f.path === config.global.notifyFifo.command) f.write(n.fifoLine);
      if (n.script === undefined) return;
      const split = splitCommandLine(n.script.command);
      if (!split.ok) {
        this.log.error({ ...n.context, err: split.message }, 'checker notify script not run: bad command line');
        return;
      }
      const script = n.script;
      this.runner.enqueue(n.queue, { argv: split.argv, context: n.context, prepare: () => this.prepare(script, split.argv[0]!, config) });
    } catch (err) {
      this.log.error({ err, ...n.context }, 'checker notify failed');
    }
  }

  /** Programs waiting or running. */
  pending(): number {
    return this.runner.pending();
  }

  /** FIFO counters, for status. */
  fifoStats(): { path: string; written: number; dropped: number }[] {
    return this.fifos.map((f) => ({ path: f.path, written: f.written, dropped: f.dropped }));
  }

  /** Lets queued programs (the STOP notifications of a shutdown) finish for up to `graceMs`, then kills them; closes the FIFOs. */
  async close(graceMs: number): Promise<void> {
    await this.runner.close(graceMs);
    for (const f of this.fifos) f.close();
  }

  /**
   * Who runs `program` (script_user, or the script's own user) and whether script
   * security lets it run: the same rules for notify and track scripts.
   */
  prepareScript(script: Script, program: string): Prepared {
    return this.prepare(script, program, this.options.config());
  }

  private prepare(script: Script, program: string, config: VipflowConfig): Prepared {
    const g = config.global;
    const who = this.userFor(script, config);
    if (!who.ok) return { ok: false, reason: who.message };
    const ids = who.ids;
    const uid = ids?.uid ?? process.getuid?.() ?? 0;
    const gid = ids?.gid ?? process.getgid?.() ?? 0;
    if (runsPrivileged(program, uid, gid)) {
      const verdict = checkScriptSecurity(program);
      if (!verdict.ok) {
        if (g.enableScriptSecurity) return { ok: false, reason: `unsafe permissions: ${verdict.file} ${verdict.reason} (enable_script_security)` };
        this.log.warn(
          { program, file: verdict.file, why: verdict.reason },
          'unsafe permissions for a notify script run as root (set enable_script_security to refuse it)',
        );
      }
    }
    return ids === null ? { ok: true } : { ok: true, uid: ids.uid, gid: ids.gid };
  }

  /** The ids to run `script` as; null ids: the daemon's own. */
  private userFor(script: Script, config: VipflowConfig): { ok: true; ids: { uid: number; gid: number } | null } | { ok: false; message: string } {
    const explicit = script.user !== undefined ? { user: script.user, group: script.group } : config.global.scriptUser;
    if (explicit) return toIds(resolveUser(explicit.user, explicit.group));
    const fallback = resolveUser(DEFAULT_SCRIPT_USER);
    if (fallback.ok) return { ok: true, ids: fallback.ids };
    if (config.global.enableScriptSecurity)
      return { ok: false, message: `no script_user set and user ${DEFAULT_SCRIPT_USER} does not exist (enable_script_security)` };
    return { ok: true, ids: null };
  }
}

function toIds(r: UserResult): { ok: true; ids: { uid: number; gid: number } } | { ok: false; message: string } {
  return r.ok ? { ok: true, ids: { uid: r.ids.uid, gid: r.ids.gid } } : r;
}
