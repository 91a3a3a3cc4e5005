/**
 * What keepalived 2.2.7 drops from a vrrp_instance once it is read
 * (vrrp.c vrrp_complete_instance, vrrp_data.c), done the same way here with a
 * warning each.
 *
 * A `track_interface` naming the instance's own interface is ignored
 * ("Ignoring track_interface since own interface"): that interface going
 * down puts the instance in Fault anyway, and its weight does not apply.
 *
 * An instance runs one address family. keepalived 2.2.7 takes it from the
 * first address that sets it and then drops a virtual_ipaddress of the other
 * family ("address family must match VRRP instance - ignoring",
 * vrrp_data.c alloc_vrrp_vip) and a unicast_peer of the other family ("MUST
 * be of the same family !!! Skipping...", alloc_vrrp_unicast_peer): neither
 * is added nor advertised. vipflow drops them too, with a warning, and takes
 * the family as its model does (the first virtual_ipaddress, else
 * unicast_src_ip, else the first peer), which is keepalived's choice for
 * every file that lists its addresses before its peers.
 */
import { ipFamily } from '../net.js';
import type { Mapper, Raw } from './mapper.js';
import type { Token } from './reader.js';

function list(raw: Raw, key: string): Raw[] {
  const v = raw[key];
  return Array.isArray(v) ? (v as Raw[]) : [];
}

export function dropOtherFamilyAddresses(m: Mapper, raw: Raw, where: (path: string) => Token | undefined): void {
  list(raw, 'vrrpInstances').forEach((inst, k) => {
    const vips = list(inst, 'virtualIpaddress');
    const peers = list(inst, 'unicastPeers');
    const first = (vips[0]?.address ?? inst.unicastSrcIp ?? peers[0]?.address) as string | undefined;
    const family = first === undefined ? undefined : ipFamily(first);
    if (family === undefined) return;
    const keep = (key: string, items: Raw[], says: string, what: string): void => {
      const kept = items.filter((x, i) => {
        const f = ipFamily(String(x.address));
        if (f === undefined || f === family) return true;
        const tok = where(`vrrpInstances.${k}.${key}.${i}`);
        if (tok)
          m.sink.warning(
            tok,
            `${what} ${String(x.address)} is IPv${f} but vrrp_instance ${String(inst.name)} is IPv${family}; ignored, as keepalived does ("${says}")`,
            {
              text: tok.text,
            },
          );
        return false;
      });
      if (kept.length !== items.length) inst[key] = kept;
    };
    keep('virtualIpaddress', vips, 'address family must match VRRP instance - ignoring', 'virtual_ipaddress');
    keep('unicastPeers', peers, 'unicast peer address MUST be of the same family !!! Skipping...', 'unicast_peer');
  });
}

export function dropOwnInterfaceTracking(m: Mapper, raw: Raw, where: (path: string) => Token | undefined): void {
  list(raw, 'vrrpInstances').forEach((inst, k) => {
    const own = inst.interface;
    const tracked = list(inst, 'trackInterfaces');
    if (own === undefined || !tracked.some((t) => t.name === own)) return;
    inst.trackInterfaces = tracked.filter((t, i) => {
      if (t.name !== own) return true;
      const tok = where(`vrrpInstances.${k}.trackInterfaces.${i}`);
      if (tok)
        m.sink.warning(
          tok,
          `track_interface ${String(own)} is vrrp_instance ${String(inst.name)}'s own interface; ignored, as keepalived does ("Ignoring track_interface since own interface")`,
          {
            text: tok.text,
          },
        );
      return false;
    });
  });
}
