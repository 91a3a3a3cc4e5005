/**
 * Adds and removes an instance's virtual addresses through rtnetlink
 * (infra/host/addresses.ts), about 100x faster than running `ip addr` (bench/address-change.ts),
 * which matters on the failover path.
 */
import { interfaceInfo } from '../../wire/socket/index.js';
import { addAddress, removeAddress } from './addresses.js';
import type { Logger } from '../../core/logger.js';
import type { PlannedVip } from './types.js';

export interface AddressChangeResult {
  address: string;
  dev: string;
  /** 'done', or already in the wanted state (EEXIST on add, EADDRNOTAVAIL on delete). */
  outcome: 'done' | 'already' | 'failed';
  code?: string;
}

export interface VipAddressOps {
  add(vips: readonly PlannedVip[]): AddressChangeResult[];
  remove(vips: readonly PlannedVip[]): AddressChangeResult[];
}

/** Interface index by name, cached; re-resolved after a failure in case the interface was re-created. */
function ifindexCache() {
  const cache = new Map<string, number>();
  return {
    get(dev: string): number | undefined {
      let idx = cache.get(dev);
      if (idx === undefined) {
        const info = interfaceInfo(dev);
        if (!info.ok) return undefined;
        idx = info.value.index;
        cache.set(dev, idx);
      }
      return idx;
    },
    forget(dev: string) {
      cache.delete(dev);
    },
  };
}

/**
 * How long an IPv6 VIP's add may wait for the kernel to deliver it here. The
 * gratuitous NA follows the add at once, and a client that follows it before
 * the local route is in loses its packet (a SYN: a second's retry). The
 * wait is usually 10-20 µs (the addrconf work runs when the thread yields);
 * the bound only keeps a stuck kernel from holding the event loop.
 */
export const IPV6_VIP_WAIT_LOCAL_US = 5000;

export function netlinkVipOps(log: Logger): VipAddressOps {
  const ifindex = ifindexCache();
  const change = (op: 'add' | 'del', vip: PlannedVip): AddressChangeResult => {
    const index = ifindex.get(vip.dev);
    if (index === undefined) return { address: vip.address, dev: vip.dev, outcome: 'failed', code: 'ENODEV' };
    const spec = {
      ifindex: index,
      family: vip.family,
      address: vip.address,
      prefixLen: vip.prefix,
      // A VIP moves between routers: duplicate address detection would hold
      // it tentative (unusable) for a second after every failover.
      noDad: vip.family === 6,
      ...(op === 'add' && vip.family === 6 ? { waitLocalUs: IPV6_VIP_WAIT_LOCAL_US } : {}),
      ...(vip.label ? { label: vip.label } : {}),
    };
    const r = op === 'add' ? addAddress(spec) : removeAddress(spec);
    if (r.ok) {
      if (r.notYetLocal)
        log.warn(
          { vip: vip.address, dev: vip.dev, waitedUs: IPV6_VIP_WAIT_LOCAL_US },
          'VIP added, but the kernel did not deliver it here yet: a client that follows the announcement at once may be dropped',
        );
      return { address: vip.address, dev: vip.dev, outcome: 'done' };
    }
    if ((op === 'add' && r.reason === 'exists') || (op === 'del' && r.reason === 'not-found'))
      return { address: vip.address, dev: vip.dev, outcome: 'already' };
    if (r.reason === 'no-device') ifindex.forget(vip.dev);
    log.error({ vip: vip.address, dev: vip.dev, op, code: r.code }, 'address change failed');
    return { address: vip.address, dev: vip.dev, outcome: 'failed', code: r.code };
  };
  return {
    add: (vips) => vips.map((v) => change('add', v)),
    remove: (vips) => vips.map((v) => change('del', v)),
  };
}
