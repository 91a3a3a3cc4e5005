/**
 * The built-in notifiers a config can name in a workflow step (`uses`): each entry
 * pairs the schema of its options (`with`) with the factory that makes the step.
 * A notifier's code is loaded only when a config uses it.
 */
import type { z } from 'zod';
import type { StepSettings } from '../workflows/define.js';
import type { RegisteredStep, StepRegistry } from '../workflows/from-config.js';

export type BuiltinNotifier = RegisteredStep;

type Loaded = Awaited<ReturnType<BuiltinNotifier['load']>>;
const entry = (summary: string, load: () => Promise<Loaded>): BuiltinNotifier => ({ summary, load });

export const BUILTIN_NOTIFIERS: StepRegistry = {
  'vip.ready': entry('wait until this node holds the VIPs and has announced them (control socket)', async () => {
    const m = await import('./vip/index.js');
    return { schema: m.vipOptionsSchema, step: m.vipReadyStep };
  }),
  'nginx.reload': entry('nginx -t, reload, then wait for a new worker generation and a healthy answer', async () => {
    const m = await import('./nginx/index.js');
    return { schema: m.nginxOptionsSchema, step: m.nginxReloadStep };
  }),
  'dns.update': entry('RFC 2136 update signed with TSIG, verified by a query to the same server', async () => {
    const m = await import('./dns/index.js');
    return { schema: m.dnsOptionsSchema, step: (o: never, s: StepSettings) => m.dnsUpdateStep(o, s) };
  }),
  'pagerduty.trigger': entry('PagerDuty Events API v2 trigger', async () => {
    const m = await import('./paging/index.js');
    return { schema: m.pagerDutyOptionsSchema, step: m.pagerDutyTriggerStep };
  }),
  'pagerduty.acknowledge': entry('PagerDuty Events API v2 acknowledge', async () => {
    const m = await import('./paging/index.js');
    return { schema: m.pagerDutyOptionsSchema, step: m.pagerDutyAcknowledgeStep };
  }),
  'pagerduty.resolve': entry('PagerDuty Events API v2 resolve', async () => {
    const m = await import('./paging/index.js');
    return { schema: m.pagerDutyOptionsSchema, step: m.pagerDutyResolveStep };
  }),
  'alertmanager.fire': entry("post an alert to Prometheus Alertmanager's v2 API", async () => {
    const m = await import('./paging/index.js');
    return { schema: m.alertmanagerOptionsSchema, step: m.alertmanagerFireStep };
  }),
  'alertmanager.resolve': entry('resolve the alert alertmanager.fire raised', async () => {
    const m = await import('./paging/index.js');
    return { schema: m.alertmanagerOptionsSchema, step: m.alertmanagerResolveStep };
  }),
  'webhook.post': entry('send the event as JSON to a webhook, with an Idempotency-Key header', async () => {
    const m = await import('./paging/index.js');
    return { schema: m.webhookOptionsSchema, step: m.webhookStep };
  }),
  'health.alert': entry('check a health URL from this node; page (Alertmanager or PagerDuty) while it fails, resolve when it passes', async () => {
    const { z } = await import('zod');
    const m = await import('./paging/index.js');
    const schema = z
      .strictObject({
        health: m.healthAlertOptionsSchema,
        alertmanager: m.alertmanagerOptionsSchema.optional(),
        pagerduty: m.pagerDutyOptionsSchema.optional(),
      })
      .refine((o) => (o.alertmanager === undefined) !== (o.pagerduty === undefined), {
        message: 'name exactly one of alertmanager or pagerduty to page through',
      });
    type Options = z.input<typeof schema>;
    return {
      schema,
      step: (o: never, s: StepSettings) => {
        const opts = o as Options;
        const target = opts.alertmanager !== undefined ? m.alertmanagerTarget(opts.alertmanager) : m.pagerDutyTarget(opts.pagerduty!);
        return m.healthAlertStep(opts.health, target, s);
      },
    };
  }),
  'conntrackd.sync': entry("keepalived's primary-backup.sh for conntrackd: commit the peer's connections on MASTER, resync on BACKUP", async () => {
    const m = await import('./conntrackd/index.js');
    return { schema: m.conntrackdOptionsSchema, step: m.conntrackdSyncStep };
  }),
  'shell.script': entry('run a zx script (or any executable) with the event in VIPFLOW_* variables', async () => {
    const m = await import('./shell/index.js');
    return { schema: m.shellScriptOptionsSchema, step: m.shellScriptStep };
  }),
};
