/** Whether the kernel has IPVS, apart from the IPVS backend so the daemon can ask without loading it. */
import { existsSync } from 'node:fs';

/** True when the running kernel has IPVS (built in or its module loaded). */
export function ipvsAvailable(procFile = '/proc/net/ip_vs'): boolean {
  return existsSync(procFile);
}
