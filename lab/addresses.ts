import type { Lab } from './lab.js';

export interface AddressEntry {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope: string;
  label?: string;
  tentative?: boolean;
}

/** `ip -j addr show dev <ifname>` of a node, flattened; [] when the command fails. */
export async function readAddresses(lab: Lab, node: string, ifname = 'eth0'): Promise<AddressEntry[]> {
  const r = await lab.exec(node, 'ip', ['-j', 'addr', 'show', 'dev', ifname], 5000);
  if (r.code !== 0) return [];
  const parsed = JSON.parse(r.stdout || '[]') as { addr_info?: AddressEntry[] }[];
  return parsed.flatMap((l) => l.addr_info ?? []);
}

export interface NeighbourEntry {
  dst: string;
  lladdr?: string;
  state?: string[];
}

/** `ip -j neigh show dev <ifname>` of a node; [] when the command fails. */
export async function readNeighbours(lab: Lab, node: string, ifname = 'eth0'): Promise<NeighbourEntry[]> {
  const r = await lab.exec(node, 'ip', ['-j', 'neigh', 'show', 'dev', ifname], 5000);
  if (r.code !== 0) return [];
  return JSON.parse(r.stdout || '[]') as NeighbourEntry[];
}
