/**
 * PagerDuty Events API v2 (alert events), pure: the request schema as PagerDuty documents
 * it ("Send an Alert Event", developer.pagerduty.com), the payload builder, the default
 * dedup key, and the reading of a response.
 *
 * Responses (Events API v2 overview, "Response Codes & Retry Logic"): 202 accepted;
 * 400 the event is invalid (do not retry); 429 too many events and 5xx server errors
 * (retry later); a network error (retry later). A body looks like
 * `{"status":"success","message":"Event processed","dedup_key":"..."}`, or on 400
 * `{"status":"invalid event","message":"Event object is invalid","errors":["..."]}`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Delivery } from './http.js';
import { excerpt, retryableStatus } from './http.js';
import type { AlertSubject } from './subject.js';

export const PAGERDUTY_ENDPOINT = 'https://events.pagerduty.com/v2/enqueue';
export const pagerDutySeverity = z.enum(['critical', 'error', 'warning', 'info']);
export type PagerDutySeverity = z.infer<typeof pagerDutySeverity>;
export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';

const DEDUP_MAX = 255;
const SUMMARY_MAX = 1024;
/** ISO 8601 with a zone, as in PagerDuty's examples (`2015-07-17T08:42:58.315+0000`). */
const timestamp = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/);
/** "the 32 character Integration Key for an integration on a service or on a global ruleset". */
const routingKey = z.string().length(32);
const dedupKey = z.string().min(1).max(DEDUP_MAX);

const triggerEvent = z.strictObject({
  routing_key: routingKey,
  event_action: z.literal('trigger'),
  dedup_key: dedupKey.optional(),
  payload: z.strictObject({
    summary: z.string().min(1).max(SUMMARY_MAX),
    source: z.string().min(1),
    severity: pagerDutySeverity,
    timestamp: timestamp.optional(),
    component: z.string().optional(),
    group: z.string().optional(),
    class: z.string().optional(),
    custom_details: z.record(z.string(), z.unknown()).optional(),
  }),
  images: z.array(z.strictObject({ src: z.string().min(1), href: z.string().optional(), alt: z.string().optional() })).optional(),
  links: z.array(z.strictObject({ href: z.string().min(1), text: z.string().optional() })).optional(),
  client: z.string().optional(),
  client_url: z.string().optional(),
});
/** Acknowledge and resolve carry only the key of the alert they apply to. */
const followUp = (action: 'acknowledge' | 'resolve') => z.strictObject({ routing_key: routingKey, event_action: z.literal(action), dedup_key: dedupKey });

/** An Events API v2 alert event request body, as documented. */
export const pagerDutyEventSchema = z.discriminatedUnion('event_action', [triggerEvent, followUp('acknowledge'), followUp('resolve')]);
export type PagerDutyEvent = z.infer<typeof pagerDutyEventSchema>;

/**
 * The default dedup key: `vipflow/<cluster>/<instance>/<alertName>`.
 *
 * PagerDuty applies an acknowledge or resolve to the open alert with the same dedup key
 * (and routing key). The trigger and its resolve come from different events, usually
 * different workflow runs and possibly different nodes after another failover, so the key
 * cannot be the event id or the idempotency key: it names the problem instead, which is
 * the same whenever the same problem is reported about the same instance. The node is
 * left out on purpose: the incident is about the service the instance carries, and
 * whichever node later sees it healthy may resolve it. Retried triggers with this key
 * add a log entry to the open alert rather than opening a second one.
 * Longer than PagerDuty's 255 characters: cut, with a hash of the whole key appended.
 */
export function defaultDedupKey(subject: AlertSubject, alertName: string): string {
  const key = `vipflow/${subject.cluster}/${subject.instance}/${alertName}`;
  if (key.length <= DEDUP_MAX) return key;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return `${key.slice(0, DEDUP_MAX - hash.length - 1)}~${hash}`;
}

export interface TriggerFields {
  summary: string;
  source: string;
  severity: PagerDutySeverity;
  timestamp?: string | undefined;
  component?: string | undefined;
  group?: string | undefined;
  class?: string | undefined;
  customDetails?: Readonly<Record<string, unknown>> | undefined;
  client?: string | undefined;
  clientUrl?: string | undefined;
}

/** The request body for `action`. `trigger` needs `fields`; the others ignore them. */
export function buildPagerDutyEvent(action: PagerDutyAction, routing: string, dedup: string, fields?: TriggerFields): PagerDutyEvent {
  if (action !== 'trigger') return { routing_key: routing, event_action: action, dedup_key: dedup };
  if (!fields) throw new Error('buildPagerDutyEvent: a trigger needs its fields');
  const summary = fields.summary.length > SUMMARY_MAX ? `${fields.summary.slice(0, SUMMARY_MAX - 3)}...` : fields.summary;
  return {
    routing_key: routing,
    event_action: 'trigger',
    dedup_key: dedup,
    payload: {
      summary,
      source: fields.source,
      severity: fields.severity,
      ...(fields.timestamp !== undefined ? { timestamp: fields.timestamp } : {}),
      ...(fields.component !== undefined ? { component: fields.component } : {}),
      ...(fields.group !== undefined ? { group: fields.group } : {}),
      ...(fields.class !== undefined ? { class: fields.class } : {}),
      ...(fields.customDetails !== undefined ? { custom_details: { ...fields.customDetails } } : {}),
    },
    ...(fields.client !== undefined ? { client: fields.client } : {}),
    ...(fields.clientUrl !== undefined ? { client_url: fields.clientUrl } : {}),
  };
}

const responseBody = z.object({
  status: z.string().optional(),
  message: z.string().optional(),
  dedup_key: z.string().optional(),
  errors: z.array(z.string()).optional(),
});

/** What a response means for the step: accepted, retry later, or refused for good (with PagerDuty's own words). */
export function readPagerDutyResponse(status: number, body: string): Delivery {
  let parsed: z.infer<typeof responseBody> | undefined;
  try {
    const r = responseBody.safeParse(JSON.parse(body));
    if (r.success) parsed = r.data;
  } catch {
    // Not JSON (a proxy's error page): the excerpt below says what came back.
  }
  if (status >= 200 && status < 300) return { ok: true, detail: { status, ...(parsed?.dedup_key !== undefined ? { dedupKey: parsed.dedup_key } : {}) } };
  const said = parsed?.message !== undefined ? [parsed.message, ...(parsed.errors ?? [])].join(': ') : excerpt(body) || '(empty body)';
  const why = status === 400 ? 'rejected the event as invalid' : status === 429 ? 'is throttling events (429)' : `answered ${status}`;
  return { ok: false, retryable: retryableStatus(status), message: `PagerDuty ${why}: ${said}` };
}
