/**
 * Model fields the keyword tables fill but nothing in vipflow reads yet
 * (keepalived's e-mail alerts, and a few LVS settings the checkers and the
 * load balancer do not use). The tables map them so a converted config keeps
 * them; this pass warns for each one set, at its keyword, so none is ignored
 * silently. Remove a field from here when something acts on it.
 */
import type { Mapper, Raw } from './mapper.js';

const EMAIL = 'keepalived sends alert e-mails with it; vipflow sends none, use a workflow notifier';

/** Field → why it does nothing here; per section of the raw model. */
const GLOBAL: Readonly<Record<string, string>> = {
  routerId: 'keepalived names the node with it in alert e-mails and SNMP; vipflow has neither',
  notificationEmail: EMAIL,
  notificationEmailFrom: EMAIL,
  smtpServer: EMAIL,
  smtpHeloName: EMAIL,
  smtpConnectTimeout: EMAIL,
  smtpAlert: EMAIL,
};
const INSTANCE: Readonly<Record<string, string>> = { smtpAlert: EMAIL };
const VIRTUAL_SERVER: Readonly<Record<string, string>> = {
  smtpAlert: EMAIL,
  persistenceEngine: 'no persistence engine (SIP) in the load balancer',
};
const REAL_SERVER: Readonly<Record<string, string>> = {
  smtpAlert: EMAIL,
  lvsMethod: "the virtual server's lb_kind is used for every real server",
  uthreshold: 'no connection thresholds in the load balancer',
  lthreshold: 'no connection thresholds in the load balancer',
};
const CHECKER: Readonly<Record<string, string>> = { logAllFailures: 'every checker failure is logged already' };

function list(raw: Raw, key: string): Raw[] {
  const v = raw[key];
  return Array.isArray(v) ? (v as Raw[]) : [];
}

/** A warning for every field of `fields` set in `obj` (at `path`), naming the keyword that set it. */
function warnSet(m: Mapper, obj: Raw, path: string, fields: Readonly<Record<string, string>>): void {
  for (const [field, why] of Object.entries(fields)) {
    if (obj[field] === undefined || (Array.isArray(obj[field]) && obj[field].length === 0)) continue;
    // A list's origin is recorded per entry (notification_email).
    const at = `${path}.${field}`;
    const origin = m.origins.get(at) ?? m.origins.get(`${at}.0`);
    if (!origin) continue;
    m.sink.warning(origin.token, `'${origin.keyword}' is accepted by keepalived but vipflow does not act on it yet; ignored (${why})`, {
      text: origin.keyword,
    });
  }
}

/** Warns for each parsed-but-unused field of the raw model. */
export function warnUnactedFields(m: Mapper, raw: Raw): void {
  const g = raw.global;
  if (g && typeof g === 'object') warnSet(m, g as Raw, 'global', GLOBAL);
  list(raw, 'vrrpInstances').forEach((inst, k) => warnSet(m, inst, `vrrpInstances.${k}`, INSTANCE));
  list(raw, 'virtualServers').forEach((vs, k) => {
    const p = `virtualServers.${k}`;
    warnSet(m, vs, p, VIRTUAL_SERVER);
    list(vs, 'realServers').forEach((rs, j) => {
      warnSet(m, rs, `${p}.realServers.${j}`, REAL_SERVER);
      list(rs, 'checkers').forEach((c, i) => warnSet(m, c, `${p}.realServers.${j}.checkers.${i}`, CHECKER));
    });
  });
}
