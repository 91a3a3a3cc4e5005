/**
 * The configuration API other parts of vipflow (and vipflow.config.ts files)
 * use. Nothing outside config/ reads configuration text.
 */
export { loadConfig, detectFormat, type ConfigFormat, type LoadConfigOptions, type LoadConfigResult } from './load.js';
export { defineConfig, fromKeepalived, loadVipflowConfig, ConfigValidationError } from './define.js';
export { loadKeepalivedFile, loadKeepalivedText, type KeepalivedLoadOptions, type KeepalivedLoadResult } from './keepalived/index.js';
export { checkModel, type CheckOptions } from './check.js';
export { formatDiagnostic, hasErrors, type Diagnostic, type Severity, type SourcePos } from './diagnostics.js';
export { emitTypedConfig } from './emit.js';
export * from './model.js';
