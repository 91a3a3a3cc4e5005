/**
 * Which processes a vrrp_track_process counts, as keepalived 2.2.7 decides it.
 *
 * Without `full_command` (and without parameters or param_match, which imply
 * it) the name is compared with the kernel's comm (at most 15 characters, as
 * in /proc/PID/comm). With it, the name is compared with argv[0] exactly, and
 * the parameters, when matched, are compared as the raw NUL-separated bytes
 * that follow argv[0] in /proc/PID/cmdline:
 * - exact: the arguments are exactly the configured ones;
 * - partial: the configured arguments are the first arguments;
 * - initial: as partial, but the last configured argument need only be a
 *   prefix of the process's argument in that position.
 * Zombies are never counted.
 */

export interface ProcessMatcher {
  /** `process` word: a comm name, or argv[0] with full_command. */
  name: string;
  fullCommand: boolean;
  paramMatch: 'none' | 'exact' | 'partial' | 'initial';
  /** The configured parameters (after the name on the `process` line). */
  params: readonly string[];
}

/** One process as /proc shows it. */
export interface ProcessSample {
  pid: number;
  ppid: number;
  comm: string;
  /** /proc/PID/cmdline as read (NUL-separated, NUL-terminated); '' for kernel threads and zombies. */
  cmdline: string;
  zombie: boolean;
}

/**
 * The matcher keepalived builds from a vrrp_track_process block: parameters on
 * the `process` line imply full_command and (unless param_match says otherwise)
 * exact matching; param_match alone implies full_command too.
 */
export function processMatcher(def: {
  process: string;
  parameters: readonly string[];
  paramMatch?: 'exact' | 'partial' | 'initial' | undefined;
  fullCommand: boolean;
}): ProcessMatcher {
  const paramMatch = def.paramMatch ?? (def.parameters.length > 0 ? 'exact' : 'none');
  return { name: def.process, fullCommand: def.fullCommand || paramMatch !== 'none', paramMatch, params: def.parameters };
}

export function matchesProcess(m: ProcessMatcher, p: ProcessSample): boolean {
  if (p.zombie) return false;
  if (!m.fullCommand) return p.comm === m.name;
  const end = p.cmdline.indexOf('\0');
  const argv0 = end < 0 ? p.cmdline : p.cmdline.slice(0, end);
  if (argv0 !== m.name) return false;
  if (m.paramMatch === 'none') return true;
  const actual = end < 0 ? '' : p.cmdline.slice(end + 1);
  if (m.params.length === 0) return m.paramMatch === 'exact' ? actual.length === 0 : true;
  const wanted = m.params.map((x) => `${x}\0`).join('');
  if (m.paramMatch === 'exact') return actual === wanted;
  if (m.paramMatch === 'partial') return actual.startsWith(wanted);
  return actual.startsWith(wanted.slice(0, -1));
}
