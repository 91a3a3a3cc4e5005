/**
 * Pure decision of the VIP step: from the daemon's status (its control socket
 * answer) and the addresses on this host's interfaces, is this node Master
 * of the instance with every VIP bound and announced?
 */
import { z } from 'zod';

// Only what the decision needs; the socket's answer is input from outside
// the process (another daemon version), so it is checked, not trusted.
const instanceStatus = z.object({
  name: z.string(),
  state: z.string(),
  vips: z.array(z.string()),
  announcements: z.object({ framesSent: z.number(), sendErrors: z.number(), sinceMaster: z.number().optional() }),
});
const daemonStatus = z.object({ instances: z.array(instanceStatus) });

/** An address without prefix length or zone, IPv6 in its canonical compressed lowercase form. */
export function normalizeAddress(text: string): string {
  const bare = text
    .trim()
    .replace(/%.*$/, '')
    .replace(/\/\d+$/, '');
  if (!bare.includes(':')) return bare;
  try {
    return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    return bare.toLowerCase();
  }
}

/** A status `vips` entry (`ADDRESS/PREFIX dev DEV`), or null when it has another shape. */
export function parseStatusVip(text: string): { address: string; dev: string } | null {
  const m = /^(\S+?)(?:\/\d+)? dev (\S+)$/.exec(text.trim());
  return m ? { address: normalizeAddress(m[1]!), dev: m[2]! } : null;
}

/** Interface name → normalized addresses on it. */
export type HeldAddresses = ReadonlyMap<string, ReadonlySet<string>>;

export type VipReadiness = { ready: true; addresses: string[]; framesSinceMaster: number | null } | { ready: false; missing: string[] };

export interface ReadinessInput {
  instance: string;
  /** The `status` field of the control socket's answer. */
  status: unknown;
  held: HeldAddresses;
  /** Required addresses; default the instance's VIPs. */
  addresses?: readonly string[];
  requireAnnouncement: boolean;
}

/** What is still missing for `instance` to be served here (an empty list means ready). */
export function checkVipReadiness(i: ReadinessInput): VipReadiness {
  const parsed = daemonStatus.safeParse(i.status);
  if (!parsed.success) return { ready: false, missing: ['the daemon status has an unexpected shape (another vipflow version?)'] };
  const inst = parsed.data.instances.find((s) => s.name === i.instance);
  if (!inst)
    return {
      ready: false,
      missing: [`instance ${i.instance} is not in the daemon's status (${parsed.data.instances.map((s) => s.name).join(', ') || 'no instances'})`],
    };
  const missing: string[] = [];
  if (inst.state !== 'master') missing.push(`instance ${i.instance} is ${inst.state}, not master`);
  const configured = inst.vips.map(parseStatusVip).filter((v): v is { address: string; dev: string } => v !== null);
  const wanted = i.addresses ? i.addresses.map(normalizeAddress) : configured.map((v) => v.address);
  if (wanted.length === 0) missing.push(`instance ${i.instance} has no VIPs to check`);
  for (const address of wanted) {
    const dev = configured.find((v) => v.address === address)?.dev;
    const on = dev !== undefined ? (i.held.get(dev)?.has(address) ?? false) : [...i.held.values()].some((s) => s.has(address));
    if (!on) missing.push(`${address} is not on ${dev ?? 'any interface'}`);
  }
  let frames: number | null = null;
  if (i.requireAnnouncement) {
    frames = inst.announcements.sinceMaster ?? null;
    // One frame per VIP is one full burst (gratuitous ARP for IPv4, unsolicited NA for IPv6).
    const needed = Math.max(1, configured.length);
    if (frames === null) missing.push('the daemon status has no announcements.sinceMaster (vipflow too old): cannot verify the announcement');
    else if (frames < needed) missing.push(`address announcement: ${frames} frame(s) sent since becoming master, a burst is ${needed}`);
  }
  return missing.length === 0 ? { ready: true, addresses: wanted, framesSinceMaster: frames } : { ready: false, missing };
}
