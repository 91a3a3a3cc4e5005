/**
 * The `track_file` and `vrrp_track_process` blocks, read as keepalived 2.2.7
 * reads them (track_file.c, vrrp_parser.c vrrp_tprocess_*): a bad or repeated
 * value is logged and ignored (or, for a track_file weight, replaced by 1),
 * and the tracker still runs. vipflow does the same with a warning each. A
 * block left without `file` / `process` is removed in removals.ts, as
 * keepalived removes it.
 */
import { keepalivedNumber } from './keepalived-numbers.js';
import { keepalivedInt } from './track-entries.js';
import type { KeywordSpec, KeywordTable, Mapper, Raw } from './mapper.js';
import type { Token } from './reader.js';
import type { Node } from './tree.js';

type Spec = KeywordSpec<Raw>;

/** A value keyword whose first occurrence wins ("already set ... - ignoring"). */
function firstWins(key: string, what: string, read: (m: Mapper, n: Node, t: Raw, first: Token) => void): Spec {
  return {
    apply: (m, n, t) => {
      const first = n.args[0];
      if (!first) {
        m.sink.warning(n.keyword, `'${n.keyword.text}' without a value ignored, as keepalived does ("${what} missing")`, { text: n.keyword.text });
        return;
      }
      if (t[key] !== undefined) {
        m.sink.warning(first, `'${n.keyword.text}' repeated; ignored, the first one stays (keepalived: "already set - ignoring")`, { text: first.text });
        return;
      }
      read(m, n, t, first);
    },
  };
}

/**
 * `weight N [reverse]` of a tracker block. `onBad`: track_file sets 1,
 * vrrp_track_process keeps its 0. keepalived takes only the first weight
 * that differs from the default (later ones: "Weight already set").
 */
function trackerWeight(defaultWeight: number, setsOnBad: boolean, keyword: string): Spec {
  return {
    apply: (m, n, t) => {
      const a = n.args[0];
      if (!a) {
        m.sink.warning(n.keyword, `'weight' without a value in ${keyword} ignored, as keepalived does ("No weight specified - ignoring")`, { text: 'weight' });
        return;
      }
      if (t.weight !== undefined && t.weight !== defaultWeight) {
        m.sink.warning(a, `'weight' repeated in ${keyword}; ignored, the first one stays, as keepalived does ("Weight already set - ignoring")`, {
          text: a.text,
        });
        return;
      }
      const r = keepalivedInt(a.text, -254, 254);
      if (!r) {
        const outcome = setsOnBad ? `${defaultWeight} is used` : `ignored, ${defaultWeight} stays`;
        m.sink.warning(
          a,
          `'weight ${a.text}' in ${keyword} is not a number from -254 to 254; ${outcome}, as keepalived does ("must be between [-254..254] inclusive. Ignoring...")`,
          {
            text: a.text,
          },
        );
        if (!setsOnBad) return;
        m.set(t, 'weight', defaultWeight, a, 'weight');
      } else {
        if (!r.clean)
          m.sink.warning(
            a,
            `'weight ${a.text}' in ${keyword} is not a clean number; ${r.value} is used, as a running keepalived reads it ("WARNING - invalid number"; keepalived -t rejects it)`,
            {
              text: a.text,
            },
          );
        m.set(t, 'weight', r.value, a, 'weight');
      }
      const dir = n.args[1];
      if (dir?.text === 'reverse') m.set(t, 'reverse', true, dir, 'weight');
      else if (dir)
        m.sink.warning(dir, `'${dir.text}' after weight in ${keyword} is not 'reverse'; ignored, as keepalived does ("unknown weight option")`, {
          text: dir.text,
        });
      m.noExtra(n, 2);
    },
  };
}

/** init_file [VALUE] [overwrite]: track_file_init_handler. */
const INIT_FILE: Spec = {
  apply: (m, n, t) => {
    const init: Raw = {};
    for (const a of n.args) {
      const word = a.text.trimStart();
      if (/^[\d-]/.test(word)) {
        const v = /^[+-]?\d+$/.test(word) ? Number(word) : NaN;
        if (!Number.isSafeInteger(v) || v < -2147483648 || v > 2147483647) {
          m.sink.warning(a, `init_file value '${a.text}' is not a whole number; 0 is used, as keepalived does ("init value is invalid")`, { text: a.text });
          init.value = 0;
        } else {
          if (v < -254 || v > 254)
            m.sink.warning(a, `init_file value ${v} is outside -254..254; used anyway, as keepalived does ("outside sensible range")`, { text: a.text });
          init.value = v;
        }
      } else if (word === 'overwrite') init.overwrite = true;
      else m.sink.warning(a, `unknown init_file option '${a.text}' ignored, as keepalived does ("Unknown track file init option")`, { text: a.text });
    }
    m.set(t, 'initFile', init, n.keyword, 'init_file');
  },
};

