/**
 * The machinery the keyword tables run on: walking a block through its
 * section's table, reading typed values out of tokens, and remembering where
 * each model field came from so schema errors point at the source text.
 */
import { didYouMean, type DiagnosticSink } from '../diagnostics.js';
import { ipFamily, parseCidr } from '../net.js';
import type { Token } from './reader.js';
import type { Node } from './tree.js';

/** A raw model object under construction; the schema validates it afterwards. */
export type Raw = Record<string, unknown>;

/** Where a model field came from: the token that gave its value and the keyword that set it. */
export interface FieldOrigin {
  token: Token;
  keyword: string;
}

const FIELD_TOKENS = Symbol('vipflow.fieldTokens');
const FIELD_KEYWORDS = Symbol('vipflow.fieldKeywords');
const SELF = Symbol('vipflow.origin');

interface Annotated {
  [FIELD_TOKENS]?: Record<string, Token>;
  [FIELD_KEYWORDS]?: Record<string, string>;
  [SELF]?: FieldOrigin;
}

/** Finds the origin of a model path; implemented by Origins. */
export interface OriginLookup {
  get(path: string): FieldOrigin | undefined;
}

/**
 * Field origins kept on the raw model objects under symbol keys (invisible to
 * the schema, to JSON and to Object.keys) rather than under path strings or in
 * a WeakMap: a 10 MB configuration sets about a million fields, and path
 * strings or ephemeron tables for each cost more than the parse itself. Lookups walk a
 * dot-joined model path from the root (array indices of the validated model
 * equal the raw ones, so schema and semantic-check paths resolve alike).
 */
export class Origins implements OriginLookup {
  constructor(private readonly root: object) {}

  /** Records the origin of `container[key]` (token and keyword in two records per object, none per field). */
  field(container: object, key: string | number, token: Token, keyword: string): void {
    const c = container as Annotated;
    (c[FIELD_TOKENS] ??= {})[key] = token;
    (c[FIELD_KEYWORDS] ??= {})[key] = keyword;
  }

  /** Records the origin of an object as a whole (an instance: its name). */
  self(obj: object, token: Token, keyword: string): void {
    (obj as Annotated)[SELF] = { token, keyword };
  }

  /** The origin of the value at `path` ("vrrpInstances.2.priority"), if recorded. */
  get(path: string): FieldOrigin | undefined {
    const segs = path === '' ? [] : path.split('.');
    let parent: unknown;
    let cur: unknown = this.root;
    for (const s of segs) {
      if (cur === null || typeof cur !== 'object') return undefined;
      parent = cur;
      cur = (cur as Record<string, unknown>)[s];
    }
    const last = segs.at(-1);
    if (parent !== undefined && last !== undefined) {
      const p = parent as Annotated;
      const token = p[FIELD_TOKENS]?.[last];
      if (token) return { token, keyword: p[FIELD_KEYWORDS]?.[last] ?? '' };
    }
    return cur !== null && typeof cur === 'object' ? (cur as Annotated)[SELF] : undefined;
  }
}

/**
 * How a keyword's block is written: `block` a keyword section of its own,
 * `values` a list of entries one per line (virtual_ipaddress), `none` no block.
 */
export type BlockKind = 'none' | 'block' | 'values';

export interface KeywordSpec<T extends Raw = Raw> {
  block?: BlockKind;
  /** undefined: keepalived knows the keyword, vipflow does not act on it (warning) */
  apply?: (m: Mapper, node: Node, target: T) => void;
  /** shown instead of the generic "not acted on" text */
  note?: string;
}

export type KeywordTable<T extends Raw = Raw> = Readonly<Record<string, KeywordSpec<T>>>;

/** Section-specific handling of a keyword not in its table (legacy syntax); true when handled. */
export type Fallback<T extends Raw> = (m: Mapper, node: Node, target: T) => boolean;

export class Mapper {
  readonly origins: Origins;

  constructor(
    readonly sink: DiagnosticSink,
    /** the model under construction: what the file has defined so far, for keywords keepalived resolves while reading */
    readonly root: Raw,
    /** sections where a keyword is valid, for hints when it is used elsewhere */
    private readonly homes: ReadonlyMap<string, readonly string[]> = new Map(),
  ) {
    this.origins = new Origins(root);
  }

  private unknownHint(word: string, table: KeywordTable<Raw>): { hint?: string } {
    const typo = didYouMean(word, Object.keys(table));
    if (typo.hint) return typo;
    const homes = this.homes.get(word);
    return homes && homes.length > 0 ? { hint: `'${word}' belongs in ${homes.join(' or ')}` } : {};
  }

