/** One text form per IP address, so addresses from the config and from the kernel compare equal. */
import { isIPv6 } from 'node:net';

/**
 * RFC 5952's form for IPv6 (lowercase, longest zero run compressed), the text
 * unchanged for anything else. The WHATWG URL parser already serialises IPv6
 * hosts that way, so no hand-written parser is needed.
 */
export function canonicalIp(text: string): string {
  const t = text.trim();
  if (!isIPv6(t)) return t;
  try {
    return new URL(`http://[${t}]/`).hostname.slice(1, -1);
  } catch {
    return t.toLowerCase();
  }
}
