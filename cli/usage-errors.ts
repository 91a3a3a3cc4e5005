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

/** Short flags that meant something else before every command shared one meaning: what to write instead. */
const RETIRED: Readonly<Record<string, string>> = {
  'vipflow events -f': '-f is --config in every command; write --follow',
};

/** commander's error as one line: "vipflow run: unknown option '--x' (see 'vipflow run --help')". */
export function errorLine(cmd: CommandUnknownOpts, message: string): string {
  let text = message
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ');
  // commander counts the extra arguments; the user wants to see them.
  if (/^too many arguments/.test(text)) text = `unexpected argument '${cmd.args.slice(cmd.registeredArguments.length).join(' ')}'`;
  const unknown = /^unknown option '([^']+)'/.exec(text)?.[1];
  const retired = unknown === undefined ? undefined : RETIRED[`${commandPath(cmd)} ${unknown}`];
  if (retired !== undefined) text = `unknown option '${unknown}': ${retired}`;
  return `${commandPath(cmd)}: ${text} (see '${commandPath(cmd)} --help')\n`;
}
