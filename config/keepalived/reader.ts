/**
 * Reads keepalived.conf text into statements (token lists), doing what
 * keepalived's read_line() does before any keyword is looked at:
 * comments (`#`, `!`, anywhere outside double quotes; `\#` / `\!` escape
 * them), `@id` / `@^id` conditional lines, `$NAME=value` definitions
 * (multi-line when a line ends with `\`), `$NAME` / `${NAME}` substitution,
 * `~SEQ(var, start, step, end)` / `~SEQx(...)` sequence lines, `include`
 * with globs relative to the including file, and splitting lines at `{` and
 * `}` so a brace is always a statement of its own.
 *
 * Every token carries file, line and column of the text it came from (for
 * substituted text: the column of the `$` that produced it). Problems become
 * diagnostics; nothing throws on bad input.
 */
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { looksBinary } from '../binary.js';
import { closest, type DiagnosticSink, type SourcePos } from '../diagnostics.js';

export interface Token {
  text: string;
  file: string;
  line: number;
  column: number;
  /** written in double quotes: never a brace, never a keyword */
  quoted: boolean;
}

/** One keyword line, or a lone `{` / `}` (unquoted). */
export type Statement = Token[];

export interface ReadOptions {
  /** keepalived's `-i`: `@id` lines are kept when id is one of these, `@^id` lines when it is not. */
  configIds?: readonly string[];
  /** for ${_ENV NAME}; process.env by default */
  env?: Readonly<Record<string, string | undefined>>;
  /** reads a file; node:fs by default (tests may inject) */
  readFile?: (path: string) => string;
  /** receives each statement as it is read (then `statements` stays empty): lets a 10 MB file be mapped without holding every token */
  onStatement?: (s: Statement) => void;
}

const MAX_INCLUDE_DEPTH = 32;
const MAX_SUBSTITUTIONS_PER_LINE = 1000;
const MAX_EXPANDED_LINES = 1_000_000;
const MAX_LINE_LENGTH = 1 << 20;

interface Definition {
  /** lines of the value; more than one for a multi-line definition */
  lines: string[];
  multiline: boolean;
}

/** A line being processed: text plus the source column of each character (1-based). */
interface Line {
  text: string;
  /** per-character columns; undefined means column = base + index + 1 */
  cols?: number[];
  base: number;
  file: string;
  line: number;
}

function colAt(l: Line, i: number): number {
  if (l.cols) return l.cols[Math.min(i, l.cols.length - 1)] ?? l.base + 1;
  return l.base + i + 1;
}

/** The part of a line from index `from` to `to`, keeping columns. */
function slice(l: Line, from: number, to = l.text.length): Line {
  const out: Line = { text: l.text.slice(from, to), base: l.base + from, file: l.file, line: l.line };
  if (l.cols) out.cols = l.cols.slice(from, to);
  return out;
}

function isWs(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\f' || c === '\v' || c === '\r' || c === '\n';
}

