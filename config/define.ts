/**
 * Typed configuration: `vipflow.config.ts` files call `defineConfig({...})`,
 * whose parameter type is the model schema's input type (editors complete and
 * check it) and which validates at runtime. `fromKeepalived()` brings an
 * existing keepalived.conf into such a file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { importUserModule } from '../core/user-module.js';
import type { Diagnostic } from './diagnostics.js';
import { loadKeepalivedFile, type KeepalivedLoadOptions } from './keepalived/index.js';
import { ConfigSchema, type VipflowConfig, type VipflowConfigInput } from './model.js';
import { keepalivedRange, rawVersionOf } from './ranges.js';
import { ConfigSource, loadTypeScript, throwSite } from './ts-source.js';

/** Thrown by defineConfig / fromKeepalived inside a config module; loaders turn it back into diagnostics. */
export class ConfigValidationError extends Error {
  /** `paths[k]`: the model path diagnostics[k] is about, when it came from the schema (for finding it in the source) */
  constructor(
    readonly diagnostics: Diagnostic[],
    readonly paths: (readonly PropertyKey[] | undefined)[] = [],
  ) {
    super(diagnostics.map((d) => `${d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file}: ${d.severity}: ${d.message}`).join('\n'));
    this.name = 'ConfigValidationError';
  }
}

type SchemaIssue = { path: PropertyKey[]; message: string; code: string };

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const seg of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
  return v;
}

