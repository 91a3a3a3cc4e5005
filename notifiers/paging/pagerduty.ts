/**
 * PagerDuty Events API v2 as workflow steps: trigger, acknowledge and resolve an alert
 * about the event's instance. The routing key is a secret (routingKey, routingKeyEnv or
 * routingKeyFile); the endpoint defaults to PagerDuty's and may point at a proxy.
 */
import { z } from 'zod';
import type { StepContext, StepSettings, WorkflowStep } from '../../workflows/define.js';
import { deliver, pagingStep, type PagingTarget } from './deliver.js';
import { PermanentFailures, safeUrl } from './http.js';
import {
  buildPagerDutyEvent,
  defaultDedupKey,
  PAGERDUTY_ENDPOINT,
  pagerDutySeverity,
  readPagerDutyResponse,
  type PagerDutyAction,
} from './pagerduty-payload.js';
import { checkSecretFields, parseOptions, secretFields, secretOf, secretOrThrow, secretSource } from './secret.js';
import { describeEvent, eventFacts, eventTimeMs, subjectOf } from './subject.js';

const httpUrl = z.url({ protocol: /^https?$/ });

export const pagerDutyOptionsSchema = z
  .strictObject({
    /** The Events API v2 integration key (32 characters): routingKey, routingKeyEnv or routingKeyFile. */
    ...secretFields('routingKey'),
    /** Where events go; override for a proxy or a test receiver. */
    endpoint: httpUrl.default(PAGERDUTY_ENDPOINT),
    /** Names the problem: part of the default dedup key and the default `class`. */
    alertName: z.string().min(1).max(128).default('VipflowAlert'),
    severity: pagerDutySeverity.default('critical'),
    /** Default: `<alertName>: <instance> on <node> (cluster <c>): <from> -> <to> (<reason>)`, plus the step's note. */
    summary: z.string().min(1).max(1024).optional(),
    /** Default: the node that saw the event. */
    source: z.string().min(1).optional(),
    /** Default: the VRRP instance. */
    component: z.string().min(1).optional(),
    /** Default: the cluster. */
    group: z.string().min(1).optional(),
    /** Default: alertName. */
    class: z.string().min(1).optional(),
    /** Added to the event facts in payload.custom_details. */
    customDetails: z.record(z.string(), z.unknown()).optional(),
    /** A fixed dedup key instead of `vipflow/<cluster>/<instance>/<alertName>` (see defaultDedupKey). */
    dedupKey: z.string().min(1).max(255).optional(),
    client: z.string().min(1).default('vipflow'),
    clientUrl: httpUrl.optional(),
  })
  .superRefine((o, ctx) => checkSecretFields(o, 'routingKey', true, ctx));

export type PagerDutyOptions = z.input<typeof pagerDutyOptionsSchema>;

export interface PagerDutyTarget extends PagingTarget {
  /** Sends one alert event; `note` is added to a trigger's summary and details. */
  send(ctx: StepContext, action: PagerDutyAction, note?: string): Promise<void>;
  /** The dedup key these options give for the event (what trigger, acknowledge and resolve share). */
  dedupKeyFor(ctx: StepContext): string;
}

/**
 * A PagerDuty sender for `options`.
 * @throws Error naming the bad option when `options` do not validate.
 */
export function pagerDutyTarget(options: PagerDutyOptions): PagerDutyTarget {
  const o = parseOptions('pagerduty', pagerDutyOptionsSchema, options);
  const key = secretOf(o, 'routingKey')!;
  const refused = new PermanentFailures();
  const dedupKeyFor = (ctx: StepContext) => o.dedupKey ?? defaultDedupKey(subjectOf(ctx.event), o.alertName);
  const send = async (ctx: StepContext, action: PagerDutyAction, note?: string) => {
    const dedup = dedupKeyFor(ctx);
    const subject = subjectOf(ctx.event);
    await deliver(ctx, refused, {
      what: 'PagerDuty',
      action,
      intent: { endpoint: safeUrl(o.endpoint), dedupKey: dedup, routingKey: secretSource(key), ...(action === 'trigger' ? { severity: o.severity } : {}) },
      prepare: async () => {
        const routing = await secretOrThrow(key, 'routingKey');
        const fields =
          action === 'trigger'
            ? {
                summary: (o.summary ?? `${o.alertName}: ${describeEvent(ctx.event)}`) + (note ? ` - ${note}` : ''),
                source: o.source ?? subject.node,
                severity: o.severity,
                timestamp: eventTimeMs(ctx.event),
                component: o.component ?? subject.instance,
                group: o.group ?? subject.cluster,
                class: o.class ?? o.alertName,
                customDetails: {
                  ...eventFacts(ctx.event),
                  workflow: ctx.workflow,
                  step: ctx.step,
                  idempotencyKey: ctx.idempotencyKey,
                  ...(note ? { note } : {}),
                  ...o.customDetails,
                },
                client: o.client,
                clientUrl: o.clientUrl,
              }
            : undefined;
        return { url: o.endpoint, body: buildPagerDutyEvent(action, routing, dedup, fields) };
      },
      read: readPagerDutyResponse,
    });
  };
  return {
    what: 'PagerDuty',
    send,
    dedupKeyFor,
    fire: (ctx, note) => send(ctx, 'trigger', note),
    resolve: (ctx) => send(ctx, 'resolve'),
  };
}

/** A step that triggers (opens or re-triggers) the alert. Retries 429/5xx/network failures per `step.retry` (default 3 tries). */
export function pagerDutyTriggerStep(options: PagerDutyOptions, step?: StepSettings): WorkflowStep {
  const t = pagerDutyTarget(options);
  return pagingStep('pagerduty-trigger', (ctx) => t.send(ctx, 'trigger'), step);
}

/** A step that acknowledges the alert with the same dedup key. */
export function pagerDutyAcknowledgeStep(options: PagerDutyOptions, step?: StepSettings): WorkflowStep {
  const t = pagerDutyTarget(options);
  return pagingStep('pagerduty-acknowledge', (ctx) => t.send(ctx, 'acknowledge'), step);
}

/** A step that resolves the alert with the same dedup key (PagerDuty drops a resolve for no open alert). */
export function pagerDutyResolveStep(options: PagerDutyOptions, step?: StepSettings): WorkflowStep {
  const t = pagerDutyTarget(options);
  return pagingStep('pagerduty-resolve', (ctx) => t.send(ctx, 'resolve'), step);
}