export const TRACK_FILE: KeywordTable<Raw> = {
  file: firstWins('file', 'track file file name', (m, n, t, first) => {
    m.set(t, 'file', first.text, first, 'file');
    m.noExtra(n, 1);
  }),
  weight: trackerWeight(1, true, 'track_file'),
  init_file: INIT_FILE,
};

const PROCESS_DELAY = (key: string, says: string): Spec =>
  keepalivedNumber(key, { decimal: true, min: 0.000001, max: 3600, says, onReject: { keeps: 'the default' } });

const QUORUM = keepalivedNumber('quorum', {
  decimal: false,
  min: 1,
  max: 65535,
  says: 'Quorum for vrrp_track_process must be between [1..65535] inclusive. Ignoring...',
  onReject: { keeps: 'the default 1' },
});
const QUORUM_MAX = keepalivedNumber('quorumMax', {
  decimal: false,
  min: 0,
  max: 65535,
  says: 'quorum_max for vrrp_track_process must be between [0..65535] inclusive. Ignoring...',
  onReject: { keeps: 'no maximum' },
});

/** quorum / quorum_max: in range, then keepalived ignores a quorum above quorum_max (and a quorum_max below quorum) whichever comes second. */
function quorumPair(own: Spec, key: 'quorum' | 'quorumMax'): Spec {
  return {
    apply: (m, n, t) => {
      const before = t[key];
      own.apply!(m, n, t);
      const q = (t.quorum as number | undefined) ?? 1;
      const max = t.quorumMax as number | undefined;
      if (t[key] === before || max === undefined) return;
      const conflict = key === 'quorum' ? q > max : (max > 0 || q > 1) && max < q;
      if (!conflict) return;
      if (before === undefined) delete t[key];
      else t[key] = before;
      const says = key === 'quorum' ? 'Quorum is greater than quorum_max - ignoring' : 'quorum_max is less than quorum - ignoring';
      m.sink.warning(n.args[0]!, `'${n.keyword.text} ${n.args[0]!.text}' ignored, as keepalived does ("${says}")`, { text: n.args[0]!.text });
    },
  };
}

export const VRRP_TRACK_PROCESS: KeywordTable<Raw> = {
  process: firstWins('process', 'process name', (m, n, t, first) => {
    m.set(t, 'process', first.text, first, 'process');
    t.parameters = n.args.slice(1).map((x) => x.text);
  }),
  // Alone, param_match means exact; otherwise only initial and partial (keepalived ignores `param_match exact` with a message).
  param_match: {
    apply: (m, n, t) => {
      const a = n.args[0];
      if (!a) return m.set(t, 'paramMatch', 'exact', n.keyword, 'param_match');
      if (a.text === 'initial' || a.text === 'partial') {
        m.set(t, 'paramMatch', a.text, a, 'param_match');
        m.noExtra(n, 1);
        return;
      }
      m.sink.warning(
        a,
        `'param_match ${a.text}' is not initial|partial (exact is 'param_match' alone); ignored, as keepalived does ("Invalid param_match type - ignoring")`,
        {
          text: a.text,
        },
      );
    },
  },
  weight: trackerWeight(0, false, 'vrrp_track_process'),
  quorum: quorumPair(QUORUM, 'quorum'),
  quorum_max: quorumPair(QUORUM_MAX, 'quorumMax'),
  delay: PROCESS_DELAY('delay', 'delay for vrrp_track_process must be between [0.000001..3600] inclusive. Ignoring...'),
  terminate_delay: PROCESS_DELAY('terminateDelay', 'terminate_delay for vrrp_track_process must be between [0.000001..3600] inclusive. Ignoring...'),
  fork_delay: PROCESS_DELAY('forkDelay', 'fork_delay for vrrp_track_process must be between [0.000001..3600] inclusive. Ignoring...'),
  full_command: {
    apply: (m, n, t) => {
      m.set(t, 'fullCommand', true, n.keyword, 'full_command');
      m.noExtra(n, 0);
    },
  },
};
