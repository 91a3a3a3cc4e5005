/**
 * The built-in notifiers as workflow steps, for workflows files:
 * `import { nginxReloadStep, vipReadyStep } from 'vipflow/notifiers'`.
 * The same notifiers are usable from config by name (builtin.ts).
 */
export { vipReadyStep, vipOptionsSchema, type VipOptions } from './vip/index.js';
export { nginxReloadStep, nginxOptionsSchema, type NginxOptions } from './nginx/index.js';
export { dnsUpdateStep, dnsOptionsSchema, DnsUpdateError, type DnsOptions } from './dns/index.js';
export {
  pagerDutyTriggerStep,
  pagerDutyAcknowledgeStep,
  pagerDutyResolveStep,
  pagerDutyTarget,
  pagerDutyOptionsSchema,
  pagerDutyEventSchema,
  alertmanagerFireStep,
  alertmanagerResolveStep,
  alertmanagerTarget,
  alertmanagerOptionsSchema,
  webhookStep,
  webhookOptionsSchema,
  healthAlertStep,
  healthAlertOptionsSchema,
  type PagerDutyOptions,
  type AlertmanagerOptions,
  type WebhookOptions,
  type HealthAlertOptions,
  type PagingTarget,
} from './paging/index.js';
export { shellScriptStep, shellScriptOptionsSchema, type ShellScriptOptions } from './shell/index.js';
export { conntrackdSyncStep, conntrackdOptionsSchema, type ConntrackdOptions } from './conntrackd/index.js';
export { BUILTIN_NOTIFIERS, type BuiltinNotifier } from './builtin.js';
export type { StepSettings } from '../workflows/define.js';
