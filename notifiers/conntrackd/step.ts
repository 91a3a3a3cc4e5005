/**
 * The conntrackd notifier: on a transition, tells the local conntrackd what
 * primary-backup.sh would (plan.ts), so the connections an LVS-NAT pair
 * forwards survive a failover. Fails the step, after running every command,
 * when any of them failed; the message lists which and why.
 */
import type { StepContext, StepSettings, WorkflowStep } from '../../workflows/define.js';
import { parseConntrackdOptions, type ConntrackdOptions, type ResolvedConntrackdOptions } from './options.js';
import { actionArgs, ROLE_ACTIONS, roleForState, type ConntrackdRole } from './plan.js';
import { runConntrackdRole, type ConntrackdReport } from './run.js';

/**
 * A workflow step driving conntrackd. Step defaults: name `conntrackd-sync`,
 * timeout: one command bound per command it may run, plus 1 s.
 * @throws Error naming the bad option (at definition time).
 */
export function conntrackdSyncStep(options: ConntrackdOptions = {}, step: StepSettings = {}): WorkflowStep {
  const o = parseConntrackdOptions(options);
  // primary runs four commands; backup up to four (-s, -d when stopped, -t, -n).
  const most = ROLE_ACTIONS.primary.length;
  return {
    name: step.name ?? 'conntrackd-sync',
    timeoutMs: step.timeoutMs ?? o.commandTimeoutMs * most + 1000,
    ...(step.retry ? { retry: step.retry } : {}),
    run: (ctx) => syncConntrackd(o, ctx),
  };
}

function roleOf(o: ResolvedConntrackdOptions, ctx: StepContext): ConntrackdRole | null {
  if (o.role) return o.role;
  return ctx.event.type === 'instance.transition' ? roleForState(ctx.event.data.to) : null;
}

/** Runs the role's commands; undefined when there is nothing to do or in a dry run. */
export async function syncConntrackd(o: ResolvedConntrackdOptions, ctx: StepContext): Promise<ConntrackdReport | undefined> {
  const role = roleOf(o, ctx);
  if (role === null) {
    ctx.intend('nothing for conntrackd on this event', { event: ctx.event.type });
    return undefined;
  }
  const commands = ROLE_ACTIONS[role].map((a) => [o.binary, ...actionArgs(o.config, a)].join(' '));
  ctx.intend(`tell conntrackd this node is ${role}`, { commands, ...(role === 'backup' && o.startIfStopped ? { startIfStopped: true } : {}) });
  if (ctx.dryRun) return undefined;
  const report = await runConntrackdRole(role, o, ctx.signal, ctx.log.child({ role }));
  if (ctx.signal.aborted) throw ctx.signal.reason;
  const failed = report.commands.filter((c) => c.code !== 0);
  if (failed.length > 0)
    throw new Error(
      `conntrackd (${role}): ${failed.map((c) => `${c.args.at(-1)} failed to ${c.purpose} (${c.error ?? `exit ${c.code}`})`).join('; ')}; is conntrackd running with ${o.config}?`,
    );
  ctx.log.info({ commands: report.commands.map((c) => ({ flag: c.args.at(-1), ms: c.ms })), started: report.started }, `conntrackd told this node is ${role}`);
  return report;
}
