/**
 * What `vipflow run` checks before it loads anything: the capabilities and a
 * usable state directory. Each problem is one line that names what is needed,
 * instead of an EPERM from a raw socket or an EACCES stack trace from
 * `mkdir /run/vipflow` halfway through the start.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { missingCapabilities } from '../infra/host/interfaces.js';

/** Who is running, for messages: "user nobody (uid 65534)". */
export function whoAmI(): string {
  const uid = process.getuid?.() ?? -1;
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    // a uid without a passwd entry
  }
  return name ? `user ${name} (uid ${uid})` : `uid ${uid}`;
}

/** Why the daemon cannot run with this process's capabilities, or undefined when it can. */
export function capabilitiesProblem(missing: readonly string[] = missingCapabilities()): string | undefined {
  if (missing.length === 0) return undefined;
  return (
    `not permitted: ${whoAmI()} lacks ${missing.join(' and ')} (raw VRRP sockets need CAP_NET_RAW, managing addresses needs CAP_NET_ADMIN); ` +
    'run it as root, or as the vipflow systemd service, whose unit grants both with AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN ' +
    '(not setcap on the node binary: that would give these rights to every Node script on the host)'
  );
}

const HINT = 'run it as the vipflow systemd service (RuntimeDirectory=vipflow creates /run/vipflow for it) or give --state-dir a directory this user can write';

/**
 * Why `dir` cannot serve as the state directory (pid file, control socket,
 * event queue), or undefined when it can: it exists and is writable, or the
 * nearest existing parent lets this user create it. Creates nothing.
 */
export function stateDirProblem(dir: string): string | undefined {
  let existing = dir;
  for (;;) {
    try {
      const st = statSync(existing);
      if (!st.isDirectory()) return `state directory ${dir}: ${existing} is not a directory; ${HINT}`;
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES') return `not permitted: ${whoAmI()} cannot reach the state directory ${dir} (permission denied on ${existing}); ${HINT}`;
      if (code !== 'ENOENT' || dirname(existing) === existing) return `state directory ${dir}: ${(err as Error).message}`;
      existing = dirname(existing);
    }
  }
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch {
    return existing === dir
      ? `not permitted: ${whoAmI()} cannot write the state directory ${dir}; ${HINT}`
      : `not permitted: ${whoAmI()} cannot create the state directory ${dir} (${existing} is not writable); ${HINT}`;
  }
  return undefined;
}
