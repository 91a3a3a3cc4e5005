/**
 * A generic JSON webhook as a workflow step: sends the vipflow event (or what the
 * user's `body` function returns) with an `Idempotency-Key` header that stays the same
 * across retries and redeliveries. The URL is treated as a secret (chat webhooks carry
 * their token in it), and so may any header value (Authorization).
 */
import { z } from 'zod';
import type { StepContext, StepSettings, WorkflowStep } from '../../workflows/define.js';
import { deliver, pagingStep } from './deliver.js';
import { PermanentFailures, safeUrl } from './http.js';
import { checkSecretFields, envName, parseOptions, secretFields, secretOf, secretOrThrow, secretSource, type SecretRef } from './secret.js';
import { defaultWebhookBody, readWebhookResponse } from './webhook-payload.js';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A header whose value is a secret: one of value / env / file, with an optional prefix such as `Bearer `. */
const secretHeader = z
  .strictObject({ value: z.string().min(1).optional(), env: envName.optional(), file: z.string().min(1).optional(), prefix: z.string().default('') })
  .refine((h) => [h.value, h.env, h.file].filter((x) => x !== undefined).length === 1, 'give exactly one of value, env, file');

export const webhookOptionsSchema = z
  .strictObject({
    /** The endpoint: url, urlEnv or urlFile. */
    ...secretFields('url'),
    method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
    /** Extra headers: a plain string, or `{ env | file | value, prefix? }` for secrets. */
    headers: z.record(z.string().regex(HEADER_NAME, 'must be an HTTP header name'), z.union([z.string(), secretHeader])).default({}),
    /** Builds the JSON body from the step context; default `{ event, workflow, step, runId, idempotencyKey }`. */
    body: z.custom<(ctx: StepContext) => unknown>((v) => typeof v === 'function', 'must be a function (ctx) => body').optional(),
  })
  .superRefine((o, ctx) => {
    checkSecretFields(o, 'url', true, ctx);
    if (o.url !== undefined && !z.url({ protocol: /^https?$/ }).safeParse(o.url).success)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be an http(s) URL' });
  });

export type WebhookOptions = z.input<typeof webhookOptionsSchema>;

/**
 * A step that sends the webhook. Non-2xx fails the step with the status and a body
 * excerpt; 408/429/5xx and network failures are retried per `step.retry` (default 3 tries).
 * @throws Error naming the bad option when `options` do not validate.
 */
export function webhookStep(options: WebhookOptions, step?: StepSettings): WorkflowStep {
  const o = parseOptions('webhook', webhookOptionsSchema, options);
  const urlRef = secretOf(o, 'url')!;
  const refused = new PermanentFailures();
  const headers = async (ctx: StepContext): Promise<Record<string, string>> => {
    const out: Record<string, string> = { 'idempotency-key': ctx.idempotencyKey };
    for (const [name, h] of Object.entries(o.headers)) {
      out[name.toLowerCase()] = typeof h === 'string' ? h : h.prefix + (await secretOrThrow(h as SecretRef, `headers.${name}`));
    }
    return out;
  };
  const run = async (ctx: StepContext) => {
    await deliver(ctx, refused, {
      what: 'webhook',
      action: o.method,
      intent: {
        url: urlRef.value !== undefined ? safeUrl(urlRef.value) : secretSource(urlRef),
        method: o.method,
        headers: Object.keys(o.headers),
        idempotencyKey: ctx.idempotencyKey,
      },
      prepare: async () => {
        const url = await secretOrThrow(urlRef, 'url');
        if (!z.url({ protocol: /^https?$/ }).safeParse(url).success) throw new Error(`option url (${secretSource(urlRef)}): not an http(s) URL`);
        return { url, method: o.method, headers: await headers(ctx), body: o.body ? await o.body(ctx) : defaultWebhookBody(ctx) };
      },
      read: readWebhookResponse,
    });
  };
  return pagingStep('webhook', run, step);
}
