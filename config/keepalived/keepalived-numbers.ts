/**
 * Numeric keywords read the way keepalived 2.2.7 reads them, bad values
 * included. keepalived's handlers (vrrp_parser.c, global_parser.c) read with
 * read_unsigned_strvec / read_decimal_unsigned_strvec and, when the value is
 * rejected, log a message and either leave the default in place or set a
 * fixed value; the instance still runs. vipflow does the same with a warning
 * naming the bad value and what is used instead, rather than an error.
 *
 * A running keepalived is laxer than `keepalived -t`: with ignore_error set,
 * a word that starts with digits, or has none (strtoul reads 0), is accepted
 * as what strtoul read when that is within range ("WARNING - invalid
 * number"), where -t rejects it. vipflow follows the running keepalived and
 * says so.
 */
import type { KeywordSpec, Mapper, Raw } from './mapper.js';
import type { Node } from './tree.js';
import type { Token } from './reader.js';

/** keepalived's TIMER_HZ_DIGITS: timers are read in microseconds unless a handler says otherwise. */
const TIMER_DIGITS = 6;

export interface KeepalivedNumberRule {
  /** read_unsigned_strvec (whole numbers) or read_decimal_unsigned_strvec (seconds with up to 6 decimals) */
  decimal: boolean;
  /** the decimals read_decimal_unsigned_strvec keeps (keepalived's shift), 6 unless given */
  digits?: number;
  min: number;
  max: number;
  /** when false (read with ignore_error false) a word that is not a clean number is rejected even by a running keepalived */
  lax?: boolean;
  /** keepalived's message on rejecting the value, quoted in the warning */
  says: string;
  /** on rejection: keep what was set before (the default), or set this value */
  onReject: { keeps: string } | { sets: number };
  /** keepalived replaces an accepted 0 by this (the garp repeat counts: "must be greater than 0, setting to 1") */
  zeroBecomes?: number;
}

/** strtoul/strtoull: leading blanks, an optional '+', then digits; no digits reads 0. undefined for a negative number. */
function leadingDigits(text: string): { value: number; clean: boolean } | undefined {
  const m = /^\s*(\+?)(\d*)/.exec(text)!;
  if (text.trimStart().startsWith('-')) return undefined;
  const digits = m[2]!;
  return { value: digits === '' ? 0 : Number(digits), clean: digits !== '' && m[0].length === text.length };
}

/** read_decimal_unsigned_long_func: drop the point, pad to `shift` decimals (rounding extra ones), strtoull; in seconds. */
function readDecimal(text: string, shift: number): { value: number; clean: boolean } | undefined {
  if (text.startsWith('-')) return undefined;
  const dot = text.indexOf('.');
  let decimals = dot < 0 ? '' : text.slice(dot + 1);
  let roundUp = false;
  if (decimals.length > shift) {
    roundUp = decimals[shift]! >= '5';
    decimals = decimals.slice(0, shift);
  }
  const joined = (dot < 0 ? text : text.slice(0, dot)) + decimals + '0'.repeat(shift - decimals.length);
  const digits = /^\s*\+?(\d*)/.exec(joined)![1]!;
  const micro = (digits === '' ? 0 : Number(digits)) + (roundUp ? 1 : 0);
  return { value: micro / 10 ** shift, clean: /^\d+$/.test(joined) };
}

/** What keepalived ends up with for `text`: the value, or undefined when it rejects it. */
export function keepalivedReads(text: string, rule: KeepalivedNumberRule): { value: number; clean: boolean } | undefined {
  const r = rule.decimal ? readDecimal(text, rule.digits ?? TIMER_DIGITS) : leadingDigits(text);
  if (!r) return undefined;
  const inRange = r.value >= rule.min && r.value <= rule.max;
  if (!inRange || (!r.clean && rule.lax === false)) return undefined;
  return r;
}

/**
 * A keyword taking one number, read as keepalived reads it. A clean value in
 * range is stored as is; anything else gives a warning and keepalived's outcome.
 */
export function keepalivedNumber(key: string, rule: KeepalivedNumberRule): KeywordSpec<Raw> {
  return {
    apply: (m, n, t) => {
      const a = m.arg(n, 0, 'a number');
      if (!a) return;
      m.noExtra(n, 1);
      applyNumber(m, n, t, a, key, rule);
    },
  };
}

