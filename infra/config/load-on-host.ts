/**
 * A load checked against this host, as the daemon loads: the host checks and
 * the vrrp_scripts keepalived would disable (missing, not executable, no user)
 * come from one set of host facts, so each script file is stat'ed and each user
 * looked up once, on the thread doing the load (the configuration worker for
 * keepalived.conf), never again on the daemon's thread.
 */
import { unrunnableScripts, withoutScripts } from '../../config/host-check.js';
import { loadConfig, type LoadConfigOptions, type LoadConfigResult } from '../../config/load.js';
import { hostFactsFrom } from '../host/host-facts.js';

export async function loadOnHost(path: string, options: LoadConfigOptions, hostInterfaces: Record<string, string[]> | undefined): Promise<LoadConfigResult> {
  if (hostInterfaces === undefined) return loadConfig(path, options);
  const host = hostFactsFrom(hostInterfaces);
  const loaded = await loadConfig(path, { ...options, host });
  if (loaded.model === undefined || loaded.model.vrrpScripts.length === 0) return loaded;
  const names = unrunnableScripts(loaded.model, host);
  return names.length === 0 ? loaded : { ...loaded, model: withoutScripts(loaded.model, names), disabledScripts: names };
}
