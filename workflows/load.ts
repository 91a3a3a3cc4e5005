/**
 * Loads a workflows module: `export default [defineWorkflow(...), ...]` (or a single
 * workflow, or a named export `workflows`). TypeScript goes through tsx's tsImport, as
 * config/define.ts does, so no build step is needed.
 */
import { importUserModule } from '../core/user-module.js';
import { defineWorkflow, type Workflow } from './define.js';

export type LoadWorkflowsResult = { ok: true; workflows: Workflow[] } | { ok: false; error: string };

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Imports `path` and checks every exported workflow again with defineWorkflow (the
 * module gets its own copy of define.ts under tsImport, so workflows are recognised by
 * shape, not identity). Never throws: problems come back as `{ ok: false, error }`.
 */
export async function loadWorkflows(path: string): Promise<LoadWorkflowsResult> {
  let mod: Record<string, unknown>;
  try {
    const imported = await importUserModule(path);
    if (imported === null) return { ok: false, error: "loading TypeScript workflows needs the 'tsx' package; install it or use a .js file" };
    mod = imported;
  } catch (e) {
    return { ok: false, error: `${path}: loading the workflows module failed: ${errorText(e)}` };
  }
  let exported = mod.default ?? mod.workflows;
  // A .ts file outside an ESM package is compiled as CommonJS: its exports object arrives as `default`.
  if (exported !== null && typeof exported === 'object' && !Array.isArray(exported) && Object.hasOwn(exported, 'default')) {
    exported = (exported as Record<string, unknown>).default;
  }
  if (exported === undefined) return { ok: false, error: `${path}: no default export (export default [defineWorkflow({...})])` };
  const list: unknown[] = Array.isArray(exported) ? exported : [exported];
  const workflows: Workflow[] = [];
  const names = new Set<string>();
  for (const [i, w] of list.entries()) {
    try {
      if (w === null || typeof w !== 'object' || typeof (w as { on?: unknown }).on !== 'object' || !Array.isArray((w as { steps?: unknown }).steps)) {
        throw new Error('not a workflow (use defineWorkflow)');
      }
      for (const s of (w as Workflow).steps) if (typeof s?.run !== 'function') throw new Error(`step '${String(s?.name)}' has no run function`);
      const checked = defineWorkflow(w as Workflow);
      if (names.has(checked.name)) throw new Error(`duplicate workflow name '${checked.name}'`);
      names.add(checked.name);
      workflows.push(checked as Workflow);
    } catch (e) {
      return { ok: false, error: `${path}: export [${i}]: ${errorText(e)}` };
    }
  }
  return { ok: true, workflows };
}
