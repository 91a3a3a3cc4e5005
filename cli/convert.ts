/**
 * `vipflow convert keepalived.conf [-i CONFIG_ID]... [--import-from SPEC] > vipflow.config.ts` (options: cli/definitions.ts)
 *
 * Prints a typed config equivalent to a keepalived.conf. Exit status: 0
 * converted (warnings on stderr), 1 the file has errors (nothing printed on
 * stdout), 2 unreadable file or bad command line.
 */
import { hostname } from 'node:os';
import { formatDiagnostic } from '../config/diagnostics.js';
import { emitTypedConfig } from '../config/emit.js';
import { loadKeepalivedFile } from '../config/keepalived/index.js';
import type { ConvertOptions } from './definitions.js';

export async function convert(file: string, opts: ConvertOptions): Promise<number> {
  const { importFrom, configId: configIds } = opts;
  const r = loadKeepalivedFile(file, { configIds: configIds.length > 0 ? configIds : [hostname().split('.')[0] ?? ''] });
  if (r.diagnostics.length > 0) process.stderr.write(r.diagnostics.map((d) => formatDiagnostic(d)).join('\n') + '\n');
  if (r.unreadable) return 2;
  if (!r.model || !r.raw) return 1;
  process.stdout.write(emitTypedConfig(r.raw, { importFrom, source: file }));
  return 0;
}