function applyNumber(m: Mapper, n: Node, t: Raw, a: Token, key: string, rule: KeepalivedNumberRule): void {
  const kw = n.keyword.text;
  const r = keepalivedReads(a.text, rule);
  const bounds = rule.max >= Number.MAX_SAFE_INTEGER ? `of at least ${rule.min}` : `from ${rule.min} to ${rule.max}`;
  const range = `${bounds}${rule.decimal ? ' s' : ''}`;
  if (!r) {
    const outcome = 'keeps' in rule.onReject ? `ignored, ${rule.onReject.keeps} stays` : `${rule.onReject.sets} is used`;
    m.sink.warning(a, `'${kw} ${a.text}' is not a number ${range}; ${outcome}, as keepalived does ("${rule.says}")`, { text: a.text });
    if ('sets' in rule.onReject) m.set(t, key, rule.onReject.sets, a, kw);
    return;
  }
  let value = r.value;
  if (!r.clean)
    m.sink.warning(
      a,
      `'${kw} ${a.text}' is not a clean number; ${value} is used, as a running keepalived reads it ("WARNING - invalid number"; keepalived -t rejects it)`,
      {
        text: a.text,
      },
    );
  if (value === 0 && rule.zeroBecomes !== undefined) {
    m.sink.warning(a, `'${kw}' must be greater than 0; ${rule.zeroBecomes} is used, as keepalived does ("setting to ${rule.zeroBecomes}")`, { text: a.text });
    value = rule.zeroBecomes;
  }
  m.set(t, key, value, a, kw);
}

/**
 * vrrp_rt_priority: read_int_strvec, then clamped to SCHED_RR's 1..99 with
 * keepalived's messages; a word that is not a number is ignored.
 */
export function realtimePriority(key: string, process: string): KeywordSpec<Raw> {
  return {
    apply: (m, n, t) => {
      const a = m.arg(n, 0, 'a priority from 1 to 99');
      if (!a) return;
      m.noExtra(n, 1);
      const kw = n.keyword.text;
      if (!/^[+-]?\d+$/.test(a.text)) {
        m.sink.warning(
          a,
          `'${kw} ${a.text}' is not a whole number; ignored, as keepalived does ("${process} process real-time priority '${a.text}' invalid")`,
          {
            text: a.text,
          },
        );
        return;
      }
      let value = Number(a.text);
      if (value < 1 || value > 99) {
        const to = value < 1 ? 1 : 99;
        const says = value < 1 ? `less than minimum 1 - setting to minimum` : `greater than maximum 99 - setting to maximum`;
        m.sink.warning(
          a,
          `'${kw} ${a.text}' is outside SCHED_RR's 1-99; ${to} is used, as keepalived does ("${process} process real-time priority ${a.text} ${says}")`,
          {
            text: a.text,
          },
        );
        value = to;
      }
      m.set(t, key, value, a, kw);
    },
  };
}

/**
 * vrrp_cpu_slice (vipflow's own): the VRRP thread's fair-scheduling slice in
 * µs, 0 for the kernel's default. The kernel clamps a slice to 100-100000 µs;
 * a value outside is clamped here with a warning that says so, a word that is
 * not a whole number is ignored (the default 100 stays).
 */
export function cpuSlice(key: string): KeywordSpec<Raw> {
  return {
    apply: (m, n, t) => {
      const a = m.arg(n, 0, 'microseconds: 100 to 100000, or 0 for the kernel’s default');
      if (!a) return;
      m.noExtra(n, 1);
      const kw = n.keyword.text;
      if (!/^\d+$/.test(a.text)) {
        m.sink.warning(a, `'${kw} ${a.text}' is not a whole number of microseconds; ignored (the default 100 stays)`, { text: a.text });
        return;
      }
      let value = Number(a.text);
      if (value !== 0 && (value < 100 || value > 100_000)) {
        const to = value < 100 ? 100 : 100_000;
        m.sink.warning(a, `'${kw} ${a.text}': the kernel grants slices of 100 to 100000 µs; ${to} is used (0 keeps the kernel’s default)`, { text: a.text });
        value = to;
      }
      m.set(t, key, value, a, kw);
    },
  };
}

/**
 * vrrp_rlimit_rttime (and the older vrrp_rlimit_rtime): microseconds, at
 * least 1, and keepalived makes 1 into 2 (it halves the value elsewhere).
 */