  /** Runs every node of a block through the section's table. */
  walk<T extends Raw>(nodes: readonly Node[], table: KeywordTable<T>, target: T, section: string, fallback?: Fallback<T>): void {
    for (const node of nodes) {
      const kw = node.keyword;
      const spec = kw.quoted ? undefined : Object.hasOwn(table, kw.text) ? table[kw.text] : undefined;
      if (!spec) {
        if (fallback?.(this, node, target)) continue;
        this.unknownKeyword(node, section, table as KeywordTable<Raw>);
        continue;
      }
      const want = spec.block ?? 'none';
      if (want !== 'none' && !node.block) {
        this.sink.error(kw, `'${kw.text}' needs a '{ ... }' block`, { text: kw.text });
        continue;
      }
      if (!spec.apply) {
        this.sink.warning(kw, spec.note ?? `'${kw.text}' is accepted by keepalived but vipflow does not act on it yet; ignored`, { text: kw.text });
        continue;
      }
      if (want === 'none' && node.block) {
        this.sink.error(node.open ?? kw, `'${kw.text}' does not take a block`, { text: '{' });
        continue;
      }
      spec.apply(this, node, target);
    }
  }

  /**
   * keepalived logs "Unknown keyword" and carries on with the next line, so a
   * stray word is a warning. A block after it is not skipped by keepalived:
   * at the top level each of its lines is another unknown keyword (ignored
   * too), but inside a section its '}' closes that section and the rest of it
   * is read in the wrong place, so running would not do what the file says (an error).
   */
  private unknownKeyword(node: Node, section: string, table: KeywordTable<Raw>): void {
    const kw = node.keyword;
    const hint = this.unknownHint(kw.text, table);
    if (node.block && section === 'the top level') {
      this.sink.warning(kw, `unknown keyword '${kw.text}' at the top level; ignored with its block (keepalived logs "Unknown keyword" for each of its lines)`, {
        text: kw.text,
        ...hint,
      });
      return;
    }
    if (node.block) {
      this.sink.error(
        kw,
        `unknown keyword '${kw.text}' with a block in ${section}: keepalived does not skip the block, its '}' would end ${section} early and the lines after it would be misread`,
        { text: kw.text, ...hint },
      );
      return;
    }
    this.sink.warning(kw, `unknown keyword '${kw.text}' in ${section}; ignored (keepalived logs "Unknown keyword" and ignores the line)`, {
      text: kw.text,
      ...hint,
    });
  }

  /** Records where `container[key]` came from. */
  at(container: object, key: string | number, tok: Token, keyword: string): void {
    this.origins.field(container, key, tok, keyword);
  }

  /** Records where an object (list entry, named block) came from. */
  self(obj: object, tok: Token, keyword: string): void {
    this.origins.self(obj, tok, keyword);
  }

  set(target: Raw, key: string, value: unknown, tok: Token, keyword: string): void {
    target[key] = value;
    this.origins.field(target, key, tok, keyword);
  }

  /** The i-th argument, or an error naming what is missing. */
  arg(node: Node, i = 0, what = 'a value'): Token | undefined {
    const t = node.args[i];
    if (!t) this.sink.error(node.keyword, `'${node.keyword.text}' needs ${what}`, { text: node.keyword.text });
    return t;
  }

  /**
   * Words beyond the first `n`: keepalived's handlers read the words they
   * expect and never look further (`nopreempt 1` is plain nopreempt), so
   * vipflow ignores them too, with a warning naming them.
   */
  noExtra(node: Node, n: number): void {
    const t = node.args[n];
    if (!t) return;
    const more = node.args.length - n - 1;
    const rest = more > 0 ? ` and ${more} more word(s)` : '';
    this.sink.warning(t, `extra '${t.text}'${rest} after '${node.keyword.text}' ignored (keepalived ignores words a keyword does not take)`, { text: t.text });
  }

  int(tok: Token | undefined, keyword: string): number | undefined {
    if (!tok) return undefined;
    if (!/^[+-]?\d+$/.test(tok.text)) {
      this.sink.error(tok, `invalid integer '${tok.text}' for '${keyword}'`, { text: tok.text });
      return undefined;
    }
    return Number(tok.text);
  }

  /** A decimal number of seconds (keepalived's TIMER: fractions allowed). */
  seconds(tok: Token | undefined, keyword: string): number | undefined {
    if (!tok) return undefined;
    if (!/^\d+(\.\d+)?$|^\.\d+$/.test(tok.text)) {
      this.sink.error(tok, `invalid number of seconds '${tok.text}' for '${keyword}'`, { text: tok.text });
      return undefined;
    }
    return Number(tok.text);
  }