const NAME_START = /[A-Za-z_]/;
const SPECIAL = /[#!"\\]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

export class KeepalivedReader {
  readonly statements: Statement[] = [];
  private readonly defs = new Map<string, Definition>();
  private readonly includeStack: string[] = [];
  private capturing: { name: string; def: Definition } | undefined;
  private expanded = 0;
  private readonly configIds: ReadonlySet<string>;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly readFile: (path: string) => string;
  private currentFile = '';
  private readonly emit: (s: Statement) => void;

  constructor(
    private readonly sink: DiagnosticSink,
    options: ReadOptions = {},
  ) {
    this.configIds = new Set(options.configIds ?? []);
    this.env = options.env ?? process.env;
    this.readFile = options.readFile ?? ((p) => readFileSync(p, 'utf8'));
    this.emit = options.onStatement ?? ((st) => this.statements.push(st));
  }

  /** Reads a file (and its includes). False when the top-level file cannot be read. */
  readPath(path: string, from?: SourcePos): boolean {
    const abs = resolve(path);
    let text: string;
    try {
      text = this.readFile(abs);
    } catch (e) {
      const reason = e instanceof Error && 'code' in e ? String((e as NodeJS.ErrnoException).code) : 'unreadable';
      const pos = from ?? { file: path, line: 0, column: 0 };
      this.sink.error(pos, from ? `cannot read included file '${path}' (${reason})` : `cannot read '${path}' (${reason})`, { text: path });
      return false;
    }
    if (looksBinary(text)) {
      const pos = from ?? { file: path, line: 0, column: 0 };
      this.sink.error(pos, `${from ? 'included file ' : ''}${path} is a binary file, not a keepalived.conf`, { text: path });
      return false;
    }
    this.readText(text, from ? abs : path, abs);
    return true;
  }

  /** Reads configuration text; `file` names it in diagnostics, `absPath` resolves its includes. */
  readText(text: string, file: string, absPath = resolve(file)): void {
    let real = absPath;
    try {
      real = realpathSync(absPath);
    } catch {
      /* text not backed by a file (tests): the name is identity enough */
    }
    this.includeStack.push(real);
    const savedFile = this.currentFile;
    this.currentFile = absPath;
    try {
      let start = 0;
      let lineNo = 0;
      const n = text.length;
      while (start <= n) {
        let end = text.indexOf('\n', start);
        if (end < 0) end = n;
        lineNo++;
        if (start === n && end === n) break;
        let raw = text.slice(start, end);
        if (raw.endsWith('\r')) raw = raw.slice(0, -1);
        start = end + 1;
        this.physicalLine(raw, file, lineNo);
      }
      if (this.capturing) this.endCapture();
    } finally {
      this.includeStack.pop();
      this.currentFile = savedFile;
    }
  }

  private physicalLine(raw: string, file: string, lineNo: number): void {
    const pos = { file, line: lineNo, column: 1 };
    if (raw.length > MAX_LINE_LENGTH) {
      this.sink.error(pos, 'line too long - ignored');
      return;
    }
    if (raw.includes('\0')) {
      this.sink.error(pos, 'line contains a NUL character - ignored');
      return;
    }
    const d = this.decomment({ text: raw, base: 0, file, line: lineNo });
    const cont = this.continued;
    if (this.capturing) {
      this.captureLine(d, cont);
      return;
    }
    if (d.text.length === 0) return;
    this.processPhysical(d, cont);
  }

  /**
   * keepalived's decomment(): strips leading/trailing blanks and a comment
   * starting at `#` or `!` outside double quotes; `\#` and `\!` become literal;
   * a final `\` marks a continued (multi-line definition) line, reported
   * through `continued` (no result object per line: 10 MB is 400k lines).
   */
  private decomment(l: Line): Line {
    this.continued = false;
    if (!l.cols && !SPECIAL.test(l.text)) {
      // Most lines have no comment, quote or escape: trim and go.
      const t = l.text;
      let a = 0;
      let b = t.length;
      while (a < b && (t.charCodeAt(a) === 32 || t.charCodeAt(a) === 9)) a++;
      while (b > a && (t.charCodeAt(b - 1) === 32 || t.charCodeAt(b - 1) === 9)) b--;
      return a === 0 && b === t.length ? l : { text: t.slice(a, b), base: l.base + a, file: l.file, line: l.line };
    }
    let text = l.text;
    let lead = 0;
    while (lead < text.length && (text[lead] === ' ' || text[lead] === '\t')) lead++;
    let cols = l.cols?.slice(lead);
    const base = l.base + lead;
    text = text.slice(lead);
    let quote = false;
    let cont = false;
    let cut = text.length;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === '"') quote = !quote;
      else if (c === '\\') {
        if (i + 1 >= text.length) {
          cont = true;
          cut = i;
          break;
        }
        if (!quote && (text[i + 1] === '#' || text[i + 1] === '!')) {
          cols ??= Array.from({ length: text.length }, (_, k) => base + k + 1);
          text = text.slice(0, i) + text.slice(i + 1);
          cols.splice(i, 1);
          if (cut > text.length) cut = text.length;
        } else i++;
      } else if (!quote && (c === '#' || c === '!')) {
        cut = i;
        break;
      }
    }
    if (quote) this.sink.error({ file: l.file, line: l.line, column: base + 1 }, 'unterminated quote', { text: text.slice(0, cut).trimEnd() });
    let end = Math.min(cut, text.length);
    while (end > 0 && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
    const out: Line = { text: text.slice(0, end), base, file: l.file, line: l.line };
    if (cols) out.cols = cols.slice(0, end);
    this.continued = cont;
    return out;
  }

  /** Whether the line last given to decomment() ended with `\`. */
  private continued = false;

  private captureLine(l: Line, cont: boolean): void {
    const cap = this.capturing!;
    if (l.text.length === 0 && !cont) {
      this.endCapture();
      return;
    }
    if (l.text.length > 0) cap.def.lines.push(l.text);
    if (!cont) this.endCapture();
  }

  private endCapture(): void {
    const cap = this.capturing!;
    this.capturing = undefined;
    if (cap.def.lines.length <= 1) cap.def.multiline = false;
    if (cap.def.lines.length === 0) cap.def.lines.push('');
  }

  private pos(l: Line, i = 0): SourcePos {
    return { file: l.file, line: l.line, column: colAt(l, i) };
  }

  /** Conditionals, definitions, sequences, substitution, include; then tokens. */
  private processLine(input: Line, depth: number): void {
    let l = input;
    if (depth > 64) {
      this.sink.error(this.pos(l), 'definitions expand into each other too deeply (recursive definition?)');
      return;
    }
    if (++this.expanded > MAX_EXPANDED_LINES) {
      if (this.expanded === MAX_EXPANDED_LINES + 1) this.sink.error(this.pos(l), `configuration expands to more than ${MAX_EXPANDED_LINES} lines - stopped`);
      return;
    }
    for (let round = 0; round < 8; round++) {
      if (l.text.startsWith('@')) {
        const kept = this.conditional(l);
        if (kept === undefined) return;
        l = kept;
      }
      if (l.text.startsWith('$') && this.definition(l)) return;
      if (l.text.startsWith('~SEQ')) {
        this.sequence(l, depth);
        return;
      }
      if (l.text.startsWith('~LST')) {
        this.sink.warning(this.pos(l), "'~LST' list blocks are not supported by vipflow yet; line ignored", { text: '~LST' });
        return;
      }
      if (!l.text.includes('$')) break;
      const sub = this.substitute(l);
      if (!sub.changed) break;
      // keepalived decomments again here, which turns ${_HASH} into a comment;
      // values were decommented when defined, so vipflow keeps them as written.
      l = sub.line;
      for (const rest of sub.rest) this.deferred.push(rest);
      if (l.text.length === 0) {
        this.flushDeferred(depth);
        return;
      }
      if (!(l.text.startsWith('@') || l.text.startsWith('$') || l.text.startsWith('~'))) break;
    }
    if (/^include[rmwba]?[ \t]/.test(l.text)) this.include(l);
    else this.tokenize(l);
    this.flushDeferred(depth);
  }

  /** Lines after the first of a multi-line definition, queued while the first is processed. */
  private deferred: Line[] = [];

  private flushDeferred(depth: number): void {
    if (this.deferred.length === 0) return;
    const lines = this.deferred;
    this.deferred = [];
    for (const rest of lines) if (rest.text.length > 0) this.processLine(rest, depth + 1);
  }

  /** `@id rest` / `@^id rest`: the rest when the line applies, undefined when it does not. */
  private conditional(l: Line): Line | undefined {
    const negate = l.text[1] === '^';
    const idStart = negate ? 2 : 1;
    let i = idStart;
    while (i < l.text.length && !isWs(l.text[i])) i++;
    const id = l.text.slice(idStart, i);
    if (id.length === 0) {
      this.sink.error(this.pos(l), `conditional '${negate ? '@^' : '@'}' must be followed directly by a config id (no space)`, {
        text: l.text.slice(0, idStart),
      });
      return undefined;
    }
    let j = i;
    while (j < l.text.length && isWs(l.text[j])) j++;
    if (j >= l.text.length) {
      this.sink.error(this.pos(l), `conditional '${l.text.slice(0, i)}' has nothing after it`, { text: l.text.slice(0, i) });
      return undefined;
    }
    const matches = this.configIds.has(id);
    return matches !== negate ? slice(l, j) : undefined;
  }

  /** `$NAME=value` (no blank before '='); true when the line was a definition. */
  private definition(l: Line): boolean {
    const m = /^\$([A-Za-z_][A-Za-z0-9_]*)=/.exec(l.text);
    if (!m) return false;
    let value = l.text.slice(m[0].length).replace(/^[ \t]+/, '');
    const def: Definition = { lines: [], multiline: false };
    this.defs.set(m[1]!, def);
    // The final '\' is gone from the text (decomment() took it); processPhysical() kept the fact in lastCont.
    if (this.lastCont) {
      this.lastCont = false;
      value = value.replace(/[ \t]+$/, '');
      if (value.length > 0) def.lines.push(value);
      def.multiline = true;
      this.capturing = { name: m[1]!, def };
      return true;
    }
    def.lines.push(value);
    return true;
  }

  /** Set by processLine's caller chain when the current physical line ended with `\`. */
  private lastCont = false;

  /** `~SEQ(var, [start,] [step,] end) rest` — processes rest once per value. */
  private sequence(l: Line, depth: number): void {
    const m = /^~SEQ(x?)[ \t]*\(/.exec(l.text);
    const close = l.text.indexOf(')');
    if (!m || close < 0) {
      this.sink.error(this.pos(l), close < 0 ? "'~SEQ' is missing its closing ')'" : "invalid '~SEQ' (expected ~SEQ(var, start, step, end))", { text: l.text });
      return;
    }
    const hex = m[1] === 'x';
    let inner = l.text.slice(m[0].length, close);
    if (inner.includes('$')) inner = this.substitute({ text: inner, base: l.base, file: l.file, line: l.line }).line.text;
    const parts = inner.split(',').map((s) => s.trim());
    const name = parts[0] ?? '';
    const bad = (why: string): void => this.sink.error(this.pos(l), `invalid '~SEQ': ${why}`, { text: l.text.slice(0, close + 1) });
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return bad(`'${name}' is not a variable name`);
    const nums: number[] = [];
    for (const p of parts.slice(1)) {
      if (!/^[+-]?(0x[0-9a-fA-F]+|\d+)$/.test(p)) return bad(`'${p}' is not an integer`);
      nums.push(p.replace(/^[+-]/, '').startsWith('0x') ? (p.startsWith('-') ? -1 : 1) * parseInt(p.replace(/^[+-]?0x/, ''), 16) : Number(p));
    }
    let start: number, step: number, end: number;
    if (nums.length === 1) {
      end = nums[0]!;
      start = end < 0 ? -1 : 1;
      step = end < 1 ? -1 : 1;
    } else if (nums.length === 2) {
      [start, end] = nums as [number, number];
      step = start <= end ? 1 : -1;
    } else if (nums.length === 3) {
      [start, step, end] = nums as [number, number, number];
      if (step === 0 || (start < end && step < 0) || (start > end && step > 0)) return bad(`step ${step} never goes from ${start} to ${end}`);
    } else return bad(`expected 1 to 3 numbers after the variable, got ${nums.length}`);
    if (hex && (start < 0 || end < 0)) return bad('~SEQx is only valid for positive numbers');
    let restStart = close + 1;
    while (restStart < l.text.length && isWs(l.text[restStart])) restStart++;
    const rest = slice(l, restStart);
    if (rest.text.length === 0) return bad('nothing follows the sequence');
    const count = Math.floor((end - start) / step) + 1;
    if (count > MAX_EXPANDED_LINES) return bad(`${count} iterations is too many`);
    for (let v = start; step > 0 ? v <= end : v >= end; v += step) {
      this.defs.set(name, { lines: [hex ? v.toString(16) : String(v)], multiline: false });
      this.processLine(rest, depth + 1);
      if (this.expanded > MAX_EXPANDED_LINES) return;
    }
  }

  private builtin(name: string, params: string[], l: Line): string | undefined {
    switch (name) {
      case '_PWD':
        return dirname(this.currentFile);
      case '_INSTANCE':
        return [...this.configIds][0] ?? '';
      case '_HASH':
        return '#';
      case '_BANG':
        return '!';
      case '_ENV':
        return params[0] !== undefined ? (this.env[params[0]] ?? '') : undefined;
      case '_RANDOM': {
        const min = params.length >= 2 ? Number(params[0]) : 0;
        const max = params.length >= 2 ? Number(params[1]) : params.length === 1 ? Number(params[0]) : 32767;
        if (!Number.isFinite(min) || !Number.isFinite(max) || max < min) {
          this.sink.error(this.pos(l), `invalid \${_RANDOM} range ${params.join(' ')}`);
          return '0';
        }
        return String(min + Math.floor(Math.random() * (max - min + 1)));
      }
      default:
        return undefined;
    }
  }

  /**
   * Replaces `$NAME` (followed by blank, ',', ')' or end of line) and
   * `${NAME}` / `${NAME params}`, rescanning replaced text (definitions may
   * refer to definitions). An undefined name is left as it is, as keepalived
   * does: `${NAME}` is then an error (the braces say a definition was meant),
   * bare `$NAME` a warning (scripts use shell variables).
   */
  private substitute(l: Line): { line: Line; changed: boolean; rest: Line[] } {
    let text = l.text;
    let cols: number[] | undefined;
    const ensureCols = (): number[] => (cols ??= Array.from({ length: text.length }, (_, k) => colAt(l, k)));
    let changed = false;
    let count = 0;
    let rest: Line[] = [];
    let i = text.indexOf('$');
    while (i >= 0 && i < text.length - 1) {
      const braces = text[i + 1] === '{';
      const nameStart = braces ? i + 2 : i + 1;
      let j = nameStart;
      if (!NAME_START.test(text[j] ?? '')) {
        i = text.indexOf('$', i + 1);
        continue;
      }
      while (j < text.length && NAME_CHAR.test(text[j]!)) j++;
      const name = text.slice(nameStart, j);
      let params: string[] = [];
      let end: number;
      if (braces) {
        const close = text.indexOf('}', j);
        const inner = close < 0 ? undefined : text.slice(j, close);
        if (inner === undefined || !/^[ \tA-Za-z0-9_]*$/.test(inner)) {
          i = text.indexOf('$', i + 1);
          continue;
        }
        params = inner.trim().length > 0 ? inner.trim().split(/[ \t]+/) : [];
        end = close + 1;
      } else {
        const next = text[j];
        if (next !== undefined && !isWs(next) && next !== ',' && next !== ')') {
          i = text.indexOf('$', i + 1);
          continue;
        }
        end = j;
      }
      const at: SourcePos = { file: l.file, line: l.line, column: cols ? cols[i]! : colAt(l, i) };
      const def = this.defs.get(name);
      let value: string | undefined;
      let extra: string[] = [];
      if (def) {
        if (def.multiline) {
          if (end !== text.length) {
            this.sink.error(at, `multi-line definition '$${name}' must be the last thing on its line`, { text: text.slice(i, end) });
            i = text.indexOf('$', end);
            continue;
          }
          value = def.lines[0] ?? '';
          extra = def.lines.slice(1);
        } else value = def.lines[0] ?? '';
      } else if (name.startsWith('_')) value = this.builtin(name, params, l);
      if (value === undefined) {
        if (braces) {
          // Left in place, '${X}' would split at its braces and cascade into block errors.
          this.sink.error(at, `undefined parameter '\${${name}}' (line ignored)`, { text: text.slice(i, end), ...this.suggestDef(name) });
          return { line: { text: '', base: l.base, file: l.file, line: l.line }, changed: true, rest: [] };
        }
        this.sink.warning(at, `undefined parameter '$${name}' left as written`, { text: text.slice(i, end), ...this.suggestDef(name) });
        i = text.indexOf('$', end);
        continue;
      }
      if (++count > MAX_SUBSTITUTIONS_PER_LINE) {
        this.sink.error(at, 'parameter substitution does not terminate (recursive definition?); line ignored', { text: text.slice(i, end) });
        return { line: { text: '', base: l.base, file: l.file, line: l.line }, changed: true, rest: [] };
      }
      const c = ensureCols();
      text = text.slice(0, i) + value + text.slice(end);
      cols = [...c.slice(0, i), ...new Array<number>(value.length).fill(at.column), ...c.slice(end)];
      changed = true;
      if (extra.length > 0) {
        rest = extra.map((t) => ({ text: t, base: at.column - 1, cols: new Array<number>(t.length).fill(at.column), file: l.file, line: l.line }));
      }
      // Rescan from the replacement: values may contain further parameters.
      i = text.indexOf('$', i);
      if (value.trimStart().startsWith('~')) break;
    }
    const out: Line = { text, base: l.base, file: l.file, line: l.line };
    if (cols) out.cols = cols;
    else if (l.cols) out.cols = l.cols;
    return { line: out, changed, rest };
  }

  private suggestDef(name: string): { hint?: string } {
    const best = closest(name, this.defs.keys());
    return best !== undefined ? { hint: `did you mean '$${best}'?` } : {};
  }

  private include(l: Line): void {
    const m = /^include([rmwba]?)[ \t]+/.exec(l.text)!;
    const variant = m[1] ?? '';
    const pattern = l.text.slice(m[0].length).trim();
    const at = this.pos(l, m[0].length);
    if (pattern.length === 0) {
      this.sink.error(this.pos(l), `'include${variant}' needs a file name`);
      return;
    }
    if (this.includeStack.length >= MAX_INCLUDE_DEPTH) {
      this.sink.error(at, `includes nested deeper than ${MAX_INCLUDE_DEPTH}`, { text: pattern });
      return;
    }
    const base = dirname(this.currentFile);
    const full = isAbsolute(pattern) ? pattern : join(base, pattern);
    const isGlob = /[*?[{]/.test(pattern);
    const files = isGlob ? expandGlob(full) : [full];
    if (files.length === 0) {
      // keepalived's plain `include` tolerates an empty wildcard (optional conf.d); the checked variants do not.
      if (variant === '' || variant === 'r') this.sink.warning(at, `'${pattern}' matches no file`, { text: pattern });
      else this.sink.error(at, `'${pattern}' matches no file`, { text: pattern });
      return;
    }
    for (const f of files) {
      let real = f;
      try {
        real = realpathSync(f);
      } catch {
        this.sink.error(at, `included file '${pattern}' not found`, { text: pattern });
        continue;
      }
      const loopAt = this.includeStack.indexOf(real);
      if (loopAt >= 0) {
        const chain = [...this.includeStack.slice(loopAt), real].map((p) => p.split('/').pop()).join(' -> ');
        this.sink.error(at, `include loop: ${chain}`, { text: pattern });
        continue;
      }
      this.readPath(f, at);
    }
  }

  /** Splits a processed line into tokens and statements (braces on their own). */
  private tokenize(l: Line): void {
    const text = l.text;
    const n = text.length;
    let cur: Token[] = [];
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || (c >= 9 && c <= 13)) {
        i++;
        continue;
      }
      if (c === 123 || c === 125) {
        if (cur.length > 0) this.emit(cur);
        cur = [];
        this.emit([{ text: c === 123 ? '{' : '}', file: l.file, line: l.line, column: colAt(l, i), quoted: false }]);
        i++;
        continue;
      }
      if (c === 34) {
        const close = text.indexOf('"', i + 1);
        // An unterminated quote was reported by decomment(); the text is kept.
        const end = close < 0 ? n : close;
        cur.push({ text: text.slice(i + 1, end), file: l.file, line: l.line, column: colAt(l, i), quoted: true });
        i = end + 1;
        continue;
      }
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 32 || (d >= 9 && d <= 13) || d === 34 || d === 123 || d === 125) break;
        j++;
      }
      cur.push({ text: text.slice(i, j), file: l.file, line: l.line, column: colAt(l, i), quoted: false });
      i = j;
    }
    if (cur.length > 0) this.emit(cur);
  }

  /** processLine entry for a file line; remembers whether it ended with `\\`. */
  private processPhysical(l: Line, cont: boolean): void {
    this.lastCont = cont;
    const before = this.capturing;
    this.processLine(l, 0);
    if (this.lastCont && this.capturing === before) {
      this.sink.warning(
        { file: l.file, line: l.line, column: l.base + l.text.length + 1 },
        "trailing '\\' ignored: only $NAME= definitions continue on the next line",
        { text: '\\' },
      );
    }
    this.lastCont = false;
  }
}

