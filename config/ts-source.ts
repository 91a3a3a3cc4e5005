/**
 * Positions inside a vipflow.config.ts / .js: a schema issue names a model
 * path (vrrpInstances.0.priority), the user wants the line of the property
 * they wrote. The source is parsed with the TypeScript compiler API, which is
 * a development dependency: it is loaded only when a diagnostic needs a
 * position, and without it diagnostics keep their model paths (line 0).
 */
import { readFileSync } from 'node:fs';
import type * as TS from 'typescript';

export type TypeScriptApi = typeof TS;

let cached: Promise<TypeScriptApi | null> | undefined;

/** The compiler API, or null when the typescript package is not installed. Loaded once. */
export function loadTypeScript(): Promise<TypeScriptApi | null> {
  cached ??= import('typescript').then(
    (m) => (m as unknown as { default?: TypeScriptApi }).default ?? (m as unknown as TypeScriptApi),
    () => null,
  );
  return cached;
}

/** Where a model path was found: the property's name (or the element) and whether the whole path matched. */
export interface PathPosition {
  line: number;
  column: number;
  /** the source text at the position (a property name), for the caret's width */
  text: string;
  /** false: only an enclosing property was found (a spread, a computed value, a missing key) */
  exact: boolean;
}

/** Parses a config module once and answers path → position questions about it. */
export class ConfigSource {
  private readonly sf: TS.SourceFile;
  private readonly root: TS.Expression | undefined;
  private readonly consts = new Map<string, TS.Expression>();

  constructor(
    private readonly ts: TypeScriptApi,
    file: string,
    text: string,
  ) {
    this.sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, /\.[cm]?js$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS);
    for (const st of this.sf.statements) {
      if (!ts.isVariableStatement(st)) continue;
      for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name) && d.initializer) this.consts.set(d.name.text, d.initializer);
    }
    this.root = this.findRoot();
  }

  /** Reads and parses `file`; null when it cannot be read. */
  static read(ts: TypeScriptApi, file: string): ConfigSource | null {
    try {
      return new ConfigSource(ts, file, readFileSync(file, 'utf8'));
    } catch {
      return null;
    }
  }

  /** 1-based line and column of a character offset. */
  lineColumn(offset: number): { line: number; column: number } {
    const lc = this.sf.getLineAndCharacterOfPosition(offset);
    return { line: lc.line + 1, column: lc.character + 1 };
  }

  /**
   * The deepest node of `path` written in the config object: the property
   * whose name is the last segment when it is there (exact), else the
   * nearest enclosing property, else the config object itself. Undefined
   * when the file has no recognisable config object.
   */
  locate(path: readonly PropertyKey[]): PathPosition | undefined {
    if (!this.root) return undefined;
    let node: TS.Expression = this.root;
    let anchor: TS.Node = this.unwrap(this.root);
    let matched = 0;
    for (const seg of path) {
      const next = this.child(this.unwrap(node), seg);
      if (!next) break;
      anchor = next.anchor;
      matched++;
      if (!next.value) break;
      node = next.value;
    }
    const start = anchor.getStart(this.sf);
    // A property name is underlined whole; an object or array only at its opening bracket.
    const bare = this.syntactic(anchor);
    const text =
      this.ts.isObjectLiteralExpression(bare) || this.ts.isArrayLiteralExpression(bare) ? bare.getText(this.sf).slice(0, 1) : anchor.getText(this.sf);
    return { ...this.lineColumn(start), text: text.split('\n')[0]!, exact: matched === path.length };
  }

  /** The expression of `export default X`, `export const config = X` or `module.exports = X`, through a defineConfig(X) call. */
  private findRoot(): TS.Expression | undefined {
    const ts = this.ts;
    let found: TS.Expression | undefined;
    for (const st of this.sf.statements) {
      if (ts.isExportAssignment(st)) found = st.expression;
      else if (ts.isVariableStatement(st) && st.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
        for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name) && d.name.text === 'config' && d.initializer) found ??= d.initializer;
      } else if (
        ts.isExpressionStatement(st) &&
        ts.isBinaryExpression(st.expression) &&
        st.expression.left.getText(this.sf).replace(/\s/g, '') === 'module.exports'
      ) {
        found = st.expression.right;
      }
    }
    return found;
  }

  /** Looks through parentheses, `as`/`satisfies`, defineConfig(...) and references to top-level constants. */
  private unwrap(e: TS.Expression, depth = 0): TS.Expression {
    const ts = this.ts;
    if (depth > 20) return e;
    if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isNonNullExpression(e))
      return this.unwrap(e.expression, depth + 1);
    if (ts.isCallExpression(e) && e.arguments.length === 1 && /(^|\.)defineConfig$/.test(e.expression.getText(this.sf)))
      return this.unwrap(e.arguments[0]!, depth + 1);
    if (ts.isIdentifier(e)) {
      const init = this.consts.get(e.text);
      if (init) return this.unwrap(init, depth + 1);
    }
    return e;
  }

  /** Looks through parentheses and type assertions only (not into other declarations). */
  private syntactic(e: TS.Node): TS.Node {
    const ts = this.ts;
    return ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isNonNullExpression(e)
      ? this.syntactic(e.expression)
      : e;
  }

  /** The property (or array element) named by one path segment: the node to point at and the value to descend into. */
  private child(e: TS.Expression, seg: PropertyKey): { anchor: TS.Node; value: TS.Expression | undefined } | undefined {
    const ts = this.ts;
    if (ts.isArrayLiteralExpression(e)) {
      if (typeof seg !== 'number' && !/^\d+$/.test(String(seg))) return undefined;
      // A spread before the element makes runtime indices differ from the written ones.
      const k = Number(seg);
      const spreadBefore = e.elements.slice(0, k + 1).some((x) => ts.isSpreadElement(x));
      const el = spreadBefore ? undefined : e.elements[k];
      return el ? { anchor: el, value: el } : undefined;
    }
    if (!ts.isObjectLiteralExpression(e)) return undefined;
    // The last property of a name wins at runtime, as in the object it builds.
    for (let k = e.properties.length - 1; k >= 0; k--) {
      const p = e.properties[k]!;
      if ((ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p) || ts.isMethodDeclaration(p)) && this.propName(p.name) === String(seg)) {
        const value = ts.isPropertyAssignment(p) ? p.initializer : ts.isShorthandPropertyAssignment(p) ? p.name : undefined;
        return { anchor: p.name, value };
      }
    }
    return undefined;
  }

  private propName(n: TS.PropertyName): string | undefined {
    const ts = this.ts;
    if (ts.isIdentifier(n) || ts.isStringLiteral(n) || ts.isNumericLiteral(n) || ts.isPrivateIdentifier(n)) return n.text;
    if (ts.isComputedPropertyName(n) && ts.isStringLiteralLike(n.expression)) return n.expression.text;
    return undefined;
  }
}

