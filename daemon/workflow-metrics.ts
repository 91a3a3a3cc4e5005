/**
 * Workflow runs and steps by outcome, with their durations, from each finished
 * run (the daemon's in-process workflows and `vipflow worker`'s): prom-client
 * histograms and counters, rendered after the status metrics at each scrape.
 * Steps are counted per phase (`run`, `compensate`), and each attempt of a
 * retried step once.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import type { RunResult } from '../workflows/run.js';

// Runs wait on scripts, HTTP calls and retries with backoff: from a notify to minutes.
const RUN_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const STEP_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60];

export class WorkflowMetrics {
  readonly registry = new Registry();
  private readonly runs = new Histogram({
    name: 'vipflow_workflow_run_duration_seconds',
    help: 'Finished workflow runs by outcome, and how long they took',
    labelNames: ['workflow', 'status'],
    buckets: RUN_BUCKETS,
    registers: [this.registry],
  });
  private readonly steps = new Counter({
    name: 'vipflow_workflow_steps_total',
    help: 'Workflow step attempts and compensations by outcome',
    labelNames: ['workflow', 'step', 'phase', 'outcome'],
    registers: [this.registry],
  });
  private readonly stepDurations = new Histogram({
    name: 'vipflow_workflow_step_duration_seconds',
    help: 'How long workflow step attempts took, by outcome',
    labelNames: ['workflow', 'phase', 'outcome'],
    buckets: STEP_BUCKETS,
    registers: [this.registry],
  });

  add(r: Pick<RunResult, 'workflow' | 'status' | 'durationMs' | 'steps'>): void {
    this.runs.observe({ workflow: r.workflow, status: r.status }, r.durationMs / 1000);
    for (const s of r.steps) {
      this.steps.inc({ workflow: r.workflow, step: s.step, phase: s.phase, outcome: s.outcome });
      this.stepDurations.observe({ workflow: r.workflow, phase: s.phase, outcome: s.outcome }, s.durationMs / 1000);
    }
  }
}