/** Turns one glob path segment into a RegExp (`*`, `?`, `[...]`). */
function segmentRegex(seg: string): RegExp {
  let re = '^';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = seg.indexOf(']', i + 1);
      if (close < 0) re += '\\[';
      else {
        const body = seg
          .slice(i + 1, close)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** Expands csh-style `{a,b}` alternatives (glob's GLOB_BRACE). */
function expandBraces(p: string): string[] {
  const open = p.indexOf('{');
  if (open < 0) return [p];
  let depth = 0;
  let close = -1;
  const alts: string[] = [];
  let start = open + 1;
  for (let i = open; i < p.length; i++) {
    if (p[i] === '{') depth++;
    else if (p[i] === '}') {
      depth--;
      if (depth === 0) {
        close = i;
        break;
      }
    } else if (p[i] === ',' && depth === 1) {
      alts.push(p.slice(start, i));
      start = i + 1;
    }
  }
  if (close < 0) return [p];
  alts.push(p.slice(start, close));
  const out: string[] = [];
  for (const a of alts) out.push(...expandBraces(p.slice(0, open) + a + p.slice(close + 1)));
  return out;
}

/** Files matching an absolute glob, sorted per pattern (as glob(3) does). */
function expandGlob(pattern: string): string[] {
  const out: string[] = [];
  for (const p of expandBraces(pattern)) {
    const segs = p.split('/').filter((s, k) => k === 0 || s.length > 0);
    let paths = [segs[0] === '' ? '/' : segs[0]!];
    for (const seg of segs.slice(1)) {
      const next: string[] = [];
      for (const dir of paths) {
        if (!/[*?[]/.test(seg)) {
          next.push(join(dir, seg));
          continue;
        }
        let names: string[];
        try {
          names = readdirSync(dir).sort();
        } catch {
          continue;
        }
        const re = segmentRegex(seg);
        for (const n of names) if (re.test(n) && !(n.startsWith('.') && !seg.startsWith('.'))) next.push(join(dir, n));
      }
      paths = next;
    }
    for (const f of paths) {
      try {
        if (statSync(f).isFile()) out.push(f);
      } catch {
        /* a literal segment that does not exist: no match */
      }
    }
  }
  return out;
}
