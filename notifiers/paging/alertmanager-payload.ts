/**
 * Prometheus Alertmanager API v2, pure: the alerts vipflow posts to `POST /api/v2/alerts`
 * and the reading of the answer.
 *
 * Alertmanager identifies an alert by its label set: a later post with the same labels
 * updates that alert, and one whose `endsAt` is now or past resolves it. So the labels
 * carry only identity (alertname, cluster, node, instance, severity and the user's fixed
 * labels); everything that changes from one post to the next goes into annotations.
 * A firing alert without `endsAt` is resolved by Alertmanager itself after its
 * `resolve_timeout` (5 minutes by default) unless posted again.
 */
import { z } from 'zod';
import type { Delivery } from './http.js';
import { excerpt, retryableStatus } from './http.js';
import type { AlertSubject } from './subject.js';

/** Labels vipflow sets itself; user labels may not replace them (the resolve must match the fire). */
export const RESERVED_LABELS = ['alertname', 'cluster', 'node', 'instance', 'severity'] as const;
/** Prometheus label names. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface PostableAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

export function alertLabels(subject: AlertSubject, alertName: string, severity: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { ...extra, alertname: alertName, cluster: subject.cluster, node: subject.node, instance: subject.instance, severity };
}

export interface FireFields {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** ISO time the problem was seen. */
  startsAt: string;
  /** ISO time Alertmanager should consider it over unless posted again (omit: its resolve_timeout). */
  endsAt?: string | undefined;
  generatorURL?: string | undefined;
}

/** The body that raises (or refreshes) one alert. */
export function firingAlerts(f: FireFields): PostableAlert[] {
  return [
    {
      labels: f.labels,
      annotations: f.annotations,
      startsAt: f.startsAt,
      ...(f.endsAt !== undefined ? { endsAt: f.endsAt } : {}),
      ...(f.generatorURL !== undefined ? { generatorURL: f.generatorURL } : {}),
    },
  ];
}

/** The body that resolves the alert with these labels: the same labels, ending `now`. */
export function resolvedAlerts(labels: Record<string, string>, now: string): PostableAlert[] {
  return [{ labels, endsAt: now }];
}

/** `<base>/api/v2/alerts`, keeping a path prefix (Alertmanager's --web.route-prefix). */
export function alertsUrl(base: string): string {
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
  return u.toString();
}

/** Alertmanager answers 200 with an empty body; a refusal's body is a JSON string saying why. */
export function readAlertmanagerResponse(status: number, body: string): Delivery {
  if (status >= 200 && status < 300) return { ok: true, detail: { status } };
  let said = excerpt(body);
  try {
    const parsed = z.string().safeParse(JSON.parse(body));
    if (parsed.success) said = excerpt(parsed.data);
  } catch {
    // Plain text (a proxy): keep the excerpt.
  }
  const why = status === 400 ? 'rejected the alert' : `answered ${status}`;
  return { ok: false, retryable: retryableStatus(status), message: `Alertmanager ${why}: ${said || '(empty body)'}` };
}