export function realtimeLimit(key: string, process: string): KeywordSpec<Raw> {
  const rule: KeepalivedNumberRule = {
    decimal: false,
    min: 1,
    max: UINT_MAX,
    says: `Invalid ${process} real-time limit`,
    onReject: { keeps: 'the default 10000 µs' },
  };
  return {
    apply: (m, n, t) => {
      const a = m.arg(n, 0, 'a number of microseconds');
      if (!a) return;
      m.noExtra(n, 1);
      const kw = n.keyword.text;
      if (kw.endsWith('_rtime')) m.sink.warning(n.keyword, `'${kw}' is deprecated: use '${kw.slice(0, -5)}rttime' (keepalived says the same)`, { text: kw });
      applyNumber(m, n, t, a, key, rule);
      if (t[key] === 1) t[key] = 2;
    },
  };
}

const UINT_MAX = 4294967295;
const INT_MAX = 2147483647;
/** keepalived's TIMER_HZ: whole-second delays are stored in microseconds, so at most UINT_MAX / TIMER_HZ seconds. */
const MAX_WHOLE_SECONDS = Math.floor(UINT_MAX / 1_000_000);

/** A GARP delay in whole seconds (read_unsigned_strvec), ignored when bad: `what` names the default kept. */
export function garpDelay(key: string, keeps: string, says: string): KeywordSpec<Raw> {
  return keepalivedNumber(key, { decimal: false, min: 0, max: MAX_WHOLE_SECONDS, says, onReject: { keeps } });
}

/** A GARP repeat count: ignored when bad, 0 becomes 1. */
export function garpRepeat(key: string, keeps: string, says: string): KeywordSpec<Raw> {
  return keepalivedNumber(key, { decimal: false, min: 0, max: UINT_MAX, says, onReject: { keeps }, zeroBecomes: 1 });
}

/** A GARP refresh interval in whole seconds: a bad value turns refreshing off (0). */
export function garpRefresh(key: string, says: string): KeywordSpec<Raw> {
  return keepalivedNumber(key, { decimal: false, min: 0, max: UINT_MAX, says, onReject: { sets: 0 } });
}

/** garp_lower_prio_repeat: ignored when bad, 0 allowed. */
export function lowerPrioRepeat(key: string, keeps: string, says: string): KeywordSpec<Raw> {
  return keepalivedNumber(key, { decimal: false, min: 0, max: INT_MAX, says, onReject: { keeps } });
}

export const SMTP_CONNECT_TIMEOUT = (key: string): KeywordSpec<Raw> =>
  keepalivedNumber(key, {
    decimal: false,
    min: 0,
    max: MAX_WHOLE_SECONDS,
    says: 'smtp_connect_timeout must be in [0, 4294] - ignoring',
    onReject: { keeps: 'the default 30 s' },
    zeroBecomes: 1,
  });

/** vrrp_adv_handler: 0.01 to 255 s; a bad value is ignored and the default 1 s stays ("Advert interval not valid! Must be > 0 - ignoring"). */
export const ADVERT_INT = keepalivedNumber('advertInt', {
  decimal: true,
  min: 0.01,
  max: 255,
  says: 'Advert interval not valid! Must be > 0 - ignoring',
  onReject: { keeps: 'the default 1 s' },
});

/** vrrp_preempt_delay_handler: 0 to 1000 s (TIMER_MAX_SEC); a bad value sets no delay. */
export const PREEMPT_DELAY = keepalivedNumber('preemptDelay', {
  decimal: true,
  min: 0,
  max: 1000,
  says: 'Preempt_delay not valid! must be between 0-1000',
  onReject: { sets: 0 },
});

/** vrrp_down_timer_adverts_handler: 1 to 100, a bad value ignored. */
export const DOWN_TIMER_ADVERTS = keepalivedNumber('downTimerAdverts', {
  decimal: false,
  min: 1,
  max: 100,
  says: 'Invalid down_timer_adverts [1:100]',
  onReject: { keeps: 'the default 3' },
});

/** vrrp_script interval and timeout: whole seconds in 2.2.7 (read_unsigned_strvec; later releases take milliseconds), a bad value ignored, 0 becomes 1 s. */
export function scriptTimer(key: string, keeps: string, says: string): KeywordSpec<Raw> {
  return keepalivedNumber(key, { decimal: false, min: 0, max: MAX_WHOLE_SECONDS, says, onReject: { keeps }, zeroBecomes: 1 });
}

/** vrrp_script rise and fall: 1 up; a bad value sets 1 ("invalid, defaulting to 1"). */
export function scriptCount(key: string, says: string): KeywordSpec<Raw> {
  return keepalivedNumber(key, { decimal: false, min: 1, max: INT_MAX, says, onReject: { sets: 1 } });
}

