/**
 * `vipflow simulate SCENARIO [--seed N] [--until 60s] [--json]` (options: cli/definitions.ts)
 *
 * The file side of the simulator: reads the scenario (YAML, or a module
 * exporting defineScenario({...})), loads each node's configuration file
 * (keepalived.conf or vipflow.config.ts, relative to the scenario) with the
 * daemon's loader and its workflows as the daemon builds them, then hands
 * everything to the engine (sim/scenario/), which touches no file.
 *
 * Exit status: 0 every expectation met, 1 one failed, 2 the scenario or a
 * configuration in it is wrong.
 */
import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../config/load.js';
import type { VipflowConfig } from '../config/model.js';
import { importUserModule } from '../core/user-module.js';
import { BUILTIN_NOTIFIERS } from '../notifiers/builtin.js';
import type { Workflow } from '../workflows/define.js';
import { loadConfiguredWorkflows } from '../workflows/from-config.js';
import { loadWorkflows } from '../workflows/load.js';
import {
  checkExpectations,
  checkReferences,
  formatJson,
  formatText,
  inlineConfig,
  nodeInterfaces,
  parseScenario,
  runScenario,
  startScripts,
  type PreparedNode,
  type PreparedScenario,
} from '../sim/scenario/index.js';
import type { SimulateOptions } from './definitions.js';

export type LoadScenarioResult = { ok: true; prepared: PreparedScenario } | { ok: false; errors: string[] };

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function readScenarioFile(file: string): Promise<unknown> {
  const ext = extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return parseYaml(readFileSync(file, 'utf8'));
  const mod = await importUserModule(file);
  if (mod === null) throw new Error("loading a TypeScript scenario needs the 'tsx' package; install it or use YAML");
  let exported: unknown = mod.default ?? mod.scenario;
  // A .ts file outside an ESM package is compiled as CommonJS: its exports object arrives as `default`.
  if (exported !== null && typeof exported === 'object' && Object.hasOwn(exported, 'default') && !Object.hasOwn(exported, 'nodes'))
    exported = (exported as { default: unknown }).default;
  if (exported === undefined) throw new Error('no default export (export default defineScenario({...}))');
  return exported;
}

/** A node's or a reload's configuration: a file next to the scenario, or inline. */
async function configOf(
  source: { config?: string | undefined; keepalived?: string | undefined; vipflow?: unknown },
  dir: string,
  scenarioFile: string,
): Promise<{ ok: true; model: VipflowConfig; file: string } | { ok: false; error: string }> {
  if (source.config === undefined) {
    const r = inlineConfig(source as Parameters<typeof inlineConfig>[0]);
    return r.ok ? { ok: true, model: r.model, file: scenarioFile } : r;
  }
  const file = resolve(dir, source.config);
  try {
    const r = await loadConfig(file);
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    if (!r.model || errors.length > 0)
      return { ok: false, error: `${source.config}: ${errors.map((d) => `${d.line ? `line ${d.line}: ` : ''}${d.message}`).join('; ') || 'does not load'}` };
    return { ok: true, model: r.model, file };
  } catch (e) {
    return { ok: false, error: `${source.config}: ${errorText(e)}` };
  }
}

/** Reads, checks and prepares a scenario file. Never throws. */
export async function loadScenario(file: string): Promise<LoadScenarioResult> {
  let raw: unknown;
  try {
    raw = await readScenarioFile(file);
  } catch (e) {
    return { ok: false, errors: [`${file}: ${errorText(e)}`] };
  }
  const parsed = parseScenario(raw);
  if (!parsed.ok) return { ok: false, errors: parsed.errors.map((m) => `${file}: ${m}`) };
  const scenario = parsed.scenario;
  const dir = dirname(resolve(file));
  const errors: string[] = [];
  const nodes: PreparedNode[] = [];
  const workflows: Workflow[] = [];
  const groups: Record<string, string[]> = {};
  const addWorkflows = (list: readonly Workflow[]) => {
    // Nodes of one cluster usually share one config: the worker runs each workflow once per event.
    for (const w of list) if (!workflows.some((x) => x.name === w.name)) workflows.push(w);
  };
  const segments = [...(scenario.segments ?? [])];
  for (const [index, [name, spec]] of Object.entries(scenario.nodes).entries()) {
    const c = await configOf(spec, dir, file);
    if (!c.ok) {
      errors.push(`nodes.${name}: ${c.error}`);
      continue;
    }
    const w = await loadConfiguredWorkflows(c.model.vipflow, c.file, BUILTIN_NOTIFIERS);
    for (const d of w.diagnostics) if (d.severity === 'error') errors.push(`nodes.${name}: ${d.message}`);
    addWorkflows(w.workflows);
    for (const g of c.model.vrrpSyncGroups) groups[g.name] = [...new Set([...(groups[g.name] ?? []), ...g.group])];
    nodes.push({ name, model: c.model, interfaces: nodeInterfaces(scenario, index, c.model, segments), scripts: startScripts(c.model, spec.scripts) });
  }
  if (scenario.workflows !== undefined) {
    const w = await loadWorkflows(resolve(dir, scenario.workflows));
    if (w.ok) addWorkflows(w.workflows);
    else errors.push(`workflows: ${w.error}`);
  }
  const reloads = new Map<number, VipflowConfig>();
  for (const [i, f] of scenario.faults.entries()) {
    if (f.do !== 'reload') continue;
    const c = await configOf(f, dir, file);
    if (c.ok) reloads.set(i, c.model);
    else errors.push(`faults.${i} (reload): ${c.error}`);
  }
  if (errors.length === 0) errors.push(...checkReferences(scenario, nodes));
  if (errors.length > 0) return { ok: false, errors: errors.map((m) => `${file}: ${m}`) };
  return { ok: true, prepared: { scenario, nodes, reloads, workflows, groups } };
}

export async function simulate(file: string, opts: SimulateOptions): Promise<number> {
  const loaded = await loadScenario(file);
  if (!loaded.ok) {
    process.stderr.write(loaded.errors.map((e) => `vipflow simulate: ${e}\n`).join(''));
    return 2;
  }
  let result;
  try {
    result = await runScenario(loaded.prepared, {
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.until !== undefined ? { until: opts.until } : {}),
    });
  } catch (e) {
    process.stderr.write(`vipflow simulate: ${file}: ${errorText(e)}\n`);
    return 2;
  }
  const outcomes = checkExpectations(result, loaded.prepared.scenario.expect);
  process.stdout.write(opts.json ? formatJson(result, outcomes) : formatText(result, outcomes));
  return outcomes.every((o) => o.ok) ? 0 : 1;
}
