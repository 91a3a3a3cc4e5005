/**
 * Word-valued keywords read the way keepalived 2.2.7 reads them, bad values
 * included. Its handlers (check_true_false callers in global_parser.c,
 * vrrp_parser.c, check_parser.c, the checkers; svr_forwarding_handler and
 * proto_handler in check_parser.c) log an unrecognised word and leave the
 * setting as it was; the rest of the configuration still runs. vipflow does
 * the same with a warning naming the bad word and what stays, rather than an
 * error.
 */
import { didYouMean } from '../diagnostics.js';
import type { KeywordSpec, Raw } from './mapper.js';

const TRUE_WORDS = ['on', 'true', 'yes'];
const FALSE_WORDS = ['off', 'false', 'no'];

/** keepalived's <BOOL>: no word means true; on/true/yes, off/false/no (case-sensitive, as check_true_false compares). */
export function keepalivedBool(key: string): KeywordSpec<Raw> {
  return {
    apply: (m, n, t) => {
      const a = n.args[0];
      m.noExtra(n, 1);
      if (!a) return m.set(t, key, true, n.keyword, n.keyword.text);
      if (TRUE_WORDS.includes(a.text)) return m.set(t, key, true, a, n.keyword.text);
      if (FALSE_WORDS.includes(a.text)) return m.set(t, key, false, a, n.keyword.text);
      m.sink.warning(a, `'${n.keyword.text} ${a.text}' is not on|off|true|false|yes|no; ignored, the earlier or default setting stays, as keepalived does`, {
        text: a.text,
        ...didYouMean(a.text, [...TRUE_WORDS, ...FALSE_WORDS]),
      });
    },
  };
}

/**
 * One of a fixed set of words; anything else is ignored with a warning and
 * what keepalived ends up with applies: `keeps` names the default or
 * inherited value that stays, `sets` a value keepalived later falls back to.
 * `says` is keepalived's message, `%s` standing for the word. `caseInsensitive` follows
 * the handler: proto_handler uses strcasecmp, svr_forwarding_handler strcmp
 * (so `lb_kind dr` is not DR to keepalived).
 */
export function keepalivedWord(
  key: string,
  words: readonly string[],
  onBad: { keeps: string } | { sets: string; because: string },
  says: string,
  caseInsensitive = false,
): KeywordSpec<Raw> {
  return {
    apply: (m, n, t) => {
      const a = m.arg(n, 0, words.join('|'));
      if (!a) return;
      m.noExtra(n, 1);
      const found = words.find((w) => (caseInsensitive ? w.toLowerCase() === a.text.toLowerCase() : w === a.text));
      if (found !== undefined) return m.set(t, key, found, a, n.keyword.text);
      const outcome = 'keeps' in onBad ? `${onBad.keeps} stays` : `${onBad.sets} is used (${onBad.because})`;
      m.sink.warning(a, `'${n.keyword.text} ${a.text}' is not ${words.join('|')}; ignored, ${outcome}, as keepalived does ("${says.replace('%s', a.text)}")`, {
        text: a.text,
        ...didYouMean(a.text, words),
      });
      if ('sets' in onBad) m.set(t, key, onBad.sets, a, n.keyword.text);
    },
  };
}
