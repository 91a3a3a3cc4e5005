/**
 * Configuration diagnostics: the one currency every config stage (lexer,
 * parser, keyword mapping, schema, semantic checks) reports in, so the CLI and
 * the daemon print them the same way and tests can match them exactly.
 */

export type Severity = 'error' | 'warning';

/** A source position: 1-based line and column in a named file. */
export interface SourcePos {
  file: string;
  line: number;
  column: number;
}

export interface Diagnostic extends SourcePos {
  severity: Severity;
  message: string;
  /** e.g. "did you mean 'priority'?" */
  hint?: string;
  /** The offending text, when there is one (keyword, value, token). */
  text?: string;
  /** Only on the note that ends a capped list: the diagnostics it stands for, which totals must include. */
  omitted?: { errors: number; warnings: number };
}

/** A position used when a diagnostic has no source (a typed config, an unreadable file). */
export function nowhere(file: string): SourcePos {
  return { file, line: 0, column: 0 };
}

/**
 * Collects diagnostics; stages share one so ordering follows processing order.
 * Past `limit` items only counts are kept (a generated 10 MB file with one
 * systematic mistake would otherwise print a million lines); `items` then
 * ends with one diagnostic saying how many were left out.
 */
export class DiagnosticSink {
  private readonly list: Diagnostic[] = [];
  private suppressed = 0;
  private suppressedErrors = 0;
  private errors = 0;

  constructor(private readonly limit = 1000) {}

  get items(): Diagnostic[] {
    if (this.suppressed === 0) return this.list;
    const last = this.list[this.list.length - 1]!;
    const note: Diagnostic = {
      severity: this.suppressedErrors > 0 ? 'error' : 'warning',
      file: last.file,
      line: 0,
      column: 0,
      message: `${this.suppressed} more diagnostic(s) not shown (${this.suppressedErrors} error(s), ${this.suppressed - this.suppressedErrors} warning(s))`,
      omitted: { errors: this.suppressedErrors, warnings: this.suppressed - this.suppressedErrors },
    };
    return [...this.list, note];
  }

  error(pos: SourcePos, message: string, extra: { hint?: string; text?: string } = {}): void {
    this.push('error', pos, message, extra);
  }

  warning(pos: SourcePos, message: string, extra: { hint?: string; text?: string } = {}): void {
    this.push('warning', pos, message, extra);
  }

  /** Adds diagnostics made elsewhere (semantic checks). */
  add(ds: readonly Diagnostic[]): void {
    for (const d of ds) this.push(d.severity, d, d.message, d);
  }

  get errorCount(): number {
    return this.errors;
  }

  private push(severity: Severity, pos: SourcePos, message: string, extra: { hint?: string | undefined; text?: string | undefined }): void {
    if (severity === 'error') this.errors++;
    if (this.list.length >= this.limit) {
      this.suppressed++;
      if (severity === 'error') this.suppressedErrors++;
      return;
    }
    const d: Diagnostic = { severity, file: pos.file, line: pos.line, column: pos.column, message };
    if (extra.hint !== undefined) d.hint = extra.hint;
    if (extra.text !== undefined) d.text = extra.text;
    this.list.push(d);
  }
}

/**
 * Totals over a list, counting what a capped list's closing note stands for
 * rather than the note itself; `notShown` is how many of them are not listed.
 */
export function countDiagnostics(diagnostics: readonly Diagnostic[]): { errors: number; warnings: number; notShown: number } {
  let errors = 0;
  let warnings = 0;
  let notShown = 0;
  for (const d of diagnostics) {
    if (d.omitted) {
      errors += d.omitted.errors;
      warnings += d.omitted.warnings;
      notShown += d.omitted.errors + d.omitted.warnings;
    } else if (d.severity === 'error') errors++;
    else warnings++;
  }
  return { errors, warnings, notShown };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/**
 * Edit distance counting a swap of two neighbours as one edit (optimal
 * string alignment), since "lable" for "label" is one slip of the fingers.
 * Returns max+1 as soon as the distance must exceed max.
 */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev2 = new Array<number>(b.length + 1).fill(0);
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[b.length]!;
}

/**
 * The closest candidate to `word`, if close enough to be a plausible typo:
 * at most a third of the word's length in edits (1 to 3; none for words under 3 characters),
 * compared case-insensitively so "MASTER" vs "master" always matches; failing
 * that, a candidate the word abbreviates (at least 3 characters).
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const budget = w.length < 3 ? 0 : Math.max(1, Math.min(3, Math.floor(w.length / 3)));
  let best: string | undefined;
  let bestD = budget + 1;
  let prefixOf: string | undefined;
  for (const c of candidates) {
    const lc = c.toLowerCase();
    const d = editDistance(w, lc, bestD - 1);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
    if (prefixOf === undefined && w.length >= 3 && lc.startsWith(w)) prefixOf = c;
  }
  return best ?? prefixOf;
}

export function didYouMean(word: string, candidates: Iterable<string>): { hint?: string } {
  const c = closest(word, candidates);
  return c !== undefined && c !== word ? { hint: `did you mean '${c}'?` } : {};
}

/**
 * Compiler-style text: `file:line:col: severity: message`, the source line,
 * a caret under the column, then `hint: ...`. `sourceLine` returns the text
 * of a line when it is known (the CLI reads the files; tests may not).
 */
export function formatDiagnostic(d: Diagnostic, sourceLine?: (file: string, line: number) => string | undefined): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  const out = [`${where}: ${d.severity}: ${d.message}`];
  const src = d.line > 0 ? sourceLine?.(d.file, d.line) : undefined;
  if (src !== undefined) {
    const text = src.replace(/\t/g, ' ');
    out.push(`  ${text}`);
    const width = Math.max(1, d.text !== undefined && d.text.length > 0 ? Math.min(d.text.length, text.length - d.column + 1) : 1);
    out.push(`  ${' '.repeat(Math.max(0, d.column - 1))}^${'~'.repeat(Math.max(0, width - 1))}`);
  }
  if (d.hint !== undefined) out.push(`  hint: ${d.hint}`);
  return out.join('\n');
}
