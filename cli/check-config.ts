/**
 * `vipflow check-config FILE [--json] [--strict] [-i CONFIG_ID]... [--lb auto|nftables|ipvs|none] [--host-independent]`
 * (options: cli/definitions.ts)
 *
 * Loads a keepalived.conf or vipflow.config.ts as the daemon would and
 * prints every diagnostic, including those of the workflows the config declares
 * (`vipflow.workflows`, `vipflow.workflowsFile`). Exit status: 0 valid (warnings may be printed),
 * 1 errors (or, with --strict, warnings: for CI linting), 2 the file cannot be read or the command line is wrong.
 * Without -i the config id is the host name up to its first dot, as keepalived does.
 * --lb (default $VIPFLOW_LB or auto, as `vipflow run`) names who will balance the
 * virtual servers: what that backend cannot run (lb_kind DR on nftables, say)
 * is an error here, as it is when the daemon loads the file.
 * A vipflow.config.ts is also type-checked here (when the typescript package
 * is installed), which the daemon does not do.
 * The config is checked against this host (interfaces exist, VIPs fit their
 * subnets, scripts exist and are executable by their user, users exist:
 * config/host-check.ts) unless --host-independent says it is for another machine.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { countDiagnostics, formatDiagnostic, type Diagnostic } from '../config/diagnostics.js';
import { loadConfig } from '../config/load.js';
import { typeCheckConfig, withTypeErrors } from '../config/typecheck.js';
import { lbBackendName } from '../daemon/load-balancer.js';
import { readHostFacts } from '../infra/host/host-facts.js';
import type { CheckConfigOptions } from './definitions.js';

/** Reads source lines for the caret display, once per file. */
function sourceLines(): (file: string, line: number) => string | undefined {
  const cache = new Map<string, string[] | undefined>();
  return (file, line) => {
    if (!cache.has(file)) {
      try {
        cache.set(file, readFileSync(file, 'utf8').split(/\r?\n/));
      } catch {
        cache.set(file, undefined);
      }
    }
    return cache.get(file)?.[line - 1];
  };
}

export function toJson(diagnostics: readonly Diagnostic[]): object[] {
  return diagnostics.map((d) => {
    const o: Record<string, unknown> = { severity: d.severity, file: d.file, line: d.line, column: d.column, message: d.message };
    if (d.hint !== undefined) o.hint = d.hint;
    if (d.omitted !== undefined) o.omitted = d.omitted;
    return o;
  });
}

export async function checkConfig(file: string, opts: CheckConfigOptions): Promise<number> {
  const args = { file, json: opts.json === true, strict: opts.strict === true, lb: opts.lb, hostIndependent: opts.hostIndependent === true };
  const configIds = opts.configId.length > 0 ? opts.configId : [hostname().split('.')[0] ?? ''];
  const r = await loadConfig(args.file, { configIds, lbBackend: lbBackendName(args.lb), ...(args.hostIndependent ? {} : { host: readHostFacts() }) });
  if (r.model && (r.model.vipflow.workflows.length > 0 || r.model.vipflow.workflowsFile !== undefined)) {
    // Lazily: a keepalived.conf check never loads the notifiers, zx or tsx.
    const [{ loadConfiguredWorkflows }, { BUILTIN_NOTIFIERS }] = await Promise.all([import('../workflows/from-config.js'), import('../notifiers/builtin.js')]);
    r.diagnostics.push(...(await loadConfiguredWorkflows(r.model.vipflow, args.file, BUILTIN_NOTIFIERS)).diagnostics);
  }
  let notTypeChecked = false;
  if (r.format === 'vipflow' && /\.[cm]?ts$/.test(args.file) && !r.unreadable) {
    const tc = await typeCheckConfig(resolve(args.file), args.file);
    notTypeChecked = !tc.checked;
    r.diagnostics = withTypeErrors(tc.diagnostics, r.diagnostics);
  }
  const { errors, warnings, notShown } = countDiagnostics(r.diagnostics);
  const hidden = notShown > 0 ? `, ${notShown} not shown` : '';
  if (args.json) process.stdout.write(JSON.stringify(toJson(r.diagnostics), null, 2) + '\n');
  else {
    const src = sourceLines();
    const out = r.diagnostics.map((d) => formatDiagnostic(d, src));
    const failed = errors > 0 || (args.strict && warnings > 0);
    const summary = failed
      ? `${args.file}: ${errors} error(s), ${warnings} warning(s)${hidden}${args.strict && errors === 0 ? ' (--strict: warnings fail)' : ''}`
      : `${args.file}: configuration is valid${warnings > 0 ? ` (${warnings} warning(s)${hidden})` : ''}`;
    if (notTypeChecked) out.push(`${args.file}: not type-checked (the typescript package is not installed)`);
    out.push(summary);
    (failed ? process.stderr : process.stdout).write(out.join('\n') + '\n');
  }
  if (r.unreadable) return 2;
  return errors > 0 || (args.strict && warnings > 0) ? 1 : 0;
}
