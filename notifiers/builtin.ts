/**
 * The built-in notifiers a config can name in a workflow step (`uses`): each entry
 * pairs the schema of its options (`with`) with the factory that makes the step.
 * A notifier's code is loaded only when a config uses it.
 */
import type { z } from 'zod';
import type { RetryPolicy, WorkflowStep } from '../workflows/define.js';

export interface StepSettings {
  name?: string;
  timeoutMs?: number;
  retry?: RetryPolicy;
}

export interface BuiltinNotifier {
  /** One line for `vipflow workflows list` style help and error hints. */
  readonly summary: string;
  load(): Promise<{ schema: z.ZodType; step: (options: never, settings: StepSettings) => WorkflowStep }>;
}

export const BUILTIN_NOTIFIERS: Readonly<Record<string, BuiltinNotifier>> = {
  'shell.script': {
    summary: 'run a zx script (or any executable) with the event in VIPFLOW_* variables',
    load: async () => {
      const m = await import('./shell/index.js');
      return { schema: m.shellScriptOptionsSchema, step: m.shellScriptStep };
    },
  },
};
