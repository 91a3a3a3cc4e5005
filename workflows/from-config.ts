/**
 * Builds workflows from the config's `vipflow.workflows` (config/model.ts): each step
 * names a built-in notifier (`uses`) and its options (`with`), which are checked here
 * against the notifier's own schema. Every problem is reported with its config path,
 * all at once, so one `check-config` run shows them all.
 */
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { nowhere, type Diagnostic } from '../config/diagnostics.js';
import type { WorkflowSchema } from '../config/model.js';
import { defineWorkflow, type StepSettings, type Workflow, type WorkflowStep } from './define.js';

export type WorkflowConfig = z.output<typeof WorkflowSchema>;

/**
 * A step a config can name (`uses`): the schema of its options (`with`) and the
 * factory that makes the step, loaded only when a config uses it. The engine
 * knows no notifier: notifiers/builtin.ts is the registry callers pass in.
 */
export interface RegisteredStep {
  /** One line for help and error hints. */
  readonly summary: string;
  load(): Promise<{ schema: z.ZodType; step: (options: never, settings: StepSettings) => WorkflowStep }>;
}

export type StepRegistry = Readonly<Record<string, RegisteredStep>>;

/** The workflows that built, and one message per problem (a broken workflow is left out, the others kept). */
export interface FromConfigResult {
  ok: boolean;
  workflows: Workflow[];
  errors: string[];
}

/** Never throws. */
export async function workflowsFromConfig(list: readonly WorkflowConfig[], registry: StepRegistry): Promise<FromConfigResult> {
  const errors: string[] = [];
  const workflows: Workflow[] = [];
  const names = new Set<string>();
  for (const [i, wc] of list.entries()) {
    const at = `vipflow.workflows[${i}] '${wc.name}'`;
    if (names.has(wc.name)) errors.push(`${at}: duplicate workflow name`);
    names.add(wc.name);
    const steps: WorkflowStep[] = [];
    for (const [k, sc] of wc.steps.entries()) {
      const where = `${at}: steps[${k}] (${sc.uses})`;
      const entry = Object.hasOwn(registry, sc.uses) ? registry[sc.uses] : undefined;
      if (!entry) {
        errors.push(`${where}: unknown notifier; use one of ${Object.keys(registry).sort().join(', ')}`);
        continue;
      }
      try {
        const { schema, step } = await entry.load();
        const parsed = schema.safeParse(sc.with);
        if (!parsed.success) {
          for (const issue of parsed.error.issues) errors.push(`${where}: with.${issue.path.join('.') || '(options)'}: ${issue.message}`);
          continue;
        }
        steps.push(
          step(parsed.data as never, {
            name: sc.name ?? sc.uses,
            ...(sc.timeoutMs !== undefined ? { timeoutMs: sc.timeoutMs } : {}),
            ...(sc.retry !== undefined ? { retry: sc.retry } : {}),
          }),
        );
      } catch (e) {
        errors.push(`${where}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (steps.length !== wc.steps.length) continue;
    try {
      workflows.push(defineWorkflow({ name: wc.name, on: wc.on, steps }) as Workflow);
    } catch (e) {
      errors.push(`${at}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { ok: errors.length === 0, workflows, errors };
}

/**
 * The config's workflows as the daemon will build them: `vipflow.workflows` entries and
 * the `vipflow.workflowsFile` module (resolved against the config file's folder),
 * together, with every problem as a config diagnostic. Never throws.
 */
export async function loadConfiguredWorkflows(
  settings: { workflows: readonly WorkflowConfig[]; workflowsFile?: string | undefined },
  configFile: string,
  registry: StepRegistry,
  fileOverride?: string,
): Promise<{ workflows: Workflow[]; diagnostics: Diagnostic[] }> {
  const diagnostics: Diagnostic[] = [];
  const workflows: Workflow[] = [];
  const fromConfig = await workflowsFromConfig(settings.workflows, registry);
  workflows.push(...fromConfig.workflows);
  for (const message of fromConfig.errors) diagnostics.push({ severity: 'error', ...nowhere(configFile), message });
  const file = fileOverride ?? (settings.workflowsFile !== undefined ? resolve(dirname(configFile), settings.workflowsFile) : undefined);
  if (file !== undefined) {
    const { loadWorkflows } = await import('./load.js');
    const loaded = await loadWorkflows(file);
    if (!loaded.ok) diagnostics.push({ severity: 'error', ...nowhere(configFile), message: `vipflow.workflowsFile: ${loaded.error}` });
    else {
      const names = new Set(workflows.map((w) => w.name));
      for (const w of loaded.workflows) {
        if (names.has(w.name))
          diagnostics.push({ severity: 'error', ...nowhere(configFile), message: `workflow '${w.name}' is declared both in vipflow.workflows and in ${file}` });
        else workflows.push(w);
      }
    }
  }
  return { workflows, diagnostics };
}