function dotted(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/**
 * Schema issues as diagnostics naming the field path; line 0 until
 * placeInSource finds them in the file. A value outside keepalived's bounds
 * is reported with those bounds, and a missing field says so rather than
 * "received undefined".
 */
export function issuesToDiagnostics(issues: readonly SchemaIssue[], file: string, input?: unknown): Diagnostic[] {
  const versionOf = rawVersionOf(input);
  return issues.map((i) => {
    const path = dotted(i.path);
    const value = valueAt(input, i.path);
    const bounds = keepalivedRange(i, versionOf);
    let message = `${path || 'config'}: ${i.message}`;
    if (bounds !== undefined) message = `${path}: ${JSON.stringify(value)} is out of range: ${bounds}`;
    else if (i.code === 'invalid_type' && input !== undefined && value === undefined && i.path.length > 0) {
      message = `${dotted(i.path.slice(0, -1)) || 'config'}: missing '${String(i.path.at(-1))}'`;
    }
    return { severity: 'error' as const, file, line: 0, column: 0, message, text: path };
  });
}

/**
 * Gives schema diagnostics the line and column of the property they are
 * about in the config module's source (the nearest enclosing property when
 * the value was computed or spread in). Without the TypeScript compiler
 * they keep line 0 and their model paths.
 */
export async function placeInSource(file: string, diagnostics: Diagnostic[], paths: readonly (readonly PropertyKey[] | undefined)[]): Promise<Diagnostic[]> {
  if (!paths.some((p) => p !== undefined)) return diagnostics;
  const ts = await loadTypeScript();
  const src = ts ? ConfigSource.read(ts, file) : null;
  if (!src) return diagnostics;
  return diagnostics.map((d, k) => {
    const path = paths[k];
    const at = d.line === 0 && path ? src.locate(path) : undefined;
    return at ? { ...d, line: at.line, column: at.column, text: at.text } : d;
  });
}

/**
 * Validates a typed configuration and returns the model with every default
 * filled in. Throws ConfigValidationError (listing every problem) when the
 * input does not fit the schema: a config module that cannot be valid
 * should not load.
 */
export function defineConfig(input: VipflowConfigInput): VipflowConfig {
  const r = ConfigSchema.safeParse(input);
  if (!r.success)
    throw new ConfigValidationError(
      issuesToDiagnostics(r.error.issues, 'defineConfig', input),
      r.error.issues.map((i) => i.path),
    );
  return r.data;
}

/**
 * Loads a keepalived.conf into the model, for use inside a vipflow.config.ts:
 * `defineConfig({ ...fromKeepalived(new URL('./keepalived.conf', import.meta.url)), vipflow: {...} })`.
 * A relative path is taken from the current directory. Throws
 * ConfigValidationError when the file has errors.
 */
export function fromKeepalived(path: string | URL, options: KeepalivedLoadOptions = {}): VipflowConfig {
  const file = path instanceof URL ? fileURLToPath(path) : resolve(path);
  const r = loadKeepalivedFile(file, options);
  if (!r.model) throw new ConfigValidationError(r.diagnostics.filter((d) => d.severity === 'error'));
  return r.model;
}

function isValidationError(e: unknown): e is ConfigValidationError {
  return e instanceof Error && e.name === 'ConfigValidationError' && Array.isArray((e as Partial<ConfigValidationError>).diagnostics);
}

export interface VipflowLoadResult {
  model?: VipflowConfig;
  diagnostics: Diagnostic[];
  unreadable?: boolean;
}

/**
 * Loads a vipflow.config.ts / .js module (default export, or an export named
 * `config`) and validates it. TypeScript goes through tsx's tsImport so no
 * build step is needed. Never throws: failures are diagnostics.
 */
export async function loadVipflowConfig(path: string): Promise<VipflowLoadResult> {
  const file = resolve(path);
  let mod: Record<string, unknown>;
  try {
    const imported = await importUserModule(file);
    if (imported === null) {
      const message = "loading a TypeScript config needs the 'tsx' package (not installed here); install it or use vipflow.config.js";
      return { diagnostics: [{ severity: 'error', file: path, line: 0, column: 0, message }] };
    }
    mod = imported;
  } catch (e) {
    // tsImport gives the module its own copy of this file, so the class is recognised by shape, not identity.
    if (isValidationError(e)) {
      // fromKeepalived's diagnostics have their own file and lines; defineConfig's are found in this file.
      const own = e.diagnostics.map((d) => (d.line > 0 ? d : { ...d, file: path }));
      return { diagnostics: await placeInSource(file, own, Array.isArray(e.paths) ? e.paths : []) };
    }
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(file)) {
      return { diagnostics: [{ severity: 'error', file: path, line: 0, column: 0, message: `cannot read '${path}' (ENOENT)` }], unreadable: true };
    }
    return { diagnostics: [await importFailure(path, file, e)] };
  }
  let exported = mod.default ?? mod.config;
  // A .ts file outside an ESM package is compiled as CommonJS: its exports object arrives as `default`.
  if (exported !== null && typeof exported === 'object' && Object.hasOwn(exported, 'default')) exported = (exported as Record<string, unknown>).default;
  if (exported === undefined) {
    return {
      diagnostics: [
        { severity: 'error', file: path, line: 0, column: 0, message: 'the config module has no default export (export default defineConfig({...}))' },
      ],
    };
  }
  // Re-validating a defineConfig() result changes nothing (the schema is idempotent).
  const r = ConfigSchema.safeParse(exported);
  if (!r.success)
    return {
      diagnostics: await placeInSource(
        file,
        issuesToDiagnostics(r.error.issues, path, exported),
        r.error.issues.map((i) => i.path),
      ),
    };
  return { model: r.data, diagnostics: [] };
}

/** An exception while importing the module, at the source line that threw when its stack says so. */
async function importFailure(path: string, file: string, e: unknown): Promise<Diagnostic> {
  const message = `loading the config module failed: ${e instanceof Error ? e.message : String(e)}`;
  const d: Diagnostic = { severity: 'error', file: path, line: 0, column: 0, message };
  const stack = e instanceof Error ? e.stack : undefined;
  const ts = stack !== undefined ? await loadTypeScript() : null;
  if (!ts || stack === undefined) return d;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return d;
  }
  const at = throwSite(ts, file, text, stack);
  return at ? { ...d, line: at.line, column: at.column } : d;
}
