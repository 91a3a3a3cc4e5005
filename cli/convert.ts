/**
 * `vipflow convert keepalived.conf [-i CONFIG_ID]... [--import-from SPEC] > vipflow.config.ts`
 *
 * Prints a typed config equivalent to a keepalived.conf. Exit status: 0
 * converted (warnings on stderr), 1 the file has errors (nothing printed on
 * stdout), 2 unreadable file or bad command line.
 */
import { hostname } from 'node:os';
import { formatDiagnostic } from '../config/diagnostics.js';
import { emitTypedConfig } from '../config/emit.js';
import { loadKeepalivedFile } from '../config/keepalived/index.js';

const USAGE = 'usage: vipflow convert KEEPALIVED_CONF [-i CONFIG_ID]... [--import-from MODULE]\n';

/** Where converted files import defineConfig from, unless --import-from says otherwise. */
export const DEFAULT_IMPORT = 'vipflow/config';

export async function run(argv: string[]): Promise<number> {
  let file: string | undefined;
  let importFrom = DEFAULT_IMPORT;
  const configIds: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    const value = (): string | undefined => argv[++k];
    if (a === '-i' || a === '--config-id' || a === '--import-from') {
      const v = value();
      if (v === undefined) return usage(`${a} needs a value`);
      if (a === '--import-from') importFrom = v;
      else configIds.push(v);
    } else if (a === '-h' || a === '--help') return usage('');
    else if (a.startsWith('-')) return usage(`unknown option '${a}'`);
    else if (file === undefined) file = a;
    else return usage(`unexpected argument '${a}'`);
  }
  if (file === undefined) return usage('missing KEEPALIVED_CONF');
  const r = loadKeepalivedFile(file, { configIds: configIds.length > 0 ? configIds : [hostname().split('.')[0] ?? ''] });
  if (r.diagnostics.length > 0) process.stderr.write(r.diagnostics.map((d) => formatDiagnostic(d)).join('\n') + '\n');
  if (r.unreadable) return 2;
  if (!r.model || !r.raw) return 1;
  process.stdout.write(emitTypedConfig(r.raw, { importFrom, source: file }));
  return 0;
}

function usage(problem: string): number {
  process.stderr.write((problem ? `vipflow convert: ${problem}\n` : '') + USAGE);
  return problem ? 2 : 0;
}
