/**
 * `vipflow workflows test (--workflows FILE | --config CONFIG) --event EVENT.json [--json]` (options: cli/definitions.ts)
 *
 * With --config the workflows are those the daemon would run for that config: its
 * `vipflow.workflows` (built-in notifiers) and its `vipflow.workflowsFile`; --workflows
 * then replaces the file, as it does for `vipflow run`.
 *
 * Dry run: loads a workflows file, reads one hand-written or recorded event and runs
 * every workflow it triggers with `ctx.dryRun` set: `$` is a recorder that prints each
 * command instead of running it, and the built-in notifiers (Nginx, DNS, paging) print
 * what they would do (`ctx.intend`) instead of doing it. Side effects written in plain
 * code inside a step (fetch, fs) are the step's own business: it should check
 * `ctx.dryRun` as the built-ins do.
 *
 * The event may be a full `vipflow.event/v1` envelope or just `{ "type", "data" }`;
 * missing envelope fields are filled in. Exit status: 0 every triggered run
 * succeeded, 1 a run failed, 2 the command line, the workflows file or the event is wrong.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { EVENT_SCHEMA, parseEvent, type EventData, type VipflowEvent } from '../infra/events/schema.js';
import { silentLogger } from '../core/logger.js';
import { loadConfig } from '../config/load.js';
import { matchesTrigger, type GroupMembers, type Workflow } from '../workflows/define.js';
import { loadConfiguredWorkflows } from '../workflows/from-config.js';
import { BUILTIN_NOTIFIERS } from '../notifiers/builtin.js';
import { loadWorkflows } from '../workflows/load.js';
import { runWorkflow, type Emit, type RunResult } from '../workflows/run.js';
import { dryRunShell } from '../workflows/shell.js';
import type { WorkflowsTestOptions } from './definitions.js';

interface Args {
  workflows: string | undefined;
  config: string | undefined;
  event: string;
  json: boolean;
}

/** Reads the event file, completing a bare `{ type, data }` into an envelope. */
function readEvent(file: string): VipflowEvent | string {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return `${file}: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
    raw = { schema: EVENT_SCHEMA, id: 'dry-run:0:1', cluster: 'default', node: hostname() || 'localhost', seq: 1, time: now, monoNs: '0', ...raw };
  }
  const r = parseEvent(raw);
  return r.ok ? r.event : `${file}: not a valid event: ${r.error.message}`;
}

async function workflowsFor(args: Args): Promise<{ ok: true; workflows: Workflow[]; groups?: GroupMembers } | { ok: false; error: string }> {
  if (args.config === undefined) return loadWorkflows(args.workflows!);
  const r = await loadConfig(args.config);
  if (!r.model) {
    const first = r.diagnostics.find((d) => d.severity === 'error');
    return { ok: false, error: `${args.config}: the config does not load${first ? `: ${first.message}` : ''} (run vipflow check-config)` };
  }
  const c = await loadConfiguredWorkflows(r.model.vipflow, args.config, BUILTIN_NOTIFIERS, args.workflows);
  const errors = c.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) return { ok: false, error: errors.map((d) => d.message).join('\n') };
  const groups = Object.fromEntries(r.model.vrrpSyncGroups.map((g) => [g.name, g.group]));
  return { ok: true, workflows: c.workflows, groups };
}

export async function testWorkflows(opts: WorkflowsTestOptions): Promise<number> {
  if (opts.workflows === undefined && opts.config === undefined) {
    process.stderr.write("vipflow workflows test: missing --workflows FILE or --config CONFIG (see 'vipflow workflows test --help')\n");
    return 2;
  }
  const args: Args = { workflows: opts.workflows, config: opts.config, event: opts.event, json: opts.json === true };
  const loaded = await workflowsFor(args);
  if (!loaded.ok) {
    process.stderr.write(`vipflow workflows: ${loaded.error}\n`);
    return 2;
  }
  const event = readEvent(args.event);
  if (typeof event === 'string') {
    process.stderr.write(`vipflow workflows: ${event}\n`);
    return 2;
  }
  const out = (line: string) => {
    if (!args.json) process.stdout.write(line + '\n');
  };
  const log = silentLogger();
  const results: (RunResult & { commands: string[]; intents: unknown[] })[] = [];
  out(`event ${event.id} ${event.type}${event.type === 'instance.transition' ? ` ${event.data.instance} ${event.data.from} -> ${event.data.to}` : ''}`);
  for (const w of loaded.workflows) {
    if (!matchesTrigger(w, event, loaded.groups)) {
      out(`workflow ${w.name}: not triggered`);
      continue;
    }
    out(`workflow ${w.name}: triggered (dry run)`);
    const commands: string[] = [];
    const intents: { step: string; action: string; detail?: Readonly<Record<string, unknown>> }[] = [];
    const emit: Emit = (type, data) => {
      if (type !== 'workflow.step') return;
      const d = data as EventData<'workflow.step'>;
      out(`  step ${d.step}: ${d.status}${d.error ? ` (${d.error})` : ''}`);
    };
    const r = await runWorkflow(w, event, {
      runId: `${event.id}/${w.name}`,
      log,
      emit,
      shell: dryRunShell(log, (c) => {
        commands.push(c);
        out(`    would run: ${c}`);
      }),
      dryRun: true,
      onIntent: (i) => {
        intents.push({ step: i.step, action: i.action, ...(i.detail !== undefined ? { detail: i.detail } : {}) });
        out(`    would ${i.action}${i.detail !== undefined ? ` ${JSON.stringify(i.detail)}` : ''}`);
      },
    });
    out(`workflow ${w.name}: ${r.status}`);
    results.push({ ...r, commands, intents });
  }
  if (args.json) process.stdout.write(JSON.stringify({ event: event.id, runs: results }, null, 2) + '\n');
  return results.every((r) => r.status === 'succeeded') ? 0 : 1;
}
