/**
 * How a usage error reads, for every command: one line naming the command,
 * the problem, and where the help is.
 */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';

/** "vipflow workflows test" for a subcommand. */
export function commandPath(cmd: CommandUnknownOpts): string {
  const names: string[] = [];
  for (let c: CommandUnknownOpts | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** commander's error as one line: "vipflow run: unknown option '--x' (see 'vipflow run --help')". */
export function errorLine(cmd: CommandUnknownOpts, message: string): string {
  let text = message
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ');
  // commander counts the extra arguments; the user wants to see them.
  if (/^too many arguments/.test(text)) text = `unexpected argument '${cmd.args.slice(cmd.registeredArguments.length).join(' ')}'`;
  return `${commandPath(cmd)}: ${text} (see '${commandPath(cmd)} --help')\n`;
}
