/** Typed workflows run in-process off the event bus. */
export { defineWorkflow, matchesTrigger, TRIGGER_STATE, DEFAULT_STEP_TIMEOUT_MS, PermanentStepError, isPermanent } from './define.js';
export type {
  Intent,
  Workflow,
  WorkflowStep,
  StepSettings,
  StepContext,
  StepShell,
  ShellOutput,
  RetryPolicy,
  Trigger,
  StateTrigger,
  TriggerEvent,
  GroupMembers,
  WorkflowTriggerSpec,
} from './define.js';
export { runWorkflow, type RunResult, type RunOptions, type StepRecord, type StepOutcome, type Emit } from './run.js';
export { WorkflowRunner, type WorkflowRunnerOptions } from './runner.js';
export { loadWorkflows, type LoadWorkflowsResult } from './load.js';
export { zxShell, dryRunShell } from './shell.js';
