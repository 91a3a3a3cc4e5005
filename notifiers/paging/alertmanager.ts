/**
 * Prometheus Alertmanager (API v2) as workflow steps: fire an alert about the event's
 * instance, and resolve it (the same labels with endsAt = now). Optional bearer token
 * or basic auth for an Alertmanager behind a proxy that checks them.
 */
import { z } from 'zod';
import type { StepContext, StepSettings, WorkflowStep } from '../../workflows/define.js';
import { alertLabels, alertsUrl, firingAlerts, LABEL_NAME, readAlertmanagerResponse, RESERVED_LABELS, resolvedAlerts } from './alertmanager-payload.js';
import { deliver, pagingStep, type PagingTarget } from './deliver.js';
import { PermanentFailures, safeUrl } from './http.js';
import { checkSecretFields, parseOptions, secretFields, secretOf, secretOrThrow, secretSource } from './secret.js';
import { describeEvent, subjectOf } from './subject.js';

const httpUrl = z.url({ protocol: /^https?$/ });
const labelMap = z.record(z.string().regex(LABEL_NAME, 'must be a Prometheus label name'), z.string());

export const alertmanagerOptionsSchema = z
  .strictObject({
    /** Alertmanager's base URL (e.g. http://alertmanager:9093, with its route prefix if any). */
    url: httpUrl,
    /** The alertname label. */
    alertName: z.string().min(1).default('VipflowAlert'),
    /** The severity label. */
    severity: z.string().min(1).default('critical'),
    /** More labels (team, service...): fixed values, part of the alert's identity. */
    labels: labelMap.default({}),
    /** More annotations; `summary` replaces the generated one. */
    annotations: labelMap.default({}),
    generatorURL: httpUrl.optional(),
    /**
     * A fired alert ends this long after it was posted unless posted again; without it
     * Alertmanager applies its resolve_timeout (default 5 minutes).
     */
    expireAfterMs: z.number().int().positive().optional(),
    /** Sent as `Authorization: Bearer ...`: bearerToken, bearerTokenEnv or bearerTokenFile. */
    ...secretFields('bearerToken'),
    basicAuth: z
      .strictObject({ username: z.string().min(1), ...secretFields('password') })
      .superRefine((o, ctx) => checkSecretFields(o, 'password', true, ctx))
      .optional(),
  })
  .superRefine((o, ctx) => {
    checkSecretFields(o, 'bearerToken', false, ctx);
    if (o.basicAuth && secretOf(o, 'bearerToken'))
      ctx.addIssue({ code: 'custom', path: ['basicAuth'], message: 'give either a bearer token or basicAuth, not both' });
    for (const l of RESERVED_LABELS) {
      if (l in o.labels)
        ctx.addIssue({ code: 'custom', path: ['labels', l], message: `'${l}' is set by vipflow (use alertName / severity, or another label name)` });
    }
  });

export type AlertmanagerOptions = z.input<typeof alertmanagerOptionsSchema>;

export interface AlertmanagerTarget extends PagingTarget {
  /** The labels that identify the alert these options raise for the event. */
  labelsFor(ctx: StepContext): Record<string, string>;
}

/**
 * An Alertmanager sender for `options`.
 * @throws Error naming the bad option when `options` do not validate.
 */
export function alertmanagerTarget(options: AlertmanagerOptions): AlertmanagerTarget {
  const o = parseOptions('alertmanager', alertmanagerOptionsSchema, options);
  const url = alertsUrl(o.url);
  const bearer = secretOf(o, 'bearerToken');
  const basic = o.basicAuth ? { username: o.basicAuth.username, password: secretOf(o.basicAuth, 'password')! } : undefined;
  const refused = new PermanentFailures();
  const labelsFor = (ctx: StepContext) => alertLabels(subjectOf(ctx.event), o.alertName, o.severity, o.labels);
  const headers = async (): Promise<Record<string, string>> => {
    if (bearer) return { authorization: `Bearer ${await secretOrThrow(bearer, 'bearerToken')}` };
    if (basic)
      return { authorization: `Basic ${Buffer.from(`${basic.username}:${await secretOrThrow(basic.password, 'basicAuth.password')}`).toString('base64')}` };
    return {};
  };
  const auth = bearer ? `bearer (${secretSource(bearer)})` : basic ? `basic (${secretSource(basic.password)})` : 'none';
  const post = (ctx: StepContext, action: 'fire' | 'resolve', body: () => unknown) =>
    deliver(ctx, refused, {
      what: 'Alertmanager',
      action,
      intent: { url: safeUrl(url), labels: labelsFor(ctx), auth },
      prepare: async () => ({ url, headers: await headers(), body: body() }),
      read: readAlertmanagerResponse,
    }).then(() => undefined);
  return {
    what: 'Alertmanager',
    labelsFor,
    fire: (ctx, note) =>
      post(ctx, 'fire', () => {
        const now = Date.now();
        return firingAlerts({
          labels: labelsFor(ctx),
          annotations: {
            summary: `${o.alertName}: ${describeEvent(ctx.event)}${note ? ` - ${note}` : ''}`,
            ...(note ? { description: note } : {}),
            event_id: ctx.event.id,
            ...o.annotations,
          },
          startsAt: new Date(now).toISOString(),
          endsAt: o.expireAfterMs !== undefined ? new Date(now + o.expireAfterMs).toISOString() : undefined,
          generatorURL: o.generatorURL,
        });
      }),
    resolve: (ctx) => post(ctx, 'resolve', () => resolvedAlerts(labelsFor(ctx), new Date().toISOString())),
  };
}

/** A step that fires the alert. Retries 5xx/network failures per `step.retry` (default 3 tries). */
export function alertmanagerFireStep(options: AlertmanagerOptions, step?: StepSettings): WorkflowStep {
  const t = alertmanagerTarget(options);
  return pagingStep('alertmanager-fire', (ctx) => t.fire(ctx), step);
}

/** A step that resolves the alert the same options fire for this instance and node. */
export function alertmanagerResolveStep(options: AlertmanagerOptions, step?: StepSettings): WorkflowStep {
  const t = alertmanagerTarget(options);
  return pagingStep('alertmanager-resolve', (ctx) => t.resolve(ctx), step);
}
