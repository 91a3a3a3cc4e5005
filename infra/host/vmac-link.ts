/**
 * Creates and removes an instance's VMAC (infra/vrrp/vmac.ts plans it) with
 * iproute2 and /proc/sys. Runs at instance start and stop only, never on the
 * failover path: like keepalived, the VMAC stays up in every state and only
 * the VIPs move on and off it, so a Backup's VMAC receives the Master's
 * adverts (a frame whose source is our own virtual MAC is delivered to the
 * private macvlan alone, not to the base interface).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from '../../core/logger.js';
import type { SysctlSetting, VmacPlan } from './types.js';

export interface VmacLinkOps {
  /** Creates (or re-creates) the VMAC, sets its sysctls and brings it up. */
  /** `conflict`: an interface of that name exists and is not a macvlan (keepalived then ignores a configured name). */
  create(plan: VmacPlan): { ok: true } | { ok: false; message: string; conflict?: true };
  /** Deletes the VMAC and, when no other VMAC uses its base, restores the base's sysctls. */
  remove(plan: VmacPlan): void;
}

interface LinkInfo {
  kind?: string;
  mode?: string;
  address?: string;
  link?: string;
}

function ip(args: readonly string[]): string {
  return execFileSync('ip', args as string[], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
}

function linkInfo(name: string): LinkInfo | null {
  try {
    const parsed = JSON.parse(ip(['-d', '-j', 'link', 'show', 'dev', name]) || '[]') as {
      address?: string;
      link?: string;
      linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
    }[];
    const l = parsed[0];
    if (!l) return null;
    return {
      ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : {}),
      ...(l.linkinfo?.info_data?.mode ? { mode: l.linkinfo.info_data.mode } : {}),
      ...(l.address ? { address: l.address } : {}),
      ...(l.link ? { link: l.link } : {}),
    };
  } catch {
    return null;
  }
}

function readSysctl(path: string): number | null {
  try {
    const v = Number(readFileSync(`/proc/sys/${path}`, 'utf8').trim());
    return Number.isInteger(v) ? v : null;
  } catch {
    return null;
  }
}

function writeSysctl(s: SysctlSetting, log: Logger): void {
  try {
    writeFileSync(`/proc/sys/${s.path}`, `${s.value}\n`);
  } catch (err) {
    log.warn({ sysctl: s.path, value: s.value, err: (err as Error).message }, 'cannot set sysctl for VMAC');
  }
}

/** vipflow's own tables for VMAC rules, apart from the load balancer's `inet vipflow` (which it replaces whole). */
export const VMAC_TABLE = 'vipflow_vmac';

/**
 * nft commands that make our VMAC rules exactly `vmacs`: IGMP reports (IPv4)
 * and MLDv2 reports (IPv6) that the kernel sends for the VRRP group joined on
 * a VMAC leave through its base instead, as keepalived's `out` chain does.
 * From the VMAC they would carry the virtual MAC, and a Backup joining the
 * group would teach the switches that the virtual MAC sits on its port.
 */
export function vmacFirewallScript(vmacs: readonly Pick<VmacPlan, 'name' | 'base'>[]): string {
  const lines: string[] = [];
  const table = (family: 'ip' | 'ip6', rule: (v: Pick<VmacPlan, 'name' | 'base'>) => string) => {
    // Declaring before deleting makes the delete succeed whether or not the table exists.
    lines.push(`table ${family} ${VMAC_TABLE} {}`, `delete table ${family} ${VMAC_TABLE}`);
    if (vmacs.length === 0) return;
    lines.push(`table ${family} ${VMAC_TABLE} {`, '  chain out {', '    type filter hook output priority filter - 1; policy accept;');
    for (const v of vmacs) lines.push(`    ${rule(v)}`);
    lines.push('  }', '}');
  };
  const q = (n: string) => JSON.stringify(n);
  table('ip', (v) => `ip protocol igmp oifname ${q(v.name)} dup to ip daddr device ${q(v.base)} drop`);
  table('ip6', (v) => `icmpv6 type mld2-listener-report oifname ${q(v.name)} dup to ip6 daddr device ${q(v.base)} drop`);
  return lines.join('\n') + '\n';
}

