/**
 * What the daemon and its configuration worker say to each other, and the
 * sharing rule: a virtual server equal (as data) to one of the base model's
 * travels as that one's index, and the daemon puts its own object there. A
 * reload that changes one real server of 37,000 then copies one virtual
 * server across threads instead of all of them, and the checker plan reuses
 * the unchanged ones by identity.
 */
import type { LoadConfigOptions, LoadConfigResult } from '../../config/load.js';
import type { VipflowConfig, VirtualServer } from '../../config/model.js';
import { sameData } from '../../core/same-data.js';

export interface LoadRequest {
  id: number;
  path: string;
  options: Pick<LoadConfigOptions, 'configIds' | 'format' | 'lbBackend'>;
  /** the host's interfaces (ADDR/PREFIX by name): present when the config is checked against this host */
  hostInterfaces?: Record<string, string[]>;
  /** id of a model this worker sent that the daemon still holds */
  base?: number;
}

/** A model whose virtual servers are either data or an index into the base's. */
export type ModelTransfer =
  { config: VipflowConfig; base?: undefined } | { config: Omit<VipflowConfig, 'virtualServers'>; base: number; virtualServers: (VirtualServer | number)[] };

export type LoadReply =
  | { id: number; result: Omit<LoadConfigResult, 'model'>; model?: ModelTransfer; error?: undefined }
  | { id: number; error: string; result?: undefined; model?: undefined };

function keyOf(vs: VirtualServer): string {
  return `${JSON.stringify(vs.target)}/${vs.protocol}`;
}

/** Each virtual server as an index into `base` when one there is the same data (same position first). */
export function encodeVirtualServers(next: readonly VirtualServer[], base: readonly VirtualServer[]): (VirtualServer | number)[] {
  let byKey: Map<string, number[]> | undefined;
  return next.map((vs, i) => {
    if (i < base.length && sameData(vs, base[i])) return i;
    if (byKey === undefined) {
      byKey = new Map();
      base.forEach((b, j) => {
        const k = keyOf(b);
        const list = byKey!.get(k);
        if (list) list.push(j);
        else byKey!.set(k, [j]);
      });
    }
    const j = byKey.get(keyOf(vs))?.find((c) => sameData(vs, base[c]));
    return j ?? vs;
  });
}

/** The model back from a transfer; undefined when an index does not exist in `base` (the caller loads again in full). */
export function decodeModel(t: ModelTransfer, base: VipflowConfig | undefined): VipflowConfig | undefined {
  if (t.base === undefined) return t.config;
  if (base === undefined) return undefined;
  const virtualServers: VirtualServer[] = [];
  for (const v of t.virtualServers) {
    if (typeof v !== 'number') virtualServers.push(v);
    else {
      const shared = base.virtualServers[v];
      if (shared === undefined) return undefined;
      virtualServers.push(shared);
    }
  }
  return { ...t.config, virtualServers } as VipflowConfig;
}
