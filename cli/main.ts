#!/usr/bin/env node
/**
 * The `vipflow` command. Each subcommand lives in its own module under cli/
 * and is loaded only when invoked, so `vipflow status` does not pay for the
 * daemon's imports and a broken optional part cannot stop the others.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { COMMANDS, type CommandEntry } from './commands.js';

const commands: Record<string, CommandEntry> = {
  help: { summary: 'show this help', load: async () => ({ run: async () => (printHelp(), 0) }) },
  ...COMMANDS,
};

function printHelp(): void {
  const lines = ['usage: vipflow <command> [options]', '', 'commands:'];
  for (const [name, entry] of Object.entries(commands)) lines.push(`  ${name.padEnd(16)} ${entry.summary}`);
  process.stdout.write(lines.join('\n') + '\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    printHelp();
    return name === undefined ? 2 : 0;
  }
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`vipflow: unknown command '${name}' (try 'vipflow help')\n`);
    return 2;
  }
  const mod = await entry.load();
  return mod.run(rest);
}

const invokedDirectly = (() => {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`vipflow: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
