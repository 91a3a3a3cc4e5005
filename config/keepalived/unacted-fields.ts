/**
 * Model fields the keyword tables fill but nothing in vipflow reads yet
 * (keepalived's e-mail alerts, and a few LVS settings the checkers and the
 * load balancer do not use). The tables map them so a converted config keeps
 * them; this pass warns for each one set, at its keyword, so none is ignored
 * silently. Remove a field from here when something acts on it.
 */
import type { Mapper, Raw } from './mapper.js';

const EMAIL = 'keepalived sends alert e-mails with it; vipflow sends none, use a workflow notifier';
const ADVERT_RULES = 'vipflow answers adverts by RFC 5798 alone';
const PRIORITY_NOTIFY = 'notify scripts run on state changes only';

/** Field → why it does nothing here; per section of the raw model. */
const GLOBAL: Readonly<Record<string, string>> = {
  routerId: 'keepalived names the node with it in alert e-mails and SNMP; vipflow has neither',
  notificationEmail: EMAIL,
  notificationEmailFrom: EMAIL,
  smtpServer: EMAIL,
  smtpHeloName: EMAIL,
  smtpConnectTimeout: EMAIL,
  smtpAlert: EMAIL,
  vrrpMcastGroup4: 'vipflow sends and joins 224.0.0.18 (set mcast_dst_ip per instance instead)',
  vrrpMcastGroup6: 'vipflow sends and joins ff02::12 (set mcast_dst_ip per instance instead)',
  defaultInterface: 'every vrrp_instance needs its own interface in vipflow',
  vrrpMinGarp: 'the garp_* settings apply as written',
  vrrpGarpInterval: 'gratuitous ARPs are sent without a pause between them',
  vrrpGnaInterval: 'unsolicited neighbour adverts are sent without a pause between them',
  vrrpLowerPrioNoAdvert: ADVERT_RULES,
  vrrpHigherPrioSendAdvert: ADVERT_RULES,
  vrrpSkipCheckAdvAddr: 'received adverts are checked as without it',
  vrrpNotifyPriorityChanges: PRIORITY_NOTIFY,
};
const INSTANCE: Readonly<Record<string, string>> = {
  smtpAlert: EMAIL,
  unicastTtl: 'unicast adverts leave with the TTL of 255',
  unicastFaultNoPeer: 'an instance without peers is not put in Fault',
  lowerPrioNoAdvert: ADVERT_RULES,
  higherPrioSendAdvert: ADVERT_RULES,
  skipCheckAdvAddr: 'received adverts are checked as without it',
  promoteSecondaries: 'the kernel setting is left as it is',
  downTimerAdverts: 'the master-down timer counts 3 adverts',
  notifyPriorityChanges: PRIORITY_NOTIFY,
};
/** Values that ask for what vipflow does without the keyword. */
const AS_VIPFLOW_DOES: Readonly<Record<string, unknown>> = {
  vrrpGarpInterval: 0,
  vrrpGnaInterval: 0,
  vrrpMinGarp: false,
  vrrpLowerPrioNoAdvert: false,
  vrrpHigherPrioSendAdvert: false,
  vrrpNotifyPriorityChanges: false,
  lowerPrioNoAdvert: false,
  higherPrioSendAdvert: false,
  notifyPriorityChanges: false,
  skipCheckAdvAddr: false,
  unicastTtl: 255,
  downTimerAdverts: 3,
  vrrpMcastGroup4: '224.0.0.18',
  vrrpMcastGroup6: 'ff02::12',
};

/** Per notify script of an instance. */
const INSTANCE_NOTIFY: Readonly<Record<string, string>> = { masterRxLowerPri: 'the script is not run when a lower-priority advert arrives' };
/** Per virtual_ipaddress entry. */
const ADDRESS: Readonly<Record<string, string>> = {
  broadcast: 'the address is added without a broadcast address',
  scope: 'the address is added with the global scope',
  noPrefixRoute: 'the kernel adds its prefix route',
};
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
    // Set to what vipflow does anyway (vrrp_garp_interval 0, down_timer_adverts 3, a flag turned off): nothing is ignored.
    if (Object.hasOwn(AS_VIPFLOW_DOES, field) && AS_VIPFLOW_DOES[field] === obj[field]) continue;
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
  list(raw, 'vrrpInstances').forEach((inst, k) => {
    const p = `vrrpInstances.${k}`;
    warnSet(m, inst, p, INSTANCE);
    if (inst.notify && typeof inst.notify === 'object') warnSet(m, inst.notify as Raw, `${p}.notify`, INSTANCE_NOTIFY);
    for (const key of ['virtualIpaddress', 'virtualIpaddressExcluded']) list(inst, key).forEach((a, i) => warnSet(m, a, `${p}.${key}.${i}`, ADDRESS));
  });
  // static_ipaddress: kept in the model, not added (keepalived adds these at start, outside any instance).
  const statics = list(raw, 'staticIpaddress');
  const first = statics.length > 0 ? m.origins.get('staticIpaddress.0') : undefined;
  if (first)
    m.sink.warning(
      first.token,
      `'static_ipaddress' is accepted by keepalived but vipflow does not act on it yet; ignored (its ${statics.length} address(es) are not added)`,
      {
        text: 'static_ipaddress',
      },
    );
  list(raw, 'virtualServers').forEach((vs, k) => {
    const p = `virtualServers.${k}`;
    warnSet(m, vs, p, VIRTUAL_SERVER);
    list(vs, 'realServers').forEach((rs, j) => {
      warnSet(m, rs, `${p}.realServers.${j}`, REAL_SERVER);
      list(rs, 'checkers').forEach((c, i) => warnSet(m, c, `${p}.realServers.${j}.checkers.${i}`, CHECKER));
    });
  });
}
