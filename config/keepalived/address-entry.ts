/**
 * Which `virtual_ipaddress` / `static_ipaddress` lines keepalived 2.2.7 drops
 * whole. Its alloc_ipaddress (vrrp_ipaddress.c) walks the words after the
 * address; an option that needs a value but ends the line ("No dev parameter
 * specified for ADDR"), a second `dev`, a broadcast on an IPv6 address or a
 * broadcast it cannot read, and a label of 16 characters or more each free
 * the address, and the instance runs with the others. vipflow skips the same
 * lines with a warning; the words of a line it keeps are read by the option
 * table in keywords.ts.
 */
import type { Token } from './reader.js';

/** Options taking a value in alloc_ipaddress; `track_group` only on static addresses. */
const TAKES_VALUE = new Set(['dev', 'scope', 'broadcast', 'brd', 'label', 'peer', 'preferred_lft']);

/** IFNAMSIZ - 1: the longest label the kernel takes. */
const MAX_LABEL = 15;

export interface SkippedAddress {
  at: Token;
  message: string;
}

/**
 * Why keepalived drops this address line, or undefined when it keeps it.
 * `words` are the tokens after the address, `family` the address's.
 */
export function droppedAddressLine(address: string, words: readonly Token[], family: 4 | 6, isStatic: boolean): SkippedAddress | undefined {
  let dev = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const takesValue = TAKES_VALUE.has(w.text) || (isStatic && w.text === 'track_group');
    if (!takesValue) continue;
    const value = words[i + 1];
    if (!value)
      return {
        at: w,
        message: `option '${w.text}' without a value: address ${address} skipped, as keepalived does ("No ${w.text} parameter specified for ${address}")`,
      };
    i++;
    if (w.text === 'dev') {
      if (dev)
        return {
          at: w,
          message: `second 'dev' for ${address}: address skipped, as keepalived does ("Cannot specify ipaddress device more than once")`,
        };
      dev = true;
    } else if (w.text === 'broadcast' || w.text === 'brd') {
      if (family === 6)
        return {
          at: w,
          message: `broadcast on IPv6 address ${address}: address skipped, as keepalived does ("trying to assign a broadcast ... skipping VIP")`,
        };
      if (value.text !== '+' && value.text !== '-' && !isIpv4(value.text))
        return {
          at: value,
          message: `invalid broadcast '${value.text}' for ${address}: address skipped, as keepalived does ("trying to assign invalid broadcast ... skipping VIP")`,
        };
    } else if (w.text === 'label' && value.text.length > MAX_LABEL) {
      return {
        at: value,
        message: `label '${value.text}' is longer than ${MAX_LABEL} characters: address ${address} skipped, as keepalived does ("Address label is longer than maximum length - removing address")`,
      };
    }
  }
  return undefined;
}

/** inet_pton(AF_INET): four decimal bytes, no leading zeros beyond one digit. */
function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

/**
 * find_rttables_scope with Debian's default /etc/iproute2/rt_scopes: the
 * names, and the numbers they stand for. Anything else keepalived ignores
 * ("Invalid scope - ignoring").
 */
export function keepalivedScope(text: string): 'global' | 'site' | 'link' | 'host' | 'nowhere' | undefined {
  const byNumber: Record<string, 'global' | 'site' | 'link' | 'host' | 'nowhere'> = {
    '0': 'global',
    '200': 'site',
    '253': 'link',
    '254': 'host',
    '255': 'nowhere',
  };
  if (text === 'global' || text === 'site' || text === 'link' || text === 'host' || text === 'nowhere') return text;
  return byNumber[text];
}