// ---- virtual_server, real_server and checkers (check_parser.c, check_api.c) ----

/** read_timer's upper bound when a handler gives none (TIMER_MAXIMUM microseconds): no practical limit. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;
const INHERITED = 'the inherited or default value';

/** delay_loop: at least 1 us; a bad value ignored. */
export function lvsDelayLoop(key: string, says: string): KeywordSpec<Raw> {
  return keepalivedNumber(key, { decimal: true, min: 0.000001, max: NO_LIMIT, says, onReject: { keeps: INHERITED } });
}

/** connect_timeout: 1 us to UINT_MAX us; a bad value ignored. */
export function lvsConnectTimeout(key: string, says: string): KeywordSpec<Raw> {
  return keepalivedNumber(key, { decimal: true, min: 0.000001, max: UINT_MAX / 1_000_000, says, onReject: { keeps: INHERITED } });
}

/** delay_before_retry, warmup: 0 up; a bad value ignored. */
export function lvsTimer(key: string, says: string): KeywordSpec<Raw> {
  return keepalivedNumber(key, { decimal: true, min: 0, max: NO_LIMIT, says, onReject: { keeps: INHERITED } });
}

/**
 * A whole number in [min, max], a bad value ignored. `strict`: the handler
 * reads with ignore_error false (virtual_server / real_server retry,
 * persistence_timeout), so even a running keepalived rejects a word that is
 * not a clean number.
 */
export function lvsUnsigned(key: string, min: number, max: number, says: string, strict = false): KeywordSpec<Raw> {
  return keepalivedNumber(key, { decimal: false, min, max, lax: !strict, says, onReject: { keeps: INHERITED } });
}

/** virtual_server quorum: 1 up; a bad value sets 1 ("Setting to 1"). */
export function lvsQuorum(key: string): KeywordSpec<Raw> {
  return keepalivedNumber(key, { decimal: false, min: 1, max: UINT_MAX, says: 'Quorum must be in [1, 4294967295]. Setting to 1.', onReject: { sets: 1 } });
}

export const LVS_LIMITS = { UINT_MAX, INT_MAX, UINT32_MAX: UINT_MAX, LVS_MAX_TIMEOUT: 86400 * 31 } as const;

/**
 * What vrrp_vscript_weight_handler (2.2.7) stores for `weight WORD`: it reads
 * with strtol and assigns the result even when it logs the value as invalid or
 * outside [-253, 253] — leading digits (none reads 0), wrapped to a C int.
 */
export function keepalivedScriptWeight(text: string): { value: number; clean: boolean } {
  const m = /^\s*([+-]?)(\d*)/.exec(text)!;
  const digits = m[2]!;
  const read = digits === '' ? 0n : BigInt(m[1] === '-' ? `-${digits}` : digits);
  let v = read;
  const LONG_MAX = 2n ** 63n - 1n;
  if (v > LONG_MAX) v = LONG_MAX;
  if (v < -LONG_MAX - 1n) v = -LONG_MAX - 1n;
  const value = Number(BigInt.asIntN(32, v));
  return { value, clean: digits !== '' && m[0].length === text.length && read === BigInt(value) && value >= -253 && value <= 253 };
}

/**
 * vrrp_script `weight N [reverse]`. A bad N is used as keepalived stores it,
 * with a warning; vipflow caps it at ±253, which gives the same priority
 * unless other tracked objects pull the other way (keepalived adds the
 * uncapped value before it clamps the priority to 1-254).
 */
export function scriptWeight(): KeywordSpec<Raw> {
  return {
    apply: (m, n, t) => {
      const a = m.arg(n, 0, 'a weight');
      if (!a) return;
      const r = keepalivedScriptWeight(a.text);
      const value = Math.max(-253, Math.min(253, r.value));
      if (!r.clean) {
        const capped = value === r.value ? '' : `, capped to ${value} by vipflow`;
        m.sink.warning(
          a,
          `'weight ${a.text}' is not a number from -253 to 253; keepalived uses ${r.value}${capped} ("vrrp_script weight must be in [-253, 253]")`,
          {
            text: a.text,
          },
        );
      }
      m.set(t, 'weight', value, a, 'weight');
      const opt = n.args[1];
      if (opt?.text === 'reverse') m.set(t, 'reverse', true, opt, 'weight');
      else if (opt)
        m.sink.warning(opt, `'${opt.text}' after weight is not 'reverse'; ignored, as keepalived does ("unknown weight option")`, { text: opt.text });
      m.noExtra(n, 2);
    },
  };
}
