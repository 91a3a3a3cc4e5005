/** Whether a PID names a process, without touching it. */

/**
 * True while a process with this PID exists (a zombie included). kill(pid, 0)
 * checks without signalling; EPERM means it exists but belongs to someone we may
 * not signal.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
