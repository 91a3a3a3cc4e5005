/**
 * The vrrp_scripts keepalived would disable on this host (config/host-check.ts
 * says which): the daemon runs the model without them, as keepalived does,
 * instead of running a check that can only fail and fault its instances.
 * check-config and the load already warned about each.
 */
import type { LoadConfigResult } from '../config/load.js';
import { unrunnableScripts, withoutScripts } from '../config/host-check.js';
import type { Logger } from '../core/logger.js';
import { readHostFacts } from '../infra/host/host-facts.js';
import type { HostInterfaces } from '../infra/host/types.js';

export function dropUnrunnableScripts(loaded: LoadConfigResult, log: Logger, interfaces?: HostInterfaces): LoadConfigResult {
  const model = loaded.model;
  if (model === undefined || model.vrrpScripts.length === 0) return loaded;
  const names = unrunnableScripts(model, interfaces ? readHostFacts(interfaces) : readHostFacts());
  if (names.length === 0) return loaded;
  log.warn({ scripts: names }, 'vrrp_scripts that cannot run on this host are disabled, as keepalived disables them: their instances run without them');
  return { ...loaded, model: withoutScripts(model, names) };
}
