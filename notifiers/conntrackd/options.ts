/** Options of the conntrackd notifier (`uses: conntrackd.sync`). */
import { z } from 'zod';

export const conntrackdOptionsSchema = z.strictObject({
  /** Debian's path; a wrapper script works too (e.g. one that enters a network namespace). */
  binary: z.string().min(1).default('/usr/sbin/conntrackd'),
  /** The configuration of the conntrackd to drive (`-C`): it names the control socket the commands reach. */
  config: z.string().min(1).default('/etc/conntrackd/conntrackd.conf'),
  /** The LockFile of that configuration: removed before restarting a conntrackd that is not answering, as primary-backup.sh does. */
  lockFile: z.string().min(1).default('/var/lock/conntrack.lock'),
  /** Bound for each conntrackd command (ms); a command still running then is killed and counted as failed. */
  commandTimeoutMs: z.number().int().positive().default(5000),
  /** On BACKUP, start conntrackd (`-d`) when `-s` finds it not running (primary-backup.sh does). */
  startIfStopped: z.boolean().default(true),
  /** Force a role instead of taking it from the transition (`primary` on MASTER, `backup` on BACKUP, `fault` on FAULT). */
  role: z.enum(['primary', 'backup', 'fault']).optional(),
});
export type ConntrackdOptions = z.input<typeof conntrackdOptionsSchema>;
export type ResolvedConntrackdOptions = z.output<typeof conntrackdOptionsSchema>;

/** @throws Error naming each bad option (a programmer mistake, caught when the workflow is defined). */
export function parseConntrackdOptions(o: ConntrackdOptions): ResolvedConntrackdOptions {
  const r = conntrackdOptionsSchema.safeParse(o);
  if (!r.success) throw new Error(`conntrackdSyncStep: ${r.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ')}`);
  return r.data;
}