const message = (err: unknown) => ((err as { stderr?: string }).stderr || (err as Error).message || String(err)).trim();

export function hostVmacLinks(log: Logger): VmacLinkOps {
  // Base interface -> VMACs on it and the base's sysctl values before the first.
  const bases = new Map<string, { users: Set<string>; saved: SysctlSetting[] }>();
  const vmacs = new Map<string, VmacPlan>();
  const applyFirewall = () => {
    try {
      execFileSync('nft', ['-f', '-'], { input: vmacFirewallScript([...vmacs.values()]), encoding: 'utf8', timeout: 5000, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      log.warn({ table: VMAC_TABLE, err: message(err) }, 'cannot install the VMAC multicast-report rules: reports may leave with the virtual MAC');
    }
  };
  return {
    create(plan) {
      const existing = linkInfo(plan.name);
      if (existing) {
        // keepalived re-creates a macvlan of that name it finds (a previous
        // run's, or one with the wrong MAC or mode) and refuses any other kind.
        if (existing.kind !== 'macvlan')
          return { ok: false, conflict: true, message: `interface ${plan.name} exists and is not a macvlan: it cannot be the VMAC` };
        log.info({ vmac: plan.name, address: existing.address, mode: existing.mode }, 're-creating an existing VMAC interface');
        try {
          ip(['link', 'del', 'dev', plan.name]);
        } catch (err) {
          return { ok: false, message: `cannot remove the old VMAC ${plan.name}: ${message(err)}` };
        }
      }
      try {
        ip(['link', 'add', 'link', plan.base, 'name', plan.name, 'address', plan.mac, 'type', 'macvlan', 'mode', 'private']);
      } catch (err) {
        return { ok: false, message: `cannot create VMAC ${plan.name} on ${plan.base}: ${message(err)}` };
      }
      // Before the VMAC is up and the VRRP socket joins the group on it.
      vmacs.set(plan.name, plan);
      applyFirewall();
      let entry = bases.get(plan.base);
      if (!entry) {
        const saved = plan.baseSysctls.map((s) => ({ path: s.path, value: readSysctl(s.path) })).filter((s): s is SysctlSetting => s.value !== null);
        entry = { users: new Set(), saved };
        bases.set(plan.base, entry);
      }
      entry.users.add(plan.name);
      for (const s of [...plan.vmacSysctls, ...plan.baseSysctls]) writeSysctl(s, log);
      try {
        // RFC 5798 §7.4: no link-local address of its own (from the virtual MAC).
        if (plan.ipv6) ip(['link', 'set', 'dev', plan.name, 'addrgenmode', 'none']);
        ip(['link', 'set', 'dev', plan.name, 'up']);
        if (plan.linkLocal) ip(['addr', 'add', `${plan.linkLocal}/64`, 'dev', plan.name, 'nodad']);
      } catch (err) {
        this.remove(plan);
        return { ok: false, message: `cannot bring VMAC ${plan.name} up: ${message(err)}` };
      }
      log.info({ vmac: plan.name, base: plan.base, mac: plan.mac, xmitBase: plan.xmitBase }, 'VMAC interface created');
      return { ok: true };
    },
    remove(plan) {
      if (vmacs.delete(plan.name)) applyFirewall();
      try {
        ip(['link', 'del', 'dev', plan.name]);
        log.info({ vmac: plan.name }, 'VMAC interface removed');
      } catch (err) {
        log.warn({ vmac: plan.name, err: message(err) }, 'cannot remove VMAC interface');
      }
      const entry = bases.get(plan.base);
      if (!entry) return;
      entry.users.delete(plan.name);
      if (entry.users.size > 0) return;
      bases.delete(plan.base);
      for (const s of entry.saved) writeSysctl(s, log);
    },
  };
}
