/**
 * What conntrackd is told on each VRRP state, after Debian's
 * /usr/share/doc/conntrackd/examples/sync/primary-backup.sh (the script
 * keepalived users run from notify_master / notify_backup / notify_fault). Pure.
 */
import type { VrrpStateName } from '../../actors/vrrp/types.js';

export type ConntrackdRole = 'primary' | 'backup' | 'fault';

export interface ConntrackdAction {
  /** conntrackd's option, after `-C config`. */
  flag: string;
  /** Why, in primary-backup.sh's words. */
  purpose: string;
}

/**
 * primary: the peer's flows (the external cache) go into the kernel first, so
 * established connections keep their NAT on their next packet; then both caches
 * are flushed and rebuilt from the kernel, and the new backup gets everything.
 * backup: old flows expire soon (-t), and the new master is asked for its flows (-n).
 * fault: only the timers. (backup's "is it running? start it" check comes first, see run.ts.)
 */
export const ROLE_ACTIONS: Readonly<Record<ConntrackdRole, readonly ConntrackdAction[]>> = {
  primary: [
    { flag: '-c', purpose: 'commit the external cache into the kernel table' },
    { flag: '-f', purpose: 'flush the internal and the external caches' },
    { flag: '-R', purpose: 'resynchronize the internal cache with the kernel table' },
    { flag: '-B', purpose: 'send a bulk update to the backups' },
  ],
  backup: [
    { flag: '-t', purpose: 'shorten kernel conntrack timers to remove the zombie entries' },
    { flag: '-n', purpose: 'request resynchronization with the master replica' },
  ],
  fault: [{ flag: '-t', purpose: 'shorten kernel conntrack timers to remove the zombie entries' }],
};

/** The role for a transition's new state; null for states the script has no case for (initialize, stopped). */
export function roleForState(to: VrrpStateName): ConntrackdRole | null {
  return to === 'master' ? 'primary' : to === 'backup' ? 'backup' : to === 'fault' ? 'fault' : null;
}

/** The argv of one action. */
export const actionArgs = (config: string, a: ConntrackdAction): string[] => ['-C', config, a.flag];
