/**
 * use_vmac as keepalived 2.2.7 does it (vrrp_vmac.c, vrrp_if_config.c): a
 * macvlan in private mode on the instance's interface, carrying the RFC 5798
 * virtual MAC 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6). The
 * VIPs without an explicit `dev` go on it and adverts leave from it (or from
 * the base interface with vmac_xmit_base), so a client's neighbour entry for a
 * VIP holds a MAC that moves with the Master and needs no new ARP after a
 * failover. Pure: names, MAC and sysctls are decided here, applied by
 * infra/host/vmac-link.ts.
 */
import type { VrrpInstance } from '../../config/model.js';
import type { InstancePlan } from './plan.js';
import type { SysctlSetting, VmacPlan } from '../host/types.js';

export type { SysctlSetting, VmacPlan };

/** Linux IFNAMSIZ minus the terminating NUL. */
const MAX_IFNAME = 15;

/** RFC 5798 §7.3: the virtual router MAC address. */
export function virtualMac(family: 4 | 6, vrid: number): string {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `00:00:5e:00:${family === 4 ? '01' : '02'}:${hex(vrid)}`;
}

/**
 * The VMAC's MAC: the RFC 5798 one, or a configured `use_vmac` address;
 * keepalived completes a five-octet one with the VRID.
 */
export function vmacAddress(configured: string | undefined, family: 4 | 6, vrid: number): string {
  if (!configured) return virtualMac(family, vrid);
  const octets = configured
    .toLowerCase()
    .split(':')
    .filter((o) => o !== '');
  if (octets.length === 5) octets.push(vrid.toString(16));
  return octets.map((o) => o.padStart(2, '0')).join(':');
}

/**
 * keepalived's name for a VMAC without one (create_vmac_name): `vrrp.VRID`,
 * else, when another instance or interface has that name, `vrrpN.VRID` with
 * N counting from 1; IPv6 tries `vrrp6.VRID` first and skips 6 later. The
 * prefix is shortened so the name fits IFNAMSIZ.
 */
export function defaultVmacName(vrid: number, family: 4 | 6, taken: ReadonlySet<string>, prefix = 'vrrp'): string {
  const fit = (num: string) => {
    const tail = `${num}.${vrid}`;
    return `${prefix.slice(0, Math.max(0, MAX_IFNAME - tail.length))}${tail}`;
  };
  let name = fit('');
  let num = 0;
  // Bounded: VRIDs and instances are finitely many; 1000 names are more than enough.
  for (let i = 0; i < 1000 && taken.has(name); i++) {
    if (family === 6) num = num === 0 ? 6 : num === 6 ? 1 : num + 1 === 6 ? 7 : num + 1;
    else num++;
    name = fit(String(num));
  }
  return name;
}

/**
 * The VMAC name of every use_vmac instance of a configuration, in
 * configuration order as keepalived assigns them: a configured name is kept,
 * the others get {@link defaultVmacName} avoiding the names already given.
 */
export function vmacNames(instances: readonly Pick<VrrpInstance, 'name' | 'virtualRouterId' | 'family' | 'useVmac'>[]): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Set<string>();
  for (const i of instances) if (i.useVmac?.name) taken.add(i.useVmac.name);
  for (const i of instances) {
    if (!i.useVmac) continue;
    const name = i.useVmac.name ?? defaultVmacName(i.virtualRouterId, i.family === 6 ? 6 : 4, taken);
    taken.add(name);
    out.set(i.name, name);
  }
  return out;
}

const conf4 = (ifname: string, key: string, value: number): SysctlSetting => ({ path: `net/ipv4/conf/${ifname}/${key}`, value });

/**
 * The sysctls keepalived sets for an IPv4 VMAC (vmac_sysctl and parent_sysctl
 * in vrrp_if_config.c). On the VMAC: arp_ignore 1 (answer ARP only for its own
 * addresses, so a Backup's VMAC stays silent), accept_local 1 and rp_filter 0
 * (adverts from our own virtual MAC come back through it), promote_secondaries 1.
 * On the base: arp_ignore 1 and arp_filter 1, so the base does not answer ARP
 * for the VIPs with its own MAC. keepalived sets none of these for an IPv6
 * instance. IPv6 is disabled on an IPv4 instance's VMAC unless it carries
 * IPv6 VIPs (link_set_ipv6): no MLD or router solicitations from the virtual MAC.
 */
export function vmacSysctlPlan(name: string, base: string, family: 4 | 6, ipv6: boolean): { vmac: SysctlSetting[]; base: SysctlSetting[] } {
  const vmac: SysctlSetting[] = [];
  const baseSet: SysctlSetting[] = [];
  if (family === 4) {
    vmac.push(conf4(name, 'arp_ignore', 1), conf4(name, 'accept_local', 1), conf4(name, 'rp_filter', 0), conf4(name, 'promote_secondaries', 1));
    baseSet.push(conf4(base, 'arp_ignore', 1), conf4(base, 'arp_filter', 1));
  }
  vmac.push({ path: `net/ipv6/conf/${name}/disable_ipv6`, value: ipv6 ? 0 : 1 });
  return { vmac, base: baseSet };
}

/**
 * The instance's plan with its VMAC: VIPs without an explicit `dev` move from
 * the base interface to the VMAC (keepalived puts them on the instance's
 * interface, which the VMAC has become); adverts leave from the VMAC unless
 * vmac_xmit_base. Nothing else changes: the source address stays the base's.
 */
export function withVmac(plan: InstancePlan, inst: Pick<VrrpInstance, 'vmacXmitBase' | 'useVmac'>, name: string): InstancePlan {
  const vips = plan.vips.map((v) => (v.dev === plan.interface ? { ...v, dev: name } : v));
  const ipv6 = plan.family === 6 || vips.some((v) => v.dev === name && v.family === 6);
  const sysctls = vmacSysctlPlan(name, plan.interface, plan.family, ipv6);
  const vmac: VmacPlan = {
    name,
    base: plan.interface,
    mac: vmacAddress(inst.useVmac?.mac, plan.family, plan.vrid),
    family: plan.family,
    xmitBase: inst.vmacXmitBase,
    ipv6,
    vmacSysctls: sysctls.vmac,
    baseSysctls: sysctls.base,
    ...(plan.family === 6 && !inst.vmacXmitBase && !plan.sourcePending ? { linkLocal: plan.source } : {}),
  };
  return { ...plan, vips, vmac };
}
