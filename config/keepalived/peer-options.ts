/**
 * The words after a `unicast_peer` address, read as keepalived 2.2.7's
 * alloc_vrrp_unicast_peer (vrrp_data.c) reads them: `KEY VALUE` pairs where
 * VALUE must be a clean number from 0 to 255. A pair whose value is not is
 * skipped ("invalid number"); a key without a value, or a key other than
 * min_ttl / max_ttl, ends the line ("is missing a value", "unknown
 * unicast_peer option"). The peer itself is always kept. vipflow does the
 * same, with a warning each.
 */
import { keepalivedReads } from './keepalived-numbers.js';
import type { Mapper, Raw } from './mapper.js';
import type { Node } from './tree.js';

const TTL = { decimal: false, min: 0, max: 255, lax: false, says: '', onReject: { keeps: '' } } as const;

export function peerOptions(m: Mapper, entry: Node, peer: Raw): void {
  const args = entry.args;
  for (let i = 0; i < args.length; i += 2) {
    const key = args[i]!;
    const value = args[i + 1];
    if (!value) {
      m.sink.warning(key, `'${key.text}' after unicast_peer ${entry.keyword.text} has no value; ignored, as keepalived does ("is missing a value")`, {
        text: key.text,
      });
      return;
    }
    const ttl = keepalivedReads(value.text, TTL);
    if (!ttl) {
      m.sink.warning(value, `'${key.text} ${value.text}' is not a number from 0 to 255; ignored, as keepalived does ("invalid number")`, { text: value.text });
      continue;
    }
    if (key.text !== 'min_ttl' && key.text !== 'max_ttl') {
      const rest = args.length - i - 2;
      m.sink.warning(
        key,
        `unknown unicast_peer option '${key.text}'; ignored${rest > 0 ? ` with the ${rest} word(s) after it` : ''}, as keepalived does ("unknown unicast_peer option")`,
        { text: key.text, ...(key.text.includes('ttl') ? { hint: 'did you mean min_ttl or max_ttl?' } : {}) },
      );
      return;
    }
    m.set(peer, key.text === 'min_ttl' ? 'minTtl' : 'maxTtl', ttl.value, value, key.text);
  }
}
