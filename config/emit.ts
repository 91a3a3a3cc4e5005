/**
 * Writes a typed vipflow.config.ts from model input: what `vipflow convert`
 * prints. The object literal is the keepalived file's content as the loader
 * mapped it (defaults left to the schema), so the result reads like the
 * original and loads back to the same model.
 */

import { keyFilesAsReferences } from './auth-hmac.js';

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function literal(v: unknown, indent: string): string {
  if (v === null || typeof v !== 'object') return v === undefined ? 'undefined' : JSON.stringify(v);
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const items = v.map((x) => literal(x, inner));
    const oneLine = `[${items.join(', ')}]`;
    if (indent.length + oneLine.length <= 90 && !oneLine.includes('\n')) return oneLine;
    return `[\n${items.map((x) => `${inner}${x},`).join('\n')}\n${indent}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  if (entries.length === 0) return '{}';
  const items = entries.map(([k, x]) => `${IDENT.test(k) ? k : JSON.stringify(k)}: ${literal(x, inner)}`);
  const oneLine = `{ ${items.join(', ')} }`;
  if (indent.length + oneLine.length <= 90 && !oneLine.includes('\n')) return oneLine;
  return `{\n${items.map((x) => `${inner}${x},`).join('\n')}\n${indent}}`;
}

export interface EmitOptions {
  /** module specifier that exports defineConfig */
  importFrom: string;
  /** named in the header comment */
  source?: string;
}

/** TypeScript source of a config module whose default export is `defineConfig(input)`. */
export function emitTypedConfig(input: unknown, options: EmitOptions): string {
  const header = options.source ? `// Converted from ${options.source} by \`vipflow convert\`.\n` : '';
  return `${header}import { defineConfig } from ${JSON.stringify(options.importFrom)};\n\nexport default defineConfig(${literal(keyFilesAsReferences(input), '')});\n`;
}
