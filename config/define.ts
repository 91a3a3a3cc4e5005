/**
 * Typed configuration: `vipflow.config.ts` files call `defineConfig({...})`,
 * whose parameter type is the model schema's input type (editors complete and
 * check it) and which validates at runtime. `fromKeepalived()` brings an
 * existing keepalived.conf into such a file.
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { importUserModule } from '../core/user-module.js';
import type { Diagnostic } from './diagnostics.js';
import { loadKeepalivedFile, type KeepalivedLoadOptions } from './keepalived/index.js';
import { ConfigSchema, type VipflowConfig, type VipflowConfigInput } from './model.js';

/** Thrown by defineConfig / fromKeepalived inside a config module; loaders turn it back into diagnostics. */
export class ConfigValidationError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => `${d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file}: ${d.severity}: ${d.message}`).join('\n'));
    this.name = 'ConfigValidationError';
  }
}

/** Schema issues as diagnostics naming the field path (a typed config has no line numbers to give). */
export function issuesToDiagnostics(issues: readonly { path: PropertyKey[]; message: string }[], file: string): Diagnostic[] {
  return issues.map((i) => {
    const path = i.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    return { severity: 'error' as const, file, line: 0, column: 0, message: `${path || 'config'}: ${i.message}`, text: path };
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
  if (!r.success) throw new ConfigValidationError(issuesToDiagnostics(r.error.issues, 'defineConfig'));
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
    if (isValidationError(e)) return { diagnostics: e.diagnostics.map((d) => (d.line > 0 ? d : { ...d, file: path })) };
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(file)) {
      return { diagnostics: [{ severity: 'error', file: path, line: 0, column: 0, message: `cannot read '${path}' (ENOENT)` }], unreadable: true };
    }
    return {
      diagnostics: [
        { severity: 'error', file: path, line: 0, column: 0, message: `loading the config module failed: ${e instanceof Error ? e.message : String(e)}` },
      ],
    };
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
  if (!r.success) return { diagnostics: issuesToDiagnostics(r.error.issues, path) };
  return { model: r.data, diagnostics: [] };
}
