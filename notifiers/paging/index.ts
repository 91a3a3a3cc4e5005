/**
 * Built-in paging notifiers: PagerDuty Events API v2, a generic JSON webhook, and
 * Prometheus Alertmanager (API v2), as workflow steps; plus healthAlertStep, which pages
 * through Alertmanager or PagerDuty when the new Master fails an HTTP health check.
 */
export { pagerDutyOptionsSchema, pagerDutyTarget, pagerDutyTriggerStep, pagerDutyAcknowledgeStep, pagerDutyResolveStep } from './pagerduty.js';
export type { PagerDutyOptions, PagerDutyTarget } from './pagerduty.js';
export { pagerDutyEventSchema, buildPagerDutyEvent, defaultDedupKey, readPagerDutyResponse, PAGERDUTY_ENDPOINT } from './pagerduty-payload.js';
export type { PagerDutyEvent, PagerDutyAction, PagerDutySeverity, TriggerFields } from './pagerduty-payload.js';
export { alertmanagerOptionsSchema, alertmanagerTarget, alertmanagerFireStep, alertmanagerResolveStep } from './alertmanager.js';
export type { AlertmanagerOptions, AlertmanagerTarget } from './alertmanager.js';
export { alertLabels, firingAlerts, resolvedAlerts, alertsUrl, readAlertmanagerResponse, RESERVED_LABELS } from './alertmanager-payload.js';
export type { PostableAlert, FireFields } from './alertmanager-payload.js';
export { webhookOptionsSchema, webhookStep } from './webhook.js';
export type { WebhookOptions } from './webhook.js';
export { defaultWebhookBody, readWebhookResponse } from './webhook-payload.js';
export type { WebhookBody } from './webhook-payload.js';
export { healthAlertOptionsSchema, healthAlertStep, checkHealth } from './health.js';
export type { HealthAlertOptions, HealthResult } from './health.js';
export type { PagingTarget } from './deliver.js';
export { DEFAULT_PAGING_RETRY, DEFAULT_PAGING_TIMEOUT_MS } from './deliver.js';
export { resolveSecret } from './secret.js';
export type { SecretRef, SecretResult } from './secret.js';
