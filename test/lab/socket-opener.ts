import assert from 'node:assert/strict';
import type { Lab } from '../../lab/index.js';
import { silentLogger } from '../../core/logger.js';
import { openVrrpSocket, type VrrpSocket, type VrrpSocketOptions } from '../../wire/socket/index.js';

export type OpenInLab = (node: string, family: 4 | 6, extra?: Partial<VrrpSocketOptions>) => VrrpSocket;

/**
 * Opens multicast VRRP sockets on a lab node's eth0 (options overridable),
 * asserting success, and records them in `sockets` for the test's cleanup.
 */
export function socketOpener(lab: () => Lab, sockets: VrrpSocket[]): OpenInLab {
  return (node, family, extra = {}) => {
    const r = openVrrpSocket({
      family,
      interface: 'eth0',
      netns: lab().node(node).ns,
      mode: 'multicast',
      logger: silentLogger(),
      ...extra,
    });
    assert.ok(r.ok, `open failed: ${JSON.stringify(r)}`);
    sockets.push(r.value);
    return r.value;
  };
}
