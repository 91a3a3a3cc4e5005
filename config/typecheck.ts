/**
 * Type-checking a vipflow.config.ts for `vipflow check-config`. tsx only
 * strips types when the daemon loads a config, so `priority: 'high'` would
 * otherwise reach the schema as a string; here the compiler reports it at its
 * line with its own message. Only check-config does this (a program over the
 * config and vipflow's typings takes seconds; the daemon's load path stays
 * fast), and only when the typescript package is installed.
 */
import type { Diagnostic } from './diagnostics.js';
import { loadTypeScript } from './ts-source.js';

export interface TypeCheckResult {
  /** false: the TypeScript compiler is not installed, nothing was checked */
  checked: boolean;
  diagnostics: Diagnostic[];
}

/** Type errors in `file` itself (not in the modules it imports), as error diagnostics. */
export async function typeCheckConfig(file: string, shownAs = file): Promise<TypeCheckResult> {
  const ts = await loadTypeScript();
  if (!ts) return { checked: false, diagnostics: [] };
  const program = ts.createProgram([file], {
    noEmit: true,
    strict: true,
    target: ts.ScriptTarget.ES2022,
    // Bundler resolution accepts what tsx accepts: `.ts` extensions, package exports, ESM and CommonJS alike.
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    allowJs: true,
    checkJs: false,
    skipLibCheck: true,
    esModuleInterop: true,
    types: ['node'],
  });
  const sf = program.getSourceFile(file);
  if (!sf) return { checked: true, diagnostics: [] };
  const found = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
  const diagnostics = found
    .filter((d) => d.category === ts.DiagnosticCategory.Error && d.file === sf && d.start !== undefined)
    .map((d): Diagnostic => {
      const lc = sf.getLineAndCharacterOfPosition(d.start!);
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n').replace(/\n\s*/g, ' ');
      const text = sf.text.slice(d.start!, d.start! + (d.length ?? 0)).split('\n')[0];
      const out: Diagnostic = { severity: 'error', file: shownAs, line: lc.line + 1, column: lc.character + 1, message: `TS${d.code}: ${message}` };
      if (text !== undefined && text.length > 0) out.text = text;
      return out;
    });
  return { checked: true, diagnostics };
}

/**
 * Type errors first, then the loader's findings except those on a line
 * that already has a type error: `priority: 'high'` is one mistake, and the
 * schema's complaint about the same value would be its echo.
 */
export function withTypeErrors(typeErrors: readonly Diagnostic[], loaded: readonly Diagnostic[]): Diagnostic[] {
  const lines = new Set(typeErrors.map((d) => `${d.file}:${d.line}`));
  return [...typeErrors, ...loaded.filter((d) => d.line === 0 || !lines.has(`${d.file}:${d.line}`))];
}
