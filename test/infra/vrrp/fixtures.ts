/** Shared fixtures for the daemon's pure parts: instances from keepalived.conf text, hosts as data. */
import assert from 'node:assert/strict';
import { loadKeepalivedText } from '../../../config/keepalived/index.js';
import type { VrrpInstance } from '../../../config/model.js';
import type { HostInterface, HostInterfaces } from '../../../infra/vrrp/plan.js';

/** The first vrrp_instance of `body` (the lines inside the block), interface eth0 unless given. */
export function instanceFrom(body: string): VrrpInstance {
  const text = `vrrp_instance VI_1 {\n${/^\s*interface\s/m.test(body) ? '' : '  interface eth0\n'}  virtual_router_id 51\n${body}\n}\n`;
  const r = loadKeepalivedText(text);
  assert.ok(r.model, `fixture config rejected: ${JSON.stringify(r.diagnostics)}`);
  return r.model.vrrpInstances[0]!;
}

export function host(...ifaces: HostInterface[]): HostInterfaces {
  return new Map(ifaces.map((i) => [i.name, i]));
}

/** eth0 up with 198.18.0.1/24, a global IPv6 listed before its link-local, and eth1 down. */
export const LAN_HOST = host(
  {
    name: 'eth0',
    up: true,
    addresses: [
      { address: '198.18.0.1', family: 4, prefix: 24 },
      { address: '198.18.0.9', family: 4, prefix: 24 },
      { address: 'fd00:198:18::1', family: 6, prefix: 64 },
      { address: 'fe80::1', family: 6, prefix: 64 },
    ],
  },
  { name: 'eth1', up: false, addresses: [{ address: '198.18.1.1', family: 4, prefix: 24 }] },
);
