/** Options of the nginx notifier (pure: no I/O). */
import { z } from 'zod';
import { parseNotifierOptions } from '../parse-options.js';

const path = z.string().min(1);

export const nginxOptionsSchema = z.strictObject({
  /** The nginx executable (PATH is searched). */
  binary: path.default('nginx'),
  /** Configuration file, passed as `-c` to `nginx -t`; nginx's compiled-in default when absent. */
  config: path.optional(),
  /** Prefix path, passed as `-p` (an instance with its own tree, as in tests). */
  prefix: path.optional(),
  /** Global directives, passed as `-g` (must match what the running master was started with). */
  globals: z.string().min(1).optional(),
  /** The running master's pid file: the reload signal goes to this PID. Debian's default. */
  pidFile: path.default('/run/nginx.pid'),
  /** Asked once the new workers run; must answer with an `expectStatus` status. No health check when absent. */
  healthUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Accepted health statuses; default any 2xx. */
  expectStatus: z.array(z.number().int().min(100).max(599)).min(1).optional(),
  /** When set, the health answer's body must contain this text (e.g. a version the new config serves). */
  expectBody: z.string().optional(),
  /** Bound on `nginx -t`. */
  testTimeoutMs: z.number().int().positive().default(10_000),
  /** Bound on waiting for the new worker generation and a healthy answer after the reload signal. */
  verifyTimeoutMs: z.number().int().positive().default(10_000),
  /** Period of the /proc and health polls while verifying. */
  pollMs: z.number().int().positive().max(1000).default(20),
  /** Bound on one health request. */
  healthTimeoutMs: z.number().int().positive().default(2000),
});

export type NginxOptions = z.input<typeof nginxOptionsSchema>;
export type ResolvedNginxOptions = z.output<typeof nginxOptionsSchema>;

/**
 * Validates options for a step factory.
 * @throws Error naming the first bad field (a programmer mistake in a workflows file).
 */
export function parseNginxOptions(options: NginxOptions): ResolvedNginxOptions {
  return parseNotifierOptions('nginx', nginxOptionsSchema, options);
}
