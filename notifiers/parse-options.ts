/** Option validation shared by the built-in notifiers' step factories. */
import type { z } from 'zod';

/**
 * Parses a notifier's options with its schema (defaults applied).
 * @throws Error `<notifier> notifier: option '<field>': <problem>`: bad options in a
 *   workflows file are a programmer mistake, reported when the file loads.
 */
export function parseNotifierOptions<S extends z.ZodType>(notifier: string, schema: S, options: z.input<S>): z.output<S> {
  const r = schema.safeParse(options);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue?.path.length ? issue.path.join('.') : '(options)';
  throw new Error(`${notifier} notifier: option '${field}': ${issue?.message ?? 'invalid'}`);
}