/** `file:L:C` in a stack frame, with the path written plainly (ESM, source-mapped) or inside tsx's data: URL (CommonJS). */
interface Frame {
  line: number;
  column: number;
  /** the code the frame's line and column refer to, when it is not the source file itself */
  compiled?: string;
}

function frameIn(stack: string, file: string): Frame | undefined {
  for (const raw of stack.split('\n').slice(1)) {
    const plain = raw.lastIndexOf(`${file}:`);
    if (plain >= 0 && !raw.includes('data:text/javascript')) {
      const m = /^:(\d+):(\d+)/.exec(raw.slice(plain + file.length));
      if (m) return { line: Number(m[1]), column: Number(m[2]) };
    }
    // tsx runs a .ts file outside an ESM package as CommonJS from a data: URL with no source map.
    const data = /data:text\/javascript,(.*)\?filePath=([^:)]*)[^:)]*:(\d+):(\d+)\)?\s*$/.exec(raw);
    if (data && decodeURIComponent(data[2]!).split('?')[0] === file) {
      return { line: Number(data[3]), column: Number(data[4]), compiled: decodeURIComponent(data[1]!) };
    }
  }
  return undefined;
}

/** Tokens (kind and text, string literals by value) from `offset` of `text`. */
function tokens(ts: TypeScriptApi, text: string, offset: number, count: number): { key: string; pos: number }[] {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  scanner.resetTokenState(offset);
  const out: { key: string; pos: number }[] = [];
  for (let k = 0; k < count * 4 && out.length < count; k++) {
    const kind = scanner.scan();
    if (kind === ts.SyntaxKind.EndOfFileToken) break;
    const valued = kind === ts.SyntaxKind.Identifier || (kind >= ts.SyntaxKind.FirstLiteralToken && kind <= ts.SyntaxKind.LastLiteralToken);
    out.push({ key: valued ? `${kind}:${scanner.getTokenValue()}` : String(kind), pos: scanner.getTokenStart() });
  }
  return out;
}

/**
 * Where an error thrown while importing the config module was raised in the
 * source, from its stack. With tsx's CommonJS path the frame points into
 * compiled code without a source map, so the tokens there are looked up in
 * the source instead (whitespace and types differ, the tokens of an
 * expression do not); nothing is returned when the match is not unique.
 */
export function throwSite(ts: TypeScriptApi, file: string, text: string, stack: string): { line: number; column: number } | undefined {
  const f = frameIn(stack, file);
  if (!f) return undefined;
  if (f.compiled === undefined) return { line: f.line, column: f.column };
  const lines = f.compiled.split('\n');
  if (f.line > lines.length) return undefined;
  const offset = lines.slice(0, f.line - 1).reduce((n, l) => n + l.length + 1, 0) + f.column - 1;
  const wanted = tokens(ts, f.compiled, offset, 8);
  const all = tokens(ts, text, 0, Number.MAX_SAFE_INTEGER);
  for (let n = wanted.length; n >= 3; n--) {
    const hits: number[] = [];
    for (let i = 0; i + n <= all.length; i++) {
      let ok = true;
      for (let j = 0; j < n && ok; j++) ok = all[i + j]!.key === wanted[j]!.key;
      if (ok) hits.push(all[i]!.pos);
    }
    if (hits.length === 1) {
      const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
      const lc = sf.getLineAndCharacterOfPosition(hits[0]!);
      return { line: lc.line + 1, column: lc.character + 1 };
    }
    if (hits.length > 1) return undefined;
  }
  return undefined;
}
