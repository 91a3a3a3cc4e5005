/**
 * Single-value keywords whose bad value keepalived 2.2.7 logs and ignores
 * (vrrp_parser.c, global_parser.c, check_api.c, check_misc.c), the default
 * staying. vipflow does the same with a warning naming keepalived's message,
 * instead of refusing the file.
 */
import { ipFamily } from '../net.js';
import { keepalivedNumber } from './keepalived-numbers.js';
import type { KeywordSpec, Raw } from './mapper.js';

const UINT_MAX = 4294967295;

/** A number keepalived ignores when out of range: the default stays. */
export function ignoredNumber(key: string, min: number, max: number, says: string, lax = true): KeywordSpec<Raw> {
  return keepalivedNumber(key, { decimal: false, min, max, lax, says, onReject: { keeps: 'the default' } });
}

/** An address keepalived skips when it cannot read it ("malformed ... Skipping", "Can't parse ... Skipping"). */
export function ignoredAddress(key: string, says: string, family?: 4 | 6): KeywordSpec<Raw> {
  return {
    apply: (m, n, t) => {
      const a = m.arg(n, 0, 'an address');
      if (!a) return;
      m.noExtra(n, 1);
      const f = ipFamily(a.text);
      if (f === undefined || (family !== undefined && f !== family)) {
        m.sink.warning(a, `'${n.keyword.text} ${a.text}' is not an IPv${family ?? '4 or IPv6'} address; ignored, as keepalived does ("${says}")`, {
          text: a.text,
        });
        return;
      }
      m.set(t, key, a.text, a, n.keyword.text);
    },
  };
}

export const VRRP_VERSION = (key: string): KeywordSpec<Raw> => ignoredNumber(key, 2, 3, 'Version must be either 2 or 3');
// vrrp_unicast_ttl_handler reads with ignore_error false: even a running keepalived rejects `64x`.
export const UNICAST_TTL = ignoredNumber('unicastTtl', 0, 255, 'TTL not valid - must be between 0 & 255', false);
export const BIND_PORT = ignoredNumber('bindPort', 1, 65535, 'Invalid checker bind_port');
export const CHECKER_FWMARK = ignoredNumber('fwmark', 0, UINT_MAX, 'Invalid fwmark connection value');
export const MISC_TIMEOUT = ignoredNumber('miscTimeout', 0, Math.floor(UINT_MAX / 1_000_000), 'Invalid misc_timeout value');
