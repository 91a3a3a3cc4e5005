#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1 --no-memory-reducer
/**
 * The `vipflow` command: cli/program.ts parses, cli/definitions.ts declares the
 * subcommands, each subcommand's module runs it. Here: what no command should
 * have to think about, a closed stdout and an unexpected error, both as one
 * line and a documented exit code instead of a stack trace.
 *
 * The node flags in the first line (read only at start, so they cannot be
 * set from here):
 * - a daemon's young generation grows to 16 MiB per semi-space with the
 *   garbage of many instances' adverts, about 25 MiB of RSS at 1,000
 *   instances, and its objects live for one advert;
 * - Node starts 4 helper threads for V8 (concurrent compiling and GC), and
 *   each keeps a malloc arena of its own in use: one thread is enough for a
 *   daemon that runs on one thread, and saves about 4.5 MiB of RSS at 1,000
 *   instances (smaps: 2.9 MiB of thread arenas against 7.6).
 * bench/footprint.ts runs the daemon with the flags of this line, as
 * /usr/bin/vipflow (a link here) does.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT } from './exit-codes.js';
import { runProgram } from './program.js';

export async function main(argv: string[]): Promise<number> {
  return runProgram(argv);
}

/**
 * `vipflow events | head -1`: once the reader is gone nothing more can be said,
 * so exit at once and quietly with 141 (what a shell reports for a tool killed
 * by SIGPIPE, so `set -o pipefail` scripts see the same as with cat).
 */
function exitQuietlyOnBrokenPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.brokenPipe);
    process.stderr.write(`vipflow: cannot write output: ${err.message}\n`);
    process.exit(EXIT.failed);
  });
}

/** An error no command turned into a message: one line, with what the system said; the stack only when debugging. */
export function unexpectedErrorLine(err: unknown, debug: boolean): { line: string; code: number } {
  const e = err as NodeJS.ErrnoException | undefined;
  const message = err instanceof Error ? err.message : String(err);
  const denied = e?.code === 'EACCES' || e?.code === 'EPERM';
  const line = denied ? `vipflow: not permitted: ${message}` : `vipflow: ${message}`;
  return { line: debug && err instanceof Error && err.stack ? `${line}\n${err.stack}` : line, code: denied ? EXIT.notPermitted : EXIT.failed };
}

const invokedDirectly = (() => {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  exitQuietlyOnBrokenPipe(process.stdout);
  exitQuietlyOnBrokenPipe(process.stderr);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const level = process.env.VIPFLOW_LOG_LEVEL;
      const r = unexpectedErrorLine(err, level === 'debug' || level === 'trace');
      process.stderr.write(r.line + '\n');
      process.exitCode = r.code;
    },
  );
}
