/** Options of the VIP readiness notifier (pure: no I/O). */
import { z } from 'zod';
import { parseNotifierOptions } from '../parse-options.js';

/**
 * `vipflow run`'s default state dir is /run/vipflow (cli/run.ts) and the daemon
 * listens on control.sock inside it (daemon/daemon.ts).
 */
export const DEFAULT_CONTROL_SOCKET = '/run/vipflow/control.sock';

export const vipOptionsSchema = z.strictObject({
  /** Addresses to require (a `/prefix` suffix is ignored); default every VIP of the instance. */
  addresses: z.array(z.string().min(1)).min(1).optional(),
  /** Instance to check; default the triggering event's instance. */
  instance: z.string().min(1).optional(),
  /** Bound on waiting for the VIPs and their announcement. */
  timeoutMs: z.number().int().positive().default(5000),
  /** Period of the status and address polls. */
  pollMs: z.number().int().positive().max(1000).default(20),
  /** This node's daemon control socket (`<state-dir>/control.sock`). */
  controlSocket: z.string().min(1).default(DEFAULT_CONTROL_SOCKET),
  /** Name of an environment variable holding the socket path; when set it wins over `controlSocket`. */
  controlSocketEnv: z.string().min(1).optional(),
  /** Also require the gratuitous ARP / unsolicited NA burst of this Mastership. Default true. */
  requireAnnouncement: z.boolean().default(true),
});

export type VipOptions = z.input<typeof vipOptionsSchema>;
export type ResolvedVipOptions = z.output<typeof vipOptionsSchema>;

/**
 * Validates options for a step factory.
 * @throws Error naming the first bad field (a programmer mistake in a workflows file).
 */
export function parseVipOptions(options: VipOptions): ResolvedVipOptions {
  return parseNotifierOptions('vip', vipOptionsSchema, options);
}

/** The socket path to use, or an error naming the option when its environment variable is unset. */
export function controlSocketPath(o: ResolvedVipOptions, env: NodeJS.ProcessEnv): { ok: true; path: string } | { ok: false; error: string } {
  if (o.controlSocketEnv === undefined) return { ok: true, path: o.controlSocket };
  const v = env[o.controlSocketEnv];
  if (v === undefined || v.trim() === '') return { ok: false, error: `option controlSocketEnv: environment variable ${o.controlSocketEnv} is not set` };
  return { ok: true, path: v.trim() };
}
