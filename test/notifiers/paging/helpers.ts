/** Shared bits of the paging notifier tests: events, a one-workflow runner, a local HTTP receiver. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../../core/logger.js';
import type { EventOf } from '../../../infra/events/schema.js';
import { defineWorkflow, type Intent, type WorkflowStep } from '../../../workflows/define.js';
import { runWorkflow, type RunResult } from '../../../workflows/run.js';
import { dryRunShell } from '../../../workflows/shell.js';
import { samplePayloads, testSource } from '../../infra/events/fixtures.js';

export const log = silentLogger();

/** An instance.transition of `instance` seen by `node` in cluster dc1. */
export function transitionEvent(node: string, to: 'master' | 'backup', instance = 'VI_1'): EventOf<'instance.transition'> {
  return testSource(node).make('instance.transition', { ...samplePayloads['instance.transition'], instance, from: to === 'master' ? 'backup' : 'master', to });
}

/** Runs `steps` as one workflow against `event`; the shell only records. */
export async function runSteps(
  steps: WorkflowStep[],
  event: EventOf<'instance.transition'>,
  dryRun = false,
): Promise<{ result: RunResult; intents: Intent[] }> {
  const intents: Intent[] = [];
  const w = defineWorkflow({ name: 'page', on: { to: 'MASTER' }, steps });
  const result = await runWorkflow(w, event, {
    runId: `${event.id}/page`,
    log,
    emit: () => undefined,
    shell: dryRunShell(log),
    dryRun,
    onIntent: (i) => void intents.push(i),
  });
  return { result, intents };
}

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** The answers to give, in order; the last one repeats. Status 0: never answer. */
  answers: { status: number; body?: string }[];
  /** Requests whose connection the client closed before an answer. */
  abandoned: number;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 (ephemeral port) that records requests and answers as told. */
export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const r: Receiver = {
    url: '',
    received,
    abandoned: 0,
    answers: [{ status: 202, body: '{"status":"success","message":"Event processed"}' }],
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const a = r.answers[Math.min(received.length - 1, r.answers.length - 1)]!;
      if (a.status === 0) {
        res.on('close', () => void r.abandoned++);
        return;
      }
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  r.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return r;
}

/** A 32-character routing key, as PagerDuty issues them. */
export const ROUTING_KEY = 'R0123456789abcdef0123456789abcde';
