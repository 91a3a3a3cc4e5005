/**
 * `track_interface`, `track_script`, `track_file` and `track_process` entries
 * of a vrrp_instance or vrrp_sync_group (`NAME [weight N [reverse|noreverse]]`),
 * read as keepalived 2.2.7's alloc_track_if / alloc_track_script /
 * vrrp_alloc_track_file / alloc_track_process (vrrp_track.c, track_file.c)
 * read them. Each problem is logged there and the instance still runs:
 *
 * - a second word other than `weight`, or `weight` without a value: the
 *   entry is dropped ("unknown track ... option - ignoring", "weight without
 *   value specified ... - ignoring");
 * - a weight outside -254..254 (or not a number to `keepalived -t`): the
 *   tracked object's own weight stays; a running keepalived reads the
 *   leading digits of a word like `5x` (`abc` is 0); ±254 on an interface or
 *   script becomes ±253;
 * - a fourth word other than reverse (or noreverse, except on an interface)
 *   is ignored, but drops a track_file entry, whose handler returns there;
 * - a name already tracked by the same instance or group is dropped
 *   ("duplicate track_... - ignoring").
 *
 * vipflow does the same, with a warning each.
 */
import type { KeywordSpec, Mapper, Raw } from './mapper.js';
import type { Token } from './reader.js';

type Kind = 'trackInterfaces' | 'trackScripts' | 'trackFiles' | 'trackProcesses';

/**
 * keepalived looks a tracked script, file or process up while it reads the
 * entry, so only a definition earlier in the file counts ("not found,
 * ignoring" for one further down). Each entry remembers how many definitions
 * of its kind had been read by then; removals.ts decides with that.
 */
export const DEFINITIONS_BEFORE = Symbol('vipflow.definitionsBefore');
const DEFINED_IN: Partial<Record<Kind, string>> = { trackScripts: 'vrrpScripts', trackFiles: 'trackFiles', trackProcesses: 'trackProcesses' };

const KEYWORD: Record<Kind, string> = {
  trackInterfaces: 'track_interface',
  trackScripts: 'track_script',
  trackFiles: 'track_file',
  trackProcesses: 'track_process',
};

/** read_int_strvec with ignore_error: strtol's leading number; a running keepalived accepts junk after it when in range. */
export function keepalivedInt(text: string, min: number, max: number): { value: number; clean: boolean } | undefined {
  const m = /^\s*([+-]?)(\d*)/.exec(text)!;
  const digits = m[2]!;
  const value = digits === '' ? 0 : Number(`${m[1]}${digits}`);
  if (value < min || value > max) return undefined;
  return { value, clean: digits !== '' && m[0].length === text.length };
}

export function trackEntries(key: Kind): KeywordSpec<Raw> {
  const keyword = KEYWORD[key];
  return {
    block: 'values',
    apply: (m, n, t) => {
      const list = (t[key] ??= []) as Raw[];
      for (const e of m.values(n)) {
        const name = e.keyword.text;
        const ignore = (at: Token, why: string, says: string): void =>
          m.sink.warning(at, `${keyword} '${name}' ${why}; the entry is ignored, as keepalived does ("${says}")`, { text: at.text });
        if (list.some((x) => x.name === name)) {
          ignore(e.keyword, 'is already tracked here', `duplicate ${keyword} - ignoring`);
          continue;
        }
        const [opt, value, dir] = e.args;
        const entry: Raw = { name };
        m.self(entry, e.keyword, keyword);
        const definedIn = DEFINED_IN[key];
        if (definedIn) (entry as Record<symbol, number>)[DEFINITIONS_BEFORE] = Array.isArray(m.root[definedIn]) ? (m.root[definedIn] as unknown[]).length : 0;
        if (opt && opt.text !== 'weight') {
          m.sink.warning(
            opt,
            `unknown option '${opt.text}' after ${keyword} '${name}'; the entry is ignored, as keepalived does ("unknown option - ignoring")`,
            {
              text: opt.text,
              hint: "did you mean 'weight'?",
            },
          );
          continue;
        }
        if (opt && !value) {
          ignore(opt, "has 'weight' without a value", 'weight without value specified - ignoring');
          continue;
        }
        if (value) readWeight(m, entry, value, key, keyword);
        if (dir && !applyDirection(m, entry, dir, key, keyword, name)) continue;
        if (e.args[3]) m.noExtra(e, 3);
        list.push(entry);
      }
    },
  };
}

function readWeight(m: Mapper, entry: Raw, value: Token, key: Kind, keyword: string): void {
  const r = keepalivedInt(value.text, -254, 254);
  if (!r) {
    const own = key === 'trackInterfaces' ? 'the default (fault when the interface is down) stays' : "the tracked object's own weight stays";
    m.sink.warning(
      value,
      `'weight ${value.text}' in ${keyword} is not a number from -254 to 254; ignored, ${own}, as keepalived does ("weight must be ... Ignoring")`,
      {
        text: value.text,
      },
    );
    return;
  }
  let w = r.value;
  if (!r.clean)
    m.sink.warning(
      value,
      `'weight ${value.text}' in ${keyword} is not a clean number; ${w} is used, as a running keepalived reads it ("WARNING - invalid number"; keepalived -t rejects it)`,
      {
        text: value.text,
      },
    );
  if (Math.abs(w) === 254 && (key === 'trackInterfaces' || key === 'trackScripts')) {
    w = w > 0 ? 253 : -253;
    m.sink.warning(value, `'weight ${value.text}' in ${keyword}: ${w} is used, as keepalived does ("weight cannot be +/-254. Setting to +/-253")`, {
      text: value.text,
    });
  }
  m.set(entry, 'weight', w, value, 'weight');
}

/** The fourth word; false when keepalived drops the entry over it (track_file only). */
function applyDirection(m: Mapper, entry: Raw, dir: Token, key: Kind, keyword: string, name: string): boolean {
  if (dir.text === 'reverse') return (m.set(entry, 'reverse', true, dir, 'reverse'), true);
  if (dir.text === 'noreverse' && key !== 'trackInterfaces') return (m.set(entry, 'reverse', false, dir, 'noreverse'), true);
  if (key === 'trackFiles') {
    m.sink.warning(
      dir,
      `'${dir.text}' after the weight of ${keyword} '${name}' is not reverse|noreverse; the entry is ignored, as keepalived does ("unknown track file weight option - ignoring")`,
      {
        text: dir.text,
      },
    );
    return false;
  }
  m.sink.warning(
    dir,
    `'${dir.text}' after the weight of ${keyword} '${name}' is not ${key === 'trackInterfaces' ? 'reverse' : 'reverse|noreverse'}; ignored, as keepalived does ("unknown weight option - ignoring")`,
    {
      text: dir.text,
    },
  );
  return true;
}
