/**
 * Pure part of keepalived's notify hooks: which programs a transition runs,
 * with which arguments, and the notify_fifo line. No I/O here.
 *
 * keepalived (vrrp_notify.c) on entering a state runs, in this order: the
 * state's own script (notify_master / notify_backup / notify_fault /
 * notify_stop) with only the arguments written in the config, then the
 * generic `notify` script with four arguments appended
 * (`INSTANCE|GROUP`, the name, `MASTER|BACKUP|FAULT|STOP`, the effective
 * priority; 0 for a group), then one FIFO line `INSTANCE "VI_1" MASTER 100`.
 */
import type { Script, VrrpInstance } from '../../config/model.js';
import type { VrrpStateName } from '../../actors/vrrp/types.js';
import { splitCommandLine } from '../../infra/scripts/command-line.js';

/** An instance's (or sync group's) notify settings, as the config model parses them. */
export type Notify = VrrpInstance['notify'];

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';
export type NotifyTarget = 'INSTANCE' | 'GROUP';

/** One program to run: its argv (argv[0] is the program) and the config entry it came from. */
export interface Invocation {
  /** Which config keyword asked for it (for logs): `notify_master`, `notify`, ... */
  hook: string;
  argv: string[];
  script: Script;
}

export { splitCommandLine, type SplitResult } from '../../infra/scripts/command-line.js';

/** keepalived's state word for a vipflow state; null for states keepalived never notifies (initialize). */
export function notifyStateOf(state: VrrpStateName): NotifyState | null {
  switch (state) {
    case 'master':
      return 'MASTER';
    case 'backup':
      return 'BACKUP';
    case 'fault':
      return 'FAULT';
    case 'stopped':
      return 'STOP';
    default:
      return null;
  }
}

const HOOK_OF: Record<NotifyState, { key: 'master' | 'backup' | 'fault' | 'stop'; hook: string }> = {
  MASTER: { key: 'master', hook: 'notify_master' },
  BACKUP: { key: 'backup', hook: 'notify_backup' },
  FAULT: { key: 'fault', hook: 'notify_fault' },
  STOP: { key: 'stop', hook: 'notify_stop' },
};

export interface NotifyEvent {
  target: NotifyTarget;
  name: string;
  state: NotifyState;
  /** Effective priority; keepalived passes 0 for a sync group. */
  priority: number;
}

export type InvocationsResult = { invocations: Invocation[]; errors: { hook: string; message: string }[] };

/**
 * The programs keepalived would run for `event`, in keepalived's order
 * (the state's own script first, then the generic `notify`).
 * A command line that cannot be split is reported in `errors` and skipped.
 */
export function invocationsFor(notify: Notify, event: NotifyEvent): InvocationsResult {
  const out: InvocationsResult = { invocations: [], errors: [] };
  const own = HOOK_OF[event.state];
  const add = (hook: string, script: Script | undefined, extra: string[]) => {
    if (!script) return;
    const split = splitCommandLine(script.command);
    if (!split.ok) out.errors.push({ hook, message: split.message });
    else out.invocations.push({ hook, argv: [...split.argv, ...extra], script });
  };
  add(own.hook, notify[own.key], []);
  add('notify', notify.any, [event.target, event.name, event.state, String(event.priority)]);
  return out;
}

/** The notify_fifo line keepalived writes: `INSTANCE "VI_1" MASTER 100\n`. */
export function fifoLine(event: NotifyEvent): string {
  return `${event.target} "${event.name}" ${event.state} ${event.priority}\n`;
}
