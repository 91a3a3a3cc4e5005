/**
 * IPv6 sources that are not there yet. An IPv6 instance planned while its
 * interface had no usable link-local address (the link was down, or the
 * address still tentative) starts in Fault; it is given the address as soon
 * as the interface has one (link-monitor.ts reports address changes).
 */
import { networkInterfaces } from 'node:os';
import type { Logger } from '../core/logger.js';
import type { VrrpInstance } from '../config/model.js';
import type { InstanceRunner } from '../infra/vrrp/instance-runner.js';

/** At start: the instance waits in Fault for its source. */
export function warnSourcePending(log: Logger, inst: VrrpInstance): void {
  log.warn(
    { instance: inst.name, interface: inst.interface },
    'no usable IPv6 link-local address on the interface yet: the instance waits in Fault until it has one',
  );
}

export function sourcesPending(runners: Iterable<InstanceRunner>): boolean {
  for (const runner of runners) if (runner.sourcePending) return true;
  return false;
}

/** IPv6 instances waiting (in Fault) for a link-local source get one as soon as their interface has a usable one. */
export function resolvePendingSources(runners: Iterable<InstanceRunner>, linkLocalOf: (iface: string) => string | undefined, log: Logger): void {
  for (const runner of runners) {
    if (!runner.sourcePending) continue;
    const address = linkLocalOf(runner.plan.interface);
    if (address === undefined) continue;
    const r = runner.resolveSource(address);
    if (!r.ok)
      log.error(
        { instance: runner.plan.name, code: r.code, err: r.message },
        'cannot open the VRRP socket for the new link-local source: the instance stays in Fault',
      );
  }
}

/**
 * Without netlink there are no address flags: a link-local address that libuv
 * lists (it lists running interfaces only) is taken as usable.
 */
export function listedLinkLocal(): (iface: string) => string | undefined {
  const all = networkInterfaces();
  return (name) => all[name]?.find((a) => a.family === 'IPv6' && /^fe[89ab][0-9a-f]:/i.test(a.address))?.address.replace(/%.*$/, '');
}
