/**
 * The one entry point the daemon and the CLI use: a path in, the model and
 * every diagnostic out, whichever format the file is written in.
 */
import { resolveAuthHmacKeyFiles } from './auth-hmac.js';
import { readFileSync } from 'node:fs';
import { checkModel, type CheckOptions } from './check.js';
import type { Diagnostic } from './diagnostics.js';
import { loadVipflowConfig } from './define.js';
import { loadKeepalivedFile, type KeepalivedLoadOptions } from './keepalived/index.js';
import type { VipflowConfig } from './model.js';
import { detectFormat, type ConfigFormat } from './format.js';

export { detectFormat, type ConfigFormat } from './format.js';

export interface LoadConfigOptions extends KeepalivedLoadOptions {
  /** overrides detection */
  format?: ConfigFormat;
  interfaceAddresses?: CheckOptions['interfaceAddresses'];
  lbBackend?: CheckOptions['lbBackend'];
  /** the host to check the config against (undefined: no host checks) */
  host?: CheckOptions['host'];
}

export interface LoadConfigResult {
  format: ConfigFormat;
  /** present only when there is no error */
  model?: VipflowConfig;
  diagnostics: Diagnostic[];
  /** the file itself could not be read (the CLI exits 2) */
  unreadable?: boolean;
  /** vrrp_scripts this host cannot run, left out of the model as keepalived disables them (infra/config/load-on-host.ts) */
  disabledScripts?: string[];
}

/**
 * Loads a configuration file. keepalived.conf files go through the
 * keepalived loader (which runs the semantic checks); vipflow.config.ts/.js
 * modules are imported, validated, then checked the same way. Never throws.
 */
export async function loadConfig(path: string, options: LoadConfigOptions = {}): Promise<LoadConfigResult> {
  const format = options.format ?? detectFormat(path);
  if (format === 'keepalived') {
    const r = loadKeepalivedFile(path, options);
    const out: LoadConfigResult = { format, diagnostics: r.diagnostics };
    if (r.model) out.model = r.model;
    if (r.unreadable) out.unreadable = true;
    if (!r.unreadable && !r.model && r.diagnostics.length === 0) {
      out.diagnostics = [{ severity: 'error', file: path, line: 0, column: 0, message: 'no model produced' }];
    }
    if (!r.unreadable && looksLikeModule(path)) {
      out.diagnostics.unshift({
        severity: 'warning',
        file: path,
        line: 1,
        column: 1,
        message: 'this looks like a JavaScript/TypeScript module; name it vipflow.config.ts to load it as a typed config',
        text: 'import',
      });
    }
    return out;
  }
  const r = await loadVipflowConfig(path);
  const diagnostics = [...r.diagnostics];
  if (r.model) diagnostics.push(...resolveAuthHmacKeyFiles(r.model, path));
  if (r.model)
    diagnostics.push(...checkModel(r.model, { file: path, interfaceAddresses: options.interfaceAddresses, host: options.host, lbBackend: options.lbBackend }));
  const out: LoadConfigResult = { format, diagnostics };
  if (r.model && !diagnostics.some((d) => d.severity === 'error')) out.model = r.model;
  if (r.unreadable) out.unreadable = true;
  return out;
}

function looksLikeModule(path: string): boolean {
  try {
    return /^\s*(import|export)\s/m.test(readFileSync(path, 'utf8').slice(0, 4096));
  } catch {
    return false;
  }
}
