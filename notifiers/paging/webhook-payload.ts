/**
 * The generic JSON webhook, pure: the default body and the reading of the answer.
 * The default body is the vipflow event itself plus where it is being handled; it holds
 * nothing that changes between retries (no attempt number), so a receiver may compare
 * bodies as well as the Idempotency-Key header.
 */
import type { StepContext } from '../../workflows/define.js';
import type { VipflowEvent } from '../../infra/events/schema.js';
import { excerpt, retryableStatus, type Delivery } from './http.js';

export interface WebhookBody {
  event: VipflowEvent;
  workflow: string;
  step: string;
  runId: string;
  idempotencyKey: string;
}

export function defaultWebhookBody(ctx: StepContext): WebhookBody {
  return { event: ctx.event, workflow: ctx.workflow, step: ctx.step, runId: ctx.runId, idempotencyKey: ctx.idempotencyKey };
}

/** Any 2xx is success; otherwise the status and the start of the body say why. */
export function readWebhookResponse(status: number, body: string): Delivery {
  if (status >= 200 && status < 300) return { ok: true, detail: { status } };
  return { ok: false, retryable: retryableStatus(status), message: `webhook answered ${status}: ${excerpt(body) || '(empty body)'}` };
}
