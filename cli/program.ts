/**
 * The `vipflow` program: the root command over cli/commands.ts (definitions.ts with their actions), and the
 * behaviour every command shares: help on stdout, errors as one line on
 * stderr naming the command, exit 2 for any usage error.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { allCommands } from './commands.js';
import { EXIT, exitCodesHelp } from './exit-codes.js';
import { errorLine } from './usage-errors.js';

/** The version in the package.json next to dist/ (or the sources, under tsx). */
export function packageVersion(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'vipflow' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not this one
    }
  }
  return 'unknown';
}

/** Applies the shared behaviour to a command and, since addCommand does not inherit settings, to all below it. */
function configure(cmd: CommandUnknownOpts): void {
  cmd
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => void process.stdout.write(s),
      // commander writes help here only when it prints help instead of running (a missing subcommand): help goes to stdout.
      writeErr: (s) => void process.stdout.write(s),
      outputError: (s) => void process.stderr.write(errorLine(cmd, s)),
    })
    .helpOption('-h, --help', 'show this help');
  for (const sub of cmd.commands) configure(sub);
}

/** The whole command tree; `done` receives the exit code of the action that ran. */
export function buildProgram(done: (code: number) => void): CommandUnknownOpts {
  const program = new Command('vipflow')
    .description('vipflow: a keepalived-compatible VRRP daemon with typed events and workflows.')
    .usage('<command> [options]')
    .version(packageVersion(), '-V, --version', 'print the version')
    // Root options only before the command: after it, -V is genhash's --use-virtualhost.
    .enablePositionalOptions()
    .helpCommand('help [command]', 'show help for a command')
    .addHelpText(
      'after',
      "\nRun 'vipflow <command> --help' for a command's options.\n" +
        exitCodesHelp({ 2: 'bad usage (no command or an unknown one, unknown option, extra argument, bad value)' }, [0, 1, 2, 3, 4, 141]) +
        '\n\nEnvironment: VIPFLOW_LOG_LEVEL (a --log-level given wins), VIPFLOW_NATS_URL, VIPFLOW_CLUSTER, VIPFLOW_NODE_ID, VIPFLOW_LB,\n' +
        'VIPFLOW_WORKFLOWS, VIPFLOW_SPLIT_BRAIN: defaults of the options that name them; NO_COLOR: no colour in --pretty logs.',
    ) as unknown as CommandUnknownOpts;
  for (const c of allCommands(done)) program.addCommand(c as unknown as CommandUnknownOpts);
  configure(program);
  return program;
}

/**
 * Parses argv and runs the command; resolves to the exit code. commander's
 * own exits (help, version, usage errors) come back as CommanderErrors.
 */
export async function runProgram(argv: readonly string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
    // `vipflow help`: asked for. Help printed instead of running (no command, or workflows without its subcommand): a usage error.
    if (err.code === 'commander.help') return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return EXIT.usage;
  }
}
