import { formatAddress } from '../codec/index.js';

let lastBytes: Uint8Array | null = null;
let lastText = '';

/**
 * A received address as text, for log lines and once-per-sender keys. The
 * addon hands the same Buffer for a repeated sender, so remembering the last
 * one keeps a flood from one sender (another cluster's VRIDs, bad packets)
 * from formatting the same address per packet, as the addon's text once did.
 */
export function addressText(bytes: Uint8Array): string {
  if (bytes !== lastBytes) {
    lastText = formatAddress(bytes);
    lastBytes = bytes;
  }
  return lastText;
}
