/**
 * Command-line parsing shared by the subcommands, on node:util's parseArgs:
 * unknown options are errors with the command's usage, not ignored.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type ParsedArgs<T extends ParseArgsConfig['options']> = ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; strict: true }>>;

/** Parses argv or returns the error text (to print with the usage, exit 2). */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
): { ok: true; values: ParsedArgs<T>['values']; positionals: string[] } | { ok: false; error: string } {
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { ok: true, values: parsed.values, positionals: parsed.positionals };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
