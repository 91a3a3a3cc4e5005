/**
 * IPv4 advert sources that follow the interface's addresses, as keepalived
 * 2.2.7 follows them (core/keepalived_netlink.c, RTM_DELADDR / RTM_NEWADDR):
 * - the address an instance sends from is deleted and the interface has
 *   another: the instance sends from that one, without a fault;
 * - none is left: the instance goes to Fault (SOURCE_ADDRESS_TRACK down);
 * - an address comes back: the instance takes it and leaves the Fault.
 * A configured unicast_src_ip / mcast_src_ip is followed only with
 * track_src_ip, and never moved: Fault while it is gone.
 */
import { canonicalIp } from '../core/address.js';
import type { Logger } from '../core/logger.js';
import type { InstanceRunner } from '../infra/vrrp/instance-runner.js';
import { SOURCE_ADDRESS_TRACK } from '../infra/vrrp/plan.js';

/**
 * What to do with one instance's source, given the interface's IPv4 addresses
 * now and the VIPs (canonical) of every instance. Pure.
 * The VIPs are addresses of the interface too, but never a new source:
 * keepalived sends from the interface's own address. The source itself may be
 * one (an address owner's VIP is the interface's address).
 */
export function sourceDecision(
  watch: 'interface' | 'fixed',
  source: string,
  listed: readonly string[],
  vips: ReadonlySet<string>,
): { kind: 'keep' } | { kind: 'move'; address: string } | { kind: 'lost' } {
  const want = canonicalIp(source);
  if (listed.some((a) => canonicalIp(a) === want)) return { kind: 'keep' };
  const other = listed.find((a) => !vips.has(canonicalIp(a)));
  if (watch === 'interface' && other !== undefined) return { kind: 'move', address: other };
  return { kind: 'lost' };
}

/**
 * Applies the rule to every running instance with a followed source.
 * @param ipv4Of the interface's IPv4 addresses now; undefined when the interface is unknown (then nothing changes: link tracking covers it)
 */
export function followSourceAddresses(runners: Iterable<InstanceRunner>, ipv4Of: (iface: string) => string[] | undefined, log: Logger): void {
  const all = [...runners];
  const vips = new Set(all.flatMap((r) => r.plan.vips.map((v) => canonicalIp(v.address))));
  for (const runner of all) {
    const watch = runner.plan.sourceWatch;
    if (watch === undefined) continue;
    const listed = ipv4Of(runner.plan.interface);
    if (listed === undefined) continue;
    const wasDown = runner.tracksDown().includes(SOURCE_ADDRESS_TRACK);
    const d = sourceDecision(watch, runner.plan.source, listed, vips);
    const ctx = { instance: runner.plan.name, interface: runner.plan.interface, source: runner.plan.source };
    if (d.kind === 'move') {
      const r = runner.moveSource(d.address);
      if (!r.ok) {
        log.error({ ...ctx, address: d.address, code: r.code, err: r.message }, 'cannot send from the interface’s other address: the instance goes to Fault');
        if (!wasDown) runner.track(SOURCE_ADDRESS_TRACK, false);
        continue;
      }
      log.warn({ ...ctx, address: d.address }, 'advert source address removed: sending from the interface’s other address');
    }
    const up = d.kind !== 'lost';
    if (up === !wasDown) continue;
    if (up) log.info({ ...ctx }, 'advert source address back: leaving Fault');
    else log.warn({ ...ctx }, 'advert source address removed from the interface: the instance goes to Fault until it returns');
    runner.track(SOURCE_ADDRESS_TRACK, up);
  }
}
