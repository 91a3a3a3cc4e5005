/**
 * `vipflow worker --http ADDR:PORT`: the worker's read-only endpoint, with the
 * daemon's credentials rules (daemon/http-endpoint.ts): /metrics (the worker's
 * counters and its workflow runs by outcome) and /healthz.
 */
import type { Logger } from '../core/logger.js';
import type { WorkerStats } from '../workflows/worker.js';
import type { RunResult } from '../workflows/run.js';
import { HttpEndpoint, type HttpListenResult } from '../infra/http/endpoint.js';
import { StatusMetrics, type MetricFamily, type MetricSample } from '../daemon/metrics.js';
import type { HttpEndpointSettings } from '../daemon/http-endpoint.js';
import type { HttpAuth } from '../infra/http/auth.js';
import { WorkflowMetrics } from '../daemon/workflow-metrics.js';

export const WORKER_FAMILIES: readonly MetricFamily[] = [
  { name: 'vipflow_worker_messages_total', type: 'counter', labels: ['result'], help: 'Trigger messages received, by what became of them' },
  { name: 'vipflow_worker_runs_started_total', type: 'counter', labels: [], help: 'Workflow runs started' },
  { name: 'vipflow_worker_runs_running', type: 'gauge', labels: [], help: 'Workflow runs in flight' },
  { name: 'vipflow_worker_takeovers_total', type: 'counter', labels: [], help: 'Runs taken over from a worker whose claim expired' },
  { name: 'vipflow_worker_abandoned_total', type: 'counter', labels: [], help: 'Runs abandoned to another worker' },
  {
    name: 'vipflow_worker_refused_total',
    type: 'counter',
    labels: [],
    help: 'Triggers refused: unsigned, badly signed or signed by a key other than their node',
  },
  { name: 'vipflow_workflow_runs_total', type: 'counter', labels: ['workflow', 'status'], help: 'Finished workflow runs by outcome' },
  {
    name: 'vipflow_workflow_run_seconds_total',
    type: 'counter',
    labels: ['workflow', 'status'],
    help: 'Time spent in finished runs (divide by runs for the mean)',
  },
];

/** Finished runs by workflow and outcome; `histograms` has their durations and steps. */
export class RunTally {
  private readonly runs = new Map<string, { workflow: string; status: string; n: number; seconds: number }>();
  readonly histograms = new WorkflowMetrics();

  add(r: Pick<RunResult, 'workflow' | 'status' | 'durationMs' | 'steps'>): void {
    this.histograms.add(r);
    const key = `${r.workflow}\0${r.status}`;
    const t = this.runs.get(key) ?? { workflow: r.workflow, status: r.status, n: 0, seconds: 0 };
    t.n++;
    t.seconds += r.durationMs / 1000;
    this.runs.set(key, t);
  }

  samples(): MetricSample[] {
    return [...this.runs.values()].flatMap((t) => [
      { name: 'vipflow_workflow_runs_total', labels: { workflow: t.workflow, status: t.status }, value: t.n },
      { name: 'vipflow_workflow_run_seconds_total', labels: { workflow: t.workflow, status: t.status }, value: t.seconds },
    ]);
  }
}

/** The worker's samples (pure). */
export function workerSamples(stats: WorkerStats, running: number, runs: RunTally): MetricSample[] {
  const message = (result: string, value: number) => ({ name: 'vipflow_worker_messages_total', labels: { result }, value });
  return [
    message('received', stats.received),
    message('invalid', stats.invalid),
    message('already-finished', stats.alreadyFinished),
    message('superseded', stats.superseded),
    message('waited', stats.waits),
    { name: 'vipflow_worker_runs_started_total', labels: {}, value: stats.runsStarted },
    { name: 'vipflow_worker_runs_running', labels: {}, value: running },
    { name: 'vipflow_worker_takeovers_total', labels: {}, value: stats.takeovers },
    { name: 'vipflow_worker_abandoned_total', labels: {}, value: stats.abandoned },
    { name: 'vipflow_worker_refused_total', labels: {}, value: stats.refused },
    ...runs.samples(),
  ];
}

export interface WorkerView {
  readonly stats: WorkerStats;
  readonly running: number;
}

/** Serves the worker's endpoint; `worker` is read at each request (null until it started). */
export function startWorkerEndpoint(
  settings: HttpEndpointSettings,
  auth: HttpAuth | null,
  worker: () => WorkerView | null,
  runs: RunTally,
  log: Logger,
): Promise<HttpListenResult> {
  const metrics = new StatusMetrics(WORKER_FAMILIES, [runs.histograms.registry]);
  return HttpEndpoint.listen({
    listen: settings.listen,
    auth,
    log,
    routes: {
      '/metrics': async () => {
        const w = worker();
        const samples = w ? workerSamples(w.stats, w.running, runs) : [];
        return { status: 200, contentType: metrics.contentType, body: await metrics.render(samples) };
      },
      '/healthz': () => {
        const w = worker();
        return {
          status: w ? 200 : 503,
          contentType: 'application/json; charset=utf-8',
          body: JSON.stringify({ status: w ? 'ok' : 'starting', running: w?.running ?? 0 }) + '\n',
        };
      },
    },
  });
}