  /** keepalived's <BOOL>: no argument means true; on/true/yes, off/false/no. */
  bool(node: Node, i = 0): boolean | undefined {
    const t = node.args[i];
    if (!t) return true;
    if (['on', 'true', 'yes'].includes(t.text)) return true;
    if (['off', 'false', 'no'].includes(t.text)) return false;
    this.sink.error(t, `invalid boolean '${t.text}' for '${node.keyword.text}' (use on|off|true|false|yes|no)`, {
      text: t.text,
      ...didYouMean(t.text, ['on', 'off', 'true', 'false', 'yes', 'no']),
    });
    return undefined;
  }

  ip(tok: Token | undefined, keyword: string, family?: 4 | 6): string | undefined {
    if (!tok) return undefined;
    const f = ipFamily(tok.text);
    if (f === undefined || (family !== undefined && f !== family)) {
      const kind = family === 4 ? 'IPv4 address' : family === 6 ? 'IPv6 address' : 'IP address';
      this.sink.error(tok, `invalid ${kind} '${tok.text}' for '${keyword}'`, { text: tok.text });
      return undefined;
    }
    return tok.text;
  }

  cidr(tok: Token, keyword: string): { address: string; prefix?: number } | undefined {
    const c = parseCidr(tok.text);
    if (!c) {
      this.sink.error(tok, `invalid address '${tok.text}' for '${keyword}'`, { text: tok.text });
      return undefined;
    }
    return c.prefix === undefined ? { address: c.address } : { address: c.address, prefix: c.prefix };
  }

  /** One of a fixed set of words; suggests the closest on a mismatch. */
  oneOf<const W extends string>(tok: Token | undefined, keyword: string, words: readonly W[], caseInsensitive = false): W | undefined {
    if (!tok) return undefined;
    const found = words.find((w) => (caseInsensitive ? w.toLowerCase() === tok.text.toLowerCase() : w === tok.text));
    if (found === undefined) {
      this.sink.error(tok, `invalid value '${tok.text}' for '${keyword}' (expected ${words.join('|')})`, { text: tok.text, ...didYouMean(tok.text, words) });
    }
    return found;
  }

  /** Entries of a `values` block: a nested block is an error, each line is a Node. */
  values(node: Node): Node[] {
    const out: Node[] = [];
    for (const e of node.block ?? []) {
      if (e.block) this.sink.error(e.open ?? e.keyword, `unexpected '{' inside '${node.keyword.text}'`, { text: '{' });
      out.push(e);
    }
    return out;
  }
}

/** One `KEY [VALUE]` option of an entry line; without `apply`, known to keepalived but not acted on. */
export interface OptionSpec {
  takesValue: boolean;
  /** `value` is present exactly when takesValue */
  apply?: (m: Mapper, out: Raw, value: Token | undefined, key: Token) => void;
}

/**
 * Parses `KEY VALUE` option pairs after an entry's first word (VIPs, peers,
 * track entries) into `out`. The tables are static so that a file with
 * thousands of entries does not build thousands of closures.
 */
export function options(
  m: Mapper,
  entry: Node,
  out: Raw,
  context: string,
  spec: Readonly<Record<string, OptionSpec>>,
  /** keepalived's message where it ignores an unknown word and reads on (VIP lines); without it an unknown option is an error */
  unknownIgnored?: string,
): void {
  const args = entry.args;
  for (let i = 0; i < args.length; i++) {
    const key = args[i]!;
    const s = Object.hasOwn(spec, key.text) ? spec[key.text] : undefined;
    if (!s && unknownIgnored) {
      m.sink.warning(key, `unknown option '${key.text}' in '${context}' entry ignored, as keepalived does ("${unknownIgnored}")`, {
        text: key.text,
        ...didYouMean(key.text, Object.keys(spec)),
      });
      continue;
    }
    if (!s) {
      m.sink.error(key, `unknown option '${key.text}' in '${context}' entry`, { text: key.text, ...didYouMean(key.text, Object.keys(spec)) });
      // Most options take a value: skip the next word too unless it is an option itself.
      const next = args[i + 1];
      if (next && !Object.hasOwn(spec, next.text)) i++;
      continue;
    }
    let value: Token | undefined;
    if (s.takesValue) {
      value = args[i + 1];
      i++;
      if (!value) {
        m.sink.error(key, `option '${key.text}' needs a value`, { text: key.text });
        continue;
      }
    }
    if (s.apply) s.apply(m, out, value, key);
    else
      m.sink.warning(key, `option '${key.text}' in '${context}' entry is accepted by keepalived but vipflow does not act on it yet; ignored`, {
        text: key.text,
      });
  }
}
