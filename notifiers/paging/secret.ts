/**
 * Secrets in notifier options. A secret is never written in code: the option takes a
 * literal value (from the user's own config), or `...Env` (an environment variable's
 * name), or `...File` (a path read at run time, surrounding whitespace removed). The
 * value is resolved at each use, so a rotated file or variable takes effect at the next
 * run, and it never appears in logs, intentions or error messages.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

export const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

/** Where one secret comes from, once the options are validated. */
export interface SecretRef {
  value?: string | undefined;
  env?: string | undefined;
  file?: string | undefined;
}

type Opt = z.ZodOptional<z.ZodString>;
export type SecretShape<K extends string> = { [P in K | `${K}Env` | `${K}File`]: Opt };

/** The zod shape of the flat fields `<key>`, `<key>Env`, `<key>File`. */
export function secretFields<K extends string>(key: K): SecretShape<K> {
  return {
    [key]: z.string().min(1).optional(),
    [`${key}Env`]: envName.optional(),
    [`${key}File`]: z.string().min(1).optional(),
  } as SecretShape<K>;
}

/** The flat fields of `key` in validated options, as a SecretRef (undefined when none is set). */
export function secretOf(options: Readonly<Record<string, unknown>>, key: string): SecretRef | undefined {
  const ref = { value: options[key], env: options[`${key}Env`], file: options[`${key}File`] } as SecretRef;
  return ref.value === undefined && ref.env === undefined && ref.file === undefined ? undefined : ref;
}

/** For superRefine: at most one source of `key`, and at least one when `required`. */
export function checkSecretFields(
  options: Readonly<Record<string, unknown>>,
  key: string,
  required: boolean,
  ctx: z.RefinementCtx,
  path: (string | number)[] = [],
): void {
  const given = [key, `${key}Env`, `${key}File`].filter((k) => options[k] !== undefined);
  if (given.length > 1) ctx.addIssue({ code: 'custom', path: [...path, given[1]!], message: `give only one of ${given.join(', ')}` });
  if (required && given.length === 0) ctx.addIssue({ code: 'custom', path: [...path, key], message: `required: give ${key}, ${key}Env or ${key}File` });
}

export type SecretResult = { ok: true; value: string } | { ok: false; error: string };

/**
 * Reads the secret now.
 * @param option the option's name as the user wrote it (e.g. `routingKey`), for messages.
 * @returns the value, or an error naming the option and what to check (never the value).
 */
export async function resolveSecret(ref: SecretRef, option: string): Promise<SecretResult> {
  if (ref.value !== undefined) return { ok: true, value: ref.value };
  if (ref.env !== undefined) {
    const v = process.env[ref.env];
    return v !== undefined && v !== ''
      ? { ok: true, value: v }
      : { ok: false, error: `option ${option}Env: environment variable ${ref.env} is not set or empty` };
  }
  if (ref.file !== undefined) {
    try {
      const v = (await readFile(ref.file, 'utf8')).trim();
      return v !== '' ? { ok: true, value: v } : { ok: false, error: `option ${option}File: ${ref.file} is empty` };
    } catch (e) {
      return { ok: false, error: `option ${option}File: cannot read ${ref.file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` };
    }
  }
  return { ok: false, error: `option ${option}: not set` };
}

/** Where a secret comes from, for intentions and logs (never its value). */
export function secretSource(ref: SecretRef | undefined): string {
  if (!ref) return 'none';
  return ref.env !== undefined ? `env ${ref.env}` : ref.file !== undefined ? `file ${ref.file}` : 'literal';
}

/** Like resolveSecret, but throws the error (inside a step, where a throw fails the step). */
export async function secretOrThrow(ref: SecretRef, option: string): Promise<string> {
  const r = await resolveSecret(ref, option);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** Validates `input` with `schema`, or throws an Error naming the bad fields (a programmer mistake in a workflows file). */
export function parseOptions<S extends z.ZodType>(what: string, schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(options)'}: ${i.message}`);
  throw new Error(`${what} options: ${issues.join('; ')}`);
}
