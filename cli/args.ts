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
): { ok: true; values: ParsedArgs<T>['values']; positionals: string[] } | { ok: false; error: string; help?: boolean } {
  if (argv.includes('-h') || argv.includes('--help')) return { ok: false, error: 'help requested', help: true };
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { ok: true, values: parsed.values, positionals: parsed.positionals };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** What a command prints and returns when its arguments did not parse: usage on stdout and 0 for --help, else the error and usage on stderr and 2. */
export function argsFailure(command: string, usage: string, r: { error: string; help?: boolean }): number {
  if (r.help) {
    process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`);
    return 0;
  }
  process.stderr.write(`vipflow ${command}: ${r.error}\n${usage}${usage.endsWith('\n') ? '' : '\n'}`);
  return 2;
}
