/**
 * The exit codes of every vipflow command, in one place: the help texts and
 * the README's table are written from this list, and scripts (or systemd's
 * RestartPreventExitStatus=) can rely on a code meaning the same everywhere.
 */
export const EXIT = {
  /** The command did what it was asked. */
  ok: 0,
  /** It could not: config errors, NATS or the daemon unreachable, a failed workflow or probe. */
  failed: 1,
  /** The command line is wrong: unknown option, extra argument, bad or missing value. */
  usage: 2,
  /** Not permitted: a capability (CAP_NET_RAW, CAP_NET_ADMIN) or a file permission is missing. */
  notPermitted: 3,
  /** The state directory does not exist: no daemon runs with it. */
  noStateDir: 4,
  /** Whoever read stdout closed it early (`| head`): 128 + SIGPIPE, as a shell reports a tool killed by it. */
  brokenPipe: 141,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const GENERIC: Readonly<Record<ExitCode, string>> = {
  0: 'success',
  1: 'failed',
  2: 'bad usage: unknown option, extra argument, bad or missing value',
  3: 'not permitted: missing capability (CAP_NET_RAW/CAP_NET_ADMIN) or file permission',
  4: 'the state directory does not exist (no daemon runs with it)',
  141: 'stdout was closed early (e.g. piped into head)',
};

/** The "Exit codes:" block of a command's help: its own meaning of a code where it has one, the common one otherwise. */
export function exitCodesHelp(specific: Partial<Record<ExitCode, string>>, codes: readonly ExitCode[] = [0, 1, 2, 141]): string {
  const all = [...new Set([...codes, ...(Object.keys(specific).map(Number) as ExitCode[])])].sort((a, b) => a - b);
  return ['', 'Exit codes:', ...all.map((c) => `  ${String(c).padStart(3)}  ${specific[c] ?? GENERIC[c]}`)].join('\n');
}
