/**
 * keepalived's keywords, one table per section as in its own parsers
 * (global_parser.c, vrrp_parser.c, check_parser.c and the checkers). Each
 * entry either maps the keyword onto the model or, without `apply`, marks a
 * keyword keepalived accepts but vipflow does not act on yet (a warning that
 * names it). Anything not in a table is an unknown keyword: ignored with a
 * warning as keepalived does, an error when it opens a block (see Mapper.walk).
 */
import { didYouMean } from '../diagnostics.js';
import { ipFamily, parseCidr } from '../net.js';
import { droppedAddressLine, keepalivedScope } from './address-entry.js';
import { AUTH_HMAC, authHmacBlock } from './auth-hmac.js';
import {
  ADVERT_INT,
  DOWN_TIMER_ADVERTS,
  PREEMPT_DELAY,
  SMTP_CONNECT_TIMEOUT,
  garpDelay,
  garpRefresh,
  garpRepeat,
  LVS_LIMITS,
  lowerPrioRepeat,
  cpuSlice,
  realtimeLimit,
  realtimePriority,
  lvsConnectTimeout,
  lvsDelayLoop,
  lvsQuorum,
  lvsTimer,
  lvsUnsigned,
  scriptCount,
  scriptWeight,
  scriptTimer,
} from './keepalived-numbers.js';
import { keepalivedBool, keepalivedWord } from './keepalived-words.js';
import { keepalivedEndpoint, keepalivedFwmark, skippedServer } from './lvs-entries.js';
import { peerOptions } from './peer-options.js';
import { BIND_PORT, CHECKER_FWMARK, MISC_TIMEOUT, UNICAST_TTL, VRRP_VERSION, ignoredAddress } from './skipped-values.js';
import { commandOnlyLine, notifyScriptLine } from './script-line.js';
import { trackEntries } from './track-entries.js';
import { TRACK_FILE, VRRP_TRACK_PROCESS } from './tracker-blocks.js';
import { options, type Fallback, type KeywordSpec, type KeywordTable, type Mapper, type OptionSpec, type Raw } from './mapper.js';
import type { Token } from './reader.js';
import type { Node } from './tree.js';

type Spec = KeywordSpec<Raw>;
type Table = KeywordTable<Raw>;

// ---- small spec builders -------------------------------------------------

function known(...names: string[]): Table {
  return Object.fromEntries(names.map((n) => [n, {}]));
}
/** Like known(), for keywords that own a `{}` block (its contents are skipped with the warning). */
function knownBlocks(...names: string[]): Table {
  return Object.fromEntries(names.map((n) => [n, { block: 'block' as const }]));
}

/** One value read by `read` (undefined when it reported a problem) stored at `key`. */
function scalar(key: string, read: (m: Mapper, tok: Token | undefined, keyword: string) => unknown): Spec {
  return {
    apply: (m, n, t) => {
      const v = read(m, m.arg(n), n.keyword.text);
      if (v !== undefined) m.set(t, key, v, n.args[0]!, n.keyword.text);
      m.noExtra(n, 1);
    },
  };
}

const int = (key: string): Spec => scalar(key, (m, tok, kw) => m.int(tok, kw));
const str = (key: string): Spec => scalar(key, (_m, tok) => tok?.text);
const ipv = (key: string, family?: 4 | 6): Spec => scalar(key, (m, tok, kw) => m.ip(tok, kw, family));
/** One of a fixed set of words. */
const word = (key: string, words: readonly string[], caseInsensitive = false): Spec => scalar(key, (m, tok, kw) => m.oneOf(tok, kw, words, caseInsensitive));

/** A keyword alone sets `key` to `value` (nopreempt: preempt=false). */
function flag(key: string, value = true): Spec {
  return {
    apply: (m, n, t) => {
      m.set(t, key, value, n.keyword, n.keyword.text);
      m.noExtra(n, 0);
    },
  };
}

/**
 * dynamic_interfaces [allow_if_changes]. allow_if_changes lets keepalived
 * follow an interface that comes back as another kind (macvlan or not);
 * vipflow plans a re-created interface afresh whatever its kind, so it takes
 * the word and needs nothing more. keepalived reports any other word.
 */
function dynamicInterfaces(): Spec {
  return {
    apply: (m, n, t) => {
      m.set(t, 'dynamicInterfaces', true, n.keyword, n.keyword.text);
      const option = n.args[0];
      if (option && option.text !== 'allow_if_changes')
        m.sink.warning(option, `unknown dynamic_interfaces option '${option.text}' ignored (keepalived reports it too)`, { text: option.text });
      m.noExtra(n, 1);
    },
  };
}

/** A keyword with an optional <BOOL>; a bad word is ignored with a warning, as keepalived does. */
function bool(key: string): Spec {
  return keepalivedBool(key);
}

/**
 * A script keyword. `firstWins`: keepalived keeps the first of a repeated
 * notify_* / quorum_* / notify_fifo* line and ignores the later ones with
 * "script already specified - ignoring" (vrrp_parser.c, check_parser.c,
 * global_parser.c); vipflow keeps the first too and warns.
 */
function script(key: string, sub?: string, firstWins = false, read: (m: Mapper, n: Node) => Raw | undefined = notifyScriptLine): Spec {
  return {
    apply: (m, n, t) => {
      const s = read(m, n);
      if (!s) return;
      const obj = sub ? ((t[sub] ??= {}) as Raw) : t;
      if (firstWins && obj[key] !== undefined) {
        const first = (obj[key] as Raw).command;
        m.sink.warning(n.keyword, `'${n.keyword.text}' repeated; ignored, the first one ('${String(first)}') stays (keepalived keeps the first)`, {
          text: n.keyword.text,
        });
        return;
      }
      m.set(obj, key, s, n.args[0]!, n.keyword.text);
    },
  };
}

function textOption(key: string): OptionSpec {
  return { takesValue: true, apply: (m, out, v) => m.set(out, key, v!.text, v!, key) };
}

const ADDRESS_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  brd: textOption('broadcast'),
  broadcast: textOption('broadcast'),
  dev: textOption('dev'),
  label: textOption('label'),
  scope: {
    takesValue: true,
    apply: (m, out, v) => {
      const sc = keepalivedScope(v!.text);
      if (sc) m.set(out, 'scope', sc, v!, 'scope');
      else
        m.sink.warning(v!, `invalid scope '${v!.text}' ignored, as keepalived does ("Invalid scope specified - ignoring")`, {
          text: v!.text,
          ...didYouMean(v!.text, ['site', 'link', 'host', 'nowhere', 'global']),
        });
    },
  },
  no_prefixroute: { takesValue: false, apply: (m, out, _v, k) => m.set(out, 'noPrefixRoute', true, k, 'no_prefixroute') },
  noprefixroute: { takesValue: false, apply: (m, out, _v, k) => m.set(out, 'noPrefixRoute', true, k, 'noprefixroute') },
  peer: { takesValue: true },
  home: { takesValue: false },
  nodad: { takesValue: false },
  '-nodad': { takesValue: false },
  no_track: { takesValue: false },
  mngtmpaddr: { takesValue: false },
  autojoin: { takesValue: false },
  preferred_lft: { takesValue: true },
  use_vmac: { takesValue: false },
  track_group: { takesValue: true },
};

/** One `ADDR[/PREFIX] [brd X] [dev IF] [scope S] [label L] ...` line. */
function address(m: Mapper, e: Node, context: string): Raw | undefined {
  const c = m.cidr(e.keyword, context);
  if (!c) return undefined;
  const dropped = droppedAddressLine(e.keyword.text, e.args, ipFamily(c.address) ?? 4, context === 'static_ipaddress');
  if (dropped) {
    m.sink.warning(dropped.at, dropped.message, { text: dropped.at.text });
    return undefined;
  }
  const out: Raw = { ...c };
  m.self(out, e.keyword, context);
  // keepalived's parse_ipaddress skips an unknown word alone and reads on.
  options(m, e, out, context, ADDRESS_OPTIONS, 'Unknown configuration entry for ip address - ignoring');
  return out;
}

/**
 * keepalived's parse_ipaddress: an address it cannot read is skipped ("VRRP
 * parsed invalid IP - skipping IP") and a prefix beyond the family's length
 * becomes the full length ("Invalid address prefix len - using 32"), each
 * with a message, and the instance runs with the rest. vipflow does the same
 * with a warning; undefined means skip the entry.
 */
function keepalivedAddressToken(m: Mapper, e: Node, keyword: string): Node | undefined {
  const text = e.keyword.text;
  if (parseCidr(text)) return e;
  const slash = text.indexOf('/');
  const family = ipFamily(slash < 0 ? text : text.slice(0, slash));
  const max = family === 4 ? 32 : 128;
  if (family !== undefined && /^\d+$/.test(text.slice(slash + 1)) && Number(text.slice(slash + 1)) > max) {
    const fixed = `${text.slice(0, slash)}/${max}`;
    m.sink.warning(
      e.keyword,
      `prefix of '${text}' in '${keyword}' is longer than ${max}; ${fixed} is used, as keepalived does ("Invalid address prefix len")`,
      {
        text,
      },
    );
    return { ...e, keyword: { ...e.keyword, text: fixed } };
  }
  m.sink.warning(e.keyword, `invalid address '${text}' in '${keyword}' skipped, as keepalived does ("VRRP parsed invalid IP - skipping IP")`, { text });
  return undefined;
}

function addressList(key: string): Spec {
  return {
    block: 'values',
    apply: (m, n, t) => {
      const list = (t[key] ??= []) as Raw[];
      for (const e of m.values(n)) {
        const entry = keepalivedAddressToken(m, e, n.keyword.text);
        const a = entry && address(m, entry, n.keyword.text);
        if (a) list.push(a);
      }
    },
  };
}

/** Route/rule lines kept verbatim, with the "not acted on" warning. */
function verbatimLines(key: string): Spec {
  return {
    block: 'values',
    apply: (m, n, t) => {
      m.sink.warning(n.keyword, `'${n.keyword.text}' is kept in the model but vipflow does not manage routes or rules yet`, { text: n.keyword.text });
      const list = (t[key] ??= []) as string[];
      for (const e of m.values(n)) {
        m.at(list, list.length, e.keyword, n.keyword.text);
        list.push([e.keyword, ...e.args].map((x) => x.text).join(' '));
      }
    },
  };
}

function notify(sub: string): Spec {
  return script(sub, 'notify', true);
}

// ---- global_defs ----------------------------------------------------------

/**
 * vrrp_garp_interval / vrrp_gna_interval: keepalived's minimum is 1 us and it
 * rejects 0, keeping its default of no delay, which 0 also means here.
 * Debian's default keepalived.conf writes 0, so this is a warning.
 */
function microsecondInterval(key: string): Spec {
  return {
    apply: (m, n, t) => {
      const v = m.seconds(m.arg(n), n.keyword.text);
      if (v === 0)
        m.sink.warning(n.args[0]!, `'${n.keyword.text}' 0 is below keepalived's minimum of 0.000001 s; keepalived ignores it and keeps no delay`, {
          text: n.keyword.text,
        });
      if (v !== undefined) m.set(t, key, v, n.args[0]!, n.keyword.text);
      m.noExtra(n, 1);
    },
  };
}

export const GLOBAL_DEFS: Table = {
  router_id: str('routerId'),
  vrrp_version: VRRP_VERSION('vrrpVersion'),
  script_user: {
    apply: (m, n, t) => {
      const u = m.arg(n, 0, 'a user name');
      if (!u) return;
      const su: Raw = { user: u.text };
      if (n.args[1]) su.group = n.args[1].text;
      m.set(t, 'scriptUser', su, u, 'script_user');
      m.noExtra(n, 2);
    },
  },
  enable_script_security: flag('enableScriptSecurity'),
  notification_email: {
    block: 'values',
    apply: (m, n, t) => {
      const list = (t.notificationEmail ??= []) as string[];
      for (const e of m.values(n)) {
        m.at(list, list.length, e.keyword, 'notification_email');
        list.push(e.keyword.text);
        m.noExtra(e, 0);
      }
    },
  },
  notification_email_from: str('notificationEmailFrom'),
  smtp_server: {
    apply: (m, n, t) => {
      const h = m.arg(n, 0, 'a host');
      if (!h) return;
      const s: Raw = { host: h.text };
      if (n.args[1]) {
        const port = m.int(n.args[1], 'smtp_server');
        if (port !== undefined) s.port = port;
      }
      m.set(t, 'smtpServer', s, h, 'smtp_server');
      m.noExtra(n, 2);
    },
  },
  smtp_helo_name: str('smtpHeloName'),
  smtp_connect_timeout: SMTP_CONNECT_TIMEOUT('smtpConnectTimeout'),
  smtp_alert: bool('smtpAlert'),
  default_interface: str('defaultInterface'),
  vrrp_mcast_group4: ignoredAddress('vrrpMcastGroup4', "Can't parse vrrp_mcast_group4. Skipping", 4),
  vrrp_mcast_group6: ignoredAddress('vrrpMcastGroup6', "Can't parse vrrp_mcast_group6. Skipping", 6),
  vrrp_garp_master_delay: garpDelay('vrrpGarpMasterDelay', 'the default 5 s', 'vrrp_garp_master_delay invalid - ignoring'),
  vrrp_garp_master_repeat: garpRepeat('vrrpGarpMasterRepeat', 'the default 5', 'vrrp_garp_master_repeat invalid - ignoring'),
  vrrp_garp_master_refresh: garpRefresh('vrrpGarpMasterRefresh', 'Invalid vrrp_garp_master_refresh - ignoring'),
  vrrp_garp_master_refresh_repeat: garpRepeat('vrrpGarpMasterRefreshRepeat', 'the default 1', 'vrrp_garp_master_refresh_repeat invalid - ignoring'),
  vrrp_garp_lower_prio_delay: garpDelay('vrrpGarpLowerPrioDelay', 'the default (vrrp_garp_master_delay)', 'vrrp_garp_lower_prio_delay invalid - ignoring'),
  vrrp_garp_lower_prio_repeat: lowerPrioRepeat('vrrpGarpLowerPrioRepeat', 'the default (vrrp_garp_master_repeat)', 'Invalid vrrp_garp_lower_prio_repeat'),
  vrrp_garp_interval: microsecondInterval('vrrpGarpInterval'),
  vrrp_gna_interval: microsecondInterval('vrrpGnaInterval'),
  vrrp_min_garp: bool('vrrpMinGarp'),
  vrrp_lower_prio_no_advert: bool('vrrpLowerPrioNoAdvert'),
  vrrp_higher_prio_send_advert: bool('vrrpHigherPrioSendAdvert'),
  vrrp_check_unicast_src: flag('vrrpCheckUnicastSrc'),
  vrrp_skip_check_adv_addr: flag('vrrpSkipCheckAdvAddr'),
  vrrp_strict: flag('vrrpStrict'),
  v3_checksum_as_v2: bool('v3ChecksumAsV2'),
  notify_fifo: script('notifyFifo', undefined, true),
  notify_fifo_script: script('notifyFifoScript', undefined, true),
  vrrp_notify_fifo: script('vrrpNotifyFifo', undefined, true),
  vrrp_notify_fifo_script: script('vrrpNotifyFifoScript', undefined, true),
  vrrp_notify_priority_changes: bool('vrrpNotifyPriorityChanges'),
  dynamic_interfaces: dynamicInterfaces(),
  vrrp_rt_priority: realtimePriority('vrrpRtPriority', 'vrrp'),
  vrrp_rlimit_rttime: realtimeLimit('vrrpRlimitRttime', 'vrrp'),
  vrrp_rlimit_rtime: realtimeLimit('vrrpRlimitRttime', 'vrrp'),
  vrrp_cpu_slice: cpuSlice('vrrpCpuSlice'),
  ...known(
    'process_names',
    'process_name',
    'vrrp_process_name',
    'checker_process_name',
    'lvs_process_name',
    'bfd_process_name',
    'use_symlink_paths',
    'set_supplementary_groups',
    'startup_script',
    'startup_script_timeout',
    'shutdown_script',
    'shutdown_script_timeout',
    'max_auto_priority',
    'min_auto_priority_delay',
    'smtp_alert_vrrp',
    'smtp_alert_checker',
    'checker_log_all_failures',
    'no_email_faults',
    'disable_local_igmp',
    'lvs_timeouts',
    'lvs_flush',
    'lvs_flush_on_stop',
    'lvs_flush_onstop',
    'lvs_sync_daemon',
    'vrrp_down_timer_adverts',
    'vrrp_garp_extra_if',
    'vrrp_vmac_garp_intvl',
    'vrrp_iptables',
    'vrrp_ipsets',
    'nftables',
    'nftables_priority',
    'nftables_ifindex',
    'vrrp_priority',
    'vrrp_no_swap',
    'vrrp_cpu_affinity',
    'nftables_ipvs',
    'nftables_ipvs_priority',
    'nftables_ipvs_start_fwmark',
    'nftables_counters',
    'fifo_write_vrrp_states_on_reload',
    'lvs_notify_fifo',
    'lvs_notify_fifo_script',
    'checker_priority',
    'checker_no_swap',
    'checker_rt_priority',
    'checker_cpu_affinity',
    'checker_rlimit_rttime',
    'checker_rlimit_rtime',
    'bfd_priority',
    'bfd_no_swap',
    'bfd_rt_priority',
    'bfd_cpu_affinity',
    'bfd_rlimit_rttime',
    'bfd_rlimit_rtime',
    'snmp_socket',
    'enable_traps',
    'enable_snmp_vrrp',
    'enable_snmp_keepalived',
    'enable_snmp_rfc',
    'enable_snmp_rfcv2',
    'enable_snmp_rfcv3',
    'enable_snmp_checker',
    'snmp_vs_stats_update_interval',
    'snmp_rs_stats_update_interval',
    'enable_dbus',
    'dbus_service_name',
    'dbus_no_interface_name',
    'vrrp_netlink_cmd_rcv_bufs',
    'vrrp_netlink_cmd_rcv_bufs_force',
    'vrrp_netlink_monitor_rcv_bufs',
    'vrrp_netlink_monitor_rcv_bufs_force',
    'process_monitor_rcv_bufs',
    'process_monitor_rcv_bufs_force',
    'lvs_netlink_cmd_rcv_bufs',
    'lvs_netlink_cmd_rcv_bufs_force',
    'lvs_netlink_monitor_rcv_bufs',
    'lvs_netlink_monitor_rcv_bufs_force',
    'rs_init_notifies',
    'no_checker_emails',
    'vrrp_rx_bufs_policy',
    'vrrp_rx_bufs_multiplier',
    'vrrp_startup_delay',
    'vrrp_delay_after_boot',
    'log_unknown_vrids',
    'vrrp_owner_ignore_adverts',
    'vmac_prefix',
    'vmac_addr_prefix',
    'umask',
    'random_seed',
    'reload_check_config',
    'reload_time_file',
    'reload_repeat',
    'reload_file',
    'include_check',
    'config_save_dir',
    'tmp_config_directory',
    'data_use_instance',
    'json_version',
    'iproute_usr_dir',
    'iproute_etc_dir',
    'state_dump_file',
    'stats_dump_file',
    'json_dump_file',
  ),
};

// ---- vrrp_instance --------------------------------------------------------

export const AUTHENTICATION: Table = {
  auth_type: word('type', ['PASS', 'AH']),
  auth_pass: {
    apply: (m, n, t) => {
      const a = m.arg(n, 0, 'a password');
      if (!a) return;
      let pw = a.text;
      if (pw.length > 8) {
        // RFC 3768 5.3.11: 8 octets of authentication data; keepalived truncates likewise.
        m.sink.warning(a, `auth_pass longer than 8 characters is truncated to '${pw.slice(0, 8)}'`, { text: a.text });
        pw = pw.slice(0, 8);
      }
      m.set(t, 'password', pw, a, 'auth_pass');
      m.noExtra(n, 1);
    },
  },
};

/** alloc_vrrp_unicast_peer: a malformed peer address is skipped ("malformed unicast peer address. Skipping...") and the instance runs with the rest. */
function unicastPeerAddress(m: Mapper, e: Node): string | undefined {
  // inet_stosockaddr cuts a '-RANGE' or '/MASK' off before reading the address.
  const address = e.keyword.text.split(/[-/]/)[0]!;
  if (ipFamily(address) !== undefined && ipFamily(address) === (address.includes(':') ? 6 : 4)) {
    if (address !== e.keyword.text)
      m.sink.warning(e.keyword, `'${e.keyword.text.slice(address.length)}' after unicast_peer ${address} is ignored, as keepalived ignores it`, {
        text: e.keyword.text,
      });
    return address;
  }
  m.sink.warning(e.keyword, `malformed unicast_peer address '${e.keyword.text}' skipped, as keepalived does ("malformed unicast peer address. Skipping...")`, {
    text: e.keyword.text,
  });
  return undefined;
}

/**
 * keepalived's vrrp_state_handler: an unknown state is BACKUP, and BACKUP
 * after MASTER is ignored (MASTER wins whatever the order), each with a warning.
 */
const STATE: Spec = {
  apply: (m, n, t) => {
    const a = m.arg(n, 0, 'MASTER or BACKUP');
    if (!a) return;
    m.noExtra(n, 1);
    if (a.text === 'BACKUP' && t.state === 'MASTER') {
      m.sink.warning(a, `'state BACKUP' after 'state MASTER' ignored (keepalived: "state previously set as MASTER - ignoring BACKUP")`, { text: a.text });
      return;
    }
    if (a.text !== 'MASTER' && a.text !== 'BACKUP') {
      m.sink.warning(a, `unknown state '${a.text}'; BACKUP is used, as keepalived does ("defaulting to BACKUP")`, {
        text: a.text,
        ...didYouMean(a.text, ['MASTER', 'BACKUP']),
      });
      m.set(t, 'state', 'BACKUP', a, 'state');
      return;
    }
    m.set(t, 'state', a.text, a, 'state');
  },
};

/** keepalived's vrrp_prio_handler: a priority that is no number in 1..255 leaves the default 100, with a warning. */
const PRIORITY: Spec = {
  apply: (m, n, t) => {
    const a = m.arg(n, 0, 'a priority');
    if (!a) return;
    m.noExtra(n, 1);
    const v = /^\d+$/.test(a.text) ? Number(a.text) : NaN;
    if (!(v >= 1 && v <= 255)) {
      m.sink.warning(a, `priority '${a.text}' is not a number from 1 to 255; the default 100 is used, as keepalived does ("Priority not valid")`, {
        text: a.text,
      });
      m.set(t, 'priority', 100, a, 'priority');
      return;
    }
    m.set(t, 'priority', v, a, 'priority');
  },
};

export const VRRP_INSTANCE: Table = {
  state: STATE,
  interface: str('interface'),
  virtual_router_id: int('virtualRouterId'),
  priority: PRIORITY,
  advert_int: ADVERT_INT,
  version: VRRP_VERSION('version'),
  nopreempt: flag('preempt', false),
  preempt: flag('preempt', true),
  preempt_delay: PREEMPT_DELAY,
  accept: flag('accept', true),
  no_accept: flag('accept', false),
  authentication: {
    block: 'block',
    apply: (m, n, t) => {
      const auth: Raw = {};
      m.self(auth, n.keyword, 'authentication');
      m.walk(n.block!, AUTHENTICATION, auth, 'authentication');
      t.authentication = auth;
    },
  },
  virtual_ipaddress: addressList('virtualIpaddress'),
  virtual_ipaddress_excluded: addressList('virtualIpaddressExcluded'),
  no_virtual_ipaddress: flag('noVirtualIpaddress'),
  mcast_src_ip: ignoredAddress('mcastSrcIp', 'malformed src address. Skipping...'),
  mcast_dst_ip: ipv('mcastDstIp'),
  unicast_src_ip: ignoredAddress('unicastSrcIp', 'malformed src address. Skipping...'),
  unicast_peer: {
    block: 'values',
    apply: (m, n, t) => {
      const list = (t.unicastPeers ??= []) as Raw[];
      for (const e of m.values(n)) {
        const addr = unicastPeerAddress(m, e);
        if (addr === undefined) continue;
        const peer: Raw = { address: addr };
        m.self(peer, e.keyword, 'unicast_peer');
        peerOptions(m, e, peer);
        list.push(peer);
      }
    },
  },
  unicast_ttl: UNICAST_TTL,
  unicast_fault_no_peer: flag('unicastFaultNoPeer'),
  check_unicast_src: flag('checkUnicastSrc'),
  track_interface: trackEntries('trackInterfaces'),
  track_script: trackEntries('trackScripts'),
  track_file: trackEntries('trackFiles'),
  track_process: trackEntries('trackProcesses'),
  dont_track_primary: flag('dontTrackPrimary'),
  track_src_ip: flag('trackSrcIp'),
  notify_master: notify('master'),
  notify_backup: notify('backup'),
  notify_fault: notify('fault'),
  notify_stop: notify('stop'),
  notify_deleted: notify('deleted'),
  notify: notify('any'),
  notify_master_rx_lower_pri: notify('masterRxLowerPri'),
  notify_priority_changes: bool('notifyPriorityChanges'),
  smtp_alert: bool('smtpAlert'),
  garp_master_delay: garpDelay('garpMasterDelay', 'the global value (default 5 s)', 'garp_master_delay invalid - ignoring'),
  garp_master_repeat: garpRepeat('garpMasterRepeat', 'the global value (default 5)', 'garp_master_repeat invalid - ignoring'),
  handover_drain: scalar('handoverDrain', (m, tok, kw) => m.seconds(tok, kw)),
  garp_master_refresh: garpRefresh('garpMasterRefresh', 'Invalid garp_master_refresh - ignoring'),
  garp_master_refresh_repeat: garpRepeat('garpMasterRefreshRepeat', 'the global value (default 1)', 'garp_master_refresh_repeat invalid - ignoring'),
  garp_lower_prio_delay: garpDelay('garpLowerPrioDelay', 'the global value (default: garp_master_delay)', 'garp_lower_prio_delay invalid - ignoring'),
  garp_lower_prio_repeat: lowerPrioRepeat('garpLowerPrioRepeat', 'the global value (default: garp_master_repeat)', 'Invalid garp_lower_prio_repeat'),
  use_vmac: {
    apply: (m, n, t) => {
      const v: Raw = {};
      let i = 0;
      if (n.args[i]?.text === 'name') i++;
      const nameTok = n.args[i];
      if (nameTok && !/^([0-9a-fA-F]{2}:){4,5}[0-9a-fA-F]{2}$/.test(nameTok.text)) {
        v.name = nameTok.text;
        i++;
      }
      const mac = n.args[i];
      if (mac && /^([0-9a-fA-F]{2}:){4,5}[0-9a-fA-F]{2}$/.test(mac.text)) {
        v.mac = mac.text;
        i++;
      }
      for (const extra of n.args.slice(i)) {
        m.sink.warning(extra, `use_vmac option '${extra.text}' is accepted by keepalived but vipflow does not act on it yet; ignored`, { text: extra.text });
      }
      m.set(t, 'useVmac', v, n.keyword, 'use_vmac');
    },
  },
  vmac_xmit_base: flag('vmacXmitBase'),
  v3_checksum_as_v2: bool('v3ChecksumAsV2'),
  lower_prio_no_advert: bool('lowerPrioNoAdvert'),
  higher_prio_send_advert: bool('higherPrioSendAdvert'),
  skip_check_adv_addr: bool('skipCheckAdvAddr'),
  strict_mode: bool('strictMode'),
  promote_secondaries: flag('promoteSecondaries'),
  down_timer_adverts: DOWN_TIMER_ADVERTS,
  virtual_routes: verbatimLines('virtualRoutes'),
  virtual_rules: verbatimLines('virtualRules'),
  ...known(
    'use_vmac_addr',
    'use_ipvlan',
    'old_unicast_checksum',
    'native_ipv6',
    'vrf',
    'lvs_sync_daemon_interface',
    'timer_expired_backup',
    'thread_timer_expired',
    'garp_extra_if',
    'vmac_garp_intvl',
    'owner_ignore_adverts',
    'kernel_rx_buf_size',
    'linkbeat_use_polling',
    'debug',
  ),
  ...knownBlocks('track_bfd'),
  auth_hmac: authHmacBlock,
};

// ---- vrrp_sync_group ------------------------------------------------------

export const VRRP_SYNC_GROUP: Table = {
  group: {
    block: 'values',
    apply: (m, n, t) => {
      const list = (t.group ??= []) as string[];
      for (const e of m.values(n)) {
        for (const tok of [e.keyword, ...e.args]) {
          m.at(list, list.length, tok, 'group');
          list.push(tok.text);
        }
      }
    },
  },
  track_interface: trackEntries('trackInterfaces'),
  track_script: trackEntries('trackScripts'),
  track_file: trackEntries('trackFiles'),
  track_process: trackEntries('trackProcesses'),
  notify_master: notify('master'),
  notify_backup: notify('backup'),
  notify_fault: notify('fault'),
  notify_stop: notify('stop'),
  notify: notify('any'),
  smtp_alert: bool('smtpAlert'),
  global_tracking: {
    // vrrp_gglobal_tracking_handler: the same as sync_group_tracking_weight, with a deprecation message.
    apply: (m, n, t) => {
      m.sink.warning(
        n.keyword,
        `'global_tracking' is deprecated; read as sync_group_tracking_weight, as keepalived does ("global_tracking is deprecated. Use track_interface/script/file on the sync group")`,
        {
          text: n.keyword.text,
        },
      );
      flag('globalTracking').apply!(m, n, t);
    },
  },
  sync_group_tracking_weight: flag('syncGroupTrackingWeight'),
  notify_priority_changes: bool('notifyPriorityChanges'),
  ...knownBlocks('track_bfd'),
};

/**
 * Old keepalived releases listed instance names directly in the group block.
 * keepalived 2.2.7 reads such a line as an unknown keyword and ignores it, so
 * the instance is not a member (a group left empty is then removed, see
 * removals.ts). vipflow does the same and says what the line used to mean.
 */
export const syncGroupLegacyMember: Fallback<Raw> = (m, node) => {
  if (node.block || node.args.length > 0 || !/^[A-Za-z0-9_.:-]+$/.test(node.keyword.text)) return false;
  if (didYouMean(node.keyword.text, Object.keys(VRRP_SYNC_GROUP)).hint) return false;
  m.sink.warning(
    node.keyword,
    `'${node.keyword.text}' listed directly in vrrp_sync_group (old syntax) is not a member: keepalived 2.2.7 ignores it as an unknown keyword; write it inside 'group { }'`,
    { text: node.keyword.text },
  );
  return true;
};

// ---- vrrp_script, track_file, vrrp_track_process --------------------------

function userGroup(key: string): Spec {
  return {
    apply: (m, n, t) => {
      const u = m.arg(n, 0, 'a user name');
      if (!u) return;
      const s = (t[key] ??= {}) as Raw;
      s.user = u.text;
      if (n.args[1]) s.group = n.args[1].text;
      m.at(s, 'user', u, n.keyword.text);
      m.noExtra(n, 2);
    },
  };
}

function weightWithReverse(): Spec {
  return {
    apply: (m, n, t) => {
      const w = m.int(m.arg(n), 'weight');
      if (w !== undefined) m.set(t, 'weight', w, n.args[0]!, 'weight');
      const r = n.args[1];
      if (r) {
        if (r.text === 'reverse') m.set(t, 'reverse', true, r, 'weight');
        else if (r.text !== 'noreverse')
          m.sink.error(r, `unexpected '${r.text}' after weight (expected reverse|noreverse)`, {
            text: r.text,
            ...didYouMean(r.text, ['reverse', 'noreverse']),
          });
      }
      m.noExtra(n, 2);
    },
  };
}

export const VRRP_SCRIPT: Table = {
  script: {
    apply: (m, n, t) => {
      const s = commandOnlyLine(m, n);
      if (!s) return;
      const prev = (t.script ?? {}) as Raw;
      m.set(t, 'script', { ...prev, ...s }, n.args[0]!, 'script');
    },
  },
  interval: scriptTimer('interval', 'the default 1 s', 'vrrp script interval must be between 1 and 4294 - ignoring'),
  timeout: scriptTimer('timeout', 'the default (the interval)', 'vrrp script timeout invalid - ignoring'),
  weight: scriptWeight(),
  rise: scriptCount('rise', 'vrrp script rise value invalid, defaulting to 1'),
  fall: scriptCount('fall', 'vrrp script fall value invalid, defaulting to 1'),
  user: userGroup('script'),
  init_fail: flag('initFail'),
};

// ---- virtual_server and checkers ------------------------------------------

const CONNECTION: Table = {
  connect_ip: ipv('connectIp'),
  connect_port: lvsUnsigned('connectPort', 1, 65535, 'Invalid checker connect_port'),
  bindto: ipv('bindto'),
  bind_port: BIND_PORT,
  bind_if: str('bindIf'),
  fwmark: CHECKER_FWMARK,
  connect_timeout: lvsConnectTimeout('connectTimeout', 'connect_timeout invalid - ignoring'),
};

const CHECKER_COMMON: Table = {
  ...CONNECTION,
  retry: lvsUnsigned('retry', 0, LVS_LIMITS.UINT_MAX, 'Invalid retry connection value'),
  delay_before_retry: lvsTimer('delayBeforeRetry', 'Invalid delay_before_retry connection value'),
  warmup: lvsTimer('warmup', 'Invalid warmup connection value'),
  delay_loop: lvsDelayLoop('delayLoop', 'delay_loop is invalid - ignoring'),
  alpha: bool('alpha'),
  log_all_failures: bool('logAllFailures'),
};

export const HTTP_URL: Table = {
  path: str('path'),
  digest: str('digest'),
  status_code: {
    apply: (m, n, t) => {
      if (!m.arg(n, 0, 'a status code or range')) return;
      m.set(
        t,
        'statusCode',
        n.args.map((a) => a.text),
        n.args[0]!,
        'status_code',
      );
    },
  },
  virtualhost: str('virtualhost'),
  regex: str('regex'),
  regex_no_match: flag('regexNoMatch'),
  ...known('regex_options', 'regex_min_offset', 'regex_max_offset', 'regex_stack', 'tls_compliant'),
};

const HTTP_CHECKER: Table = {
  ...CHECKER_COMMON,
  url: {
    block: 'block',
    apply: (m, n, t) => {
      const urls = (t.urls ??= []) as Raw[];
      const url: Raw = {};
      m.self(url, n.keyword, 'url');
      m.walk(n.block!, HTTP_URL, url, 'url');
      urls.push(url);
    },
  },
  virtualhost: str('virtualhost'),
  http_protocol: str('httpProtocol'),
  enable_sni: bool('enableSni'),
  sni_name: str('sniName'),
  tls_compliant: bool('tlsCompliant'),
  fast_recovery: bool('fastRecovery'),
  nb_get_retry: {
    apply: (m, n, t) => {
      m.sink.warning(n.keyword, "'nb_get_retry' is deprecated; read as 'retry'", { text: n.keyword.text, hint: "did you mean 'retry'?" });
      int('retry').apply!(m, n, t);
    },
  },
};

export const SMTP_HOST: Table = CONNECTION;

export const CHECKERS: Readonly<Record<string, Table>> = {
  TCP_CHECK: CHECKER_COMMON,
  PING_CHECK: CHECKER_COMMON,
  HTTP_GET: HTTP_CHECKER,
  SSL_GET: HTTP_CHECKER,
  MISC_CHECK: {
    ...CHECKER_COMMON,
    misc_path: script('miscPath', undefined, false, commandOnlyLine),
    misc_timeout: MISC_TIMEOUT,
    misc_dynamic: flag('miscDynamic'),
    user: userGroup('miscPath'),
  },
  SMTP_CHECK: {
    ...CHECKER_COMMON,
    helo_name: str('heloName'),
    host: {
      block: 'block',
      apply: (m, n, t) => {
        const hosts = (t.hosts ??= []) as Raw[];
        const h: Raw = {};
        m.self(h, n.keyword, 'host');
        m.walk(n.block!, SMTP_HOST, h, 'SMTP_CHECK host');
        hosts.push(h);
      },
    },
  },
  DNS_CHECK: { ...CHECKER_COMMON, type: str('queryType'), name: str('name') },
  UDP_CHECK: {
    ...CHECKER_COMMON,
    // payload and require_reply take the rest of the line: keepalived joins the words (make_strvec_str), hex groups being blank-separated.
    payload: {
      apply: (m, n, t) => {
        if (m.arg(n, 0, 'a hex string')) m.set(t, 'payload', n.args.map((a) => a.text).join(' '), n.args[0]!, 'payload');
      },
    },
    require_reply: {
      apply: (m, n, t) => {
        m.set(t, 'requireReply', n.args.length > 0 ? n.args.map((a) => a.text).join(' ') : true, n.args[0] ?? n.keyword, 'require_reply');
      },
    },
    min_reply_length: int('minReplyLength'),
    max_reply_length: int('maxReplyLength'),
  },
  FILE_CHECK: { ...CHECKER_COMMON, track_file: str('trackFile'), weight: weightWithReverse() },
};

function checker(type: string): Spec {
  return {
    block: 'block',
    apply: (m, n, t) => {
      const list = (t.checkers ??= []) as Raw[];
      const c: Raw = { type };
      m.self(c, n.keyword, type);
      m.walk(n.block!, CHECKERS[type]!, c, type);
      list.push(c);
    },
  };
}

/** lb_kind / lvs_method: keepalived compares case-sensitively and ignores anything else, so the virtual server's (or default NAT) method stays. */
function lvsMethod(key: string, keeps: string, server: string): Spec {
  return keepalivedWord(key, ['NAT', 'DR', 'TUN'], { keeps }, `PARSER : unknown [%s] routing method for ${server} server.`);
}

export const REAL_SERVER: Table = {
  weight: lvsUnsigned('weight', 0, LVS_LIMITS.INT_MAX, 'Real server weight is outside range 0-2147483647'),
  lvs_method: lvsMethod('lvsMethod', "the virtual server's method", 'real'),
  inhibit_on_failure: bool('inhibitOnFailure'),
  notify_up: script('notifyUp', undefined, true),
  notify_down: script('notifyDown', undefined, true),
  uthreshold: lvsUnsigned('uthreshold', 0, LVS_LIMITS.UINT_MAX, 'Invalid real_server uthreshold - ignoring'),
  lthreshold: lvsUnsigned('lthreshold', 0, LVS_LIMITS.UINT_MAX, 'Invalid real_server lthreshold - ignoring'),
  alpha: bool('alpha'),
  retry: lvsUnsigned('retry', 1, LVS_LIMITS.UINT32_MAX, 'retry value invalid', true),
  delay_before_retry: lvsTimer('delayBeforeRetry', 'real server delay before retry invalid - ignoring'),
  warmup: lvsTimer('warmup', 'real server warmup invalid - ignoring'),
  connect_timeout: lvsConnectTimeout('connectTimeout', 'real server connect_timeout invalid - ignoring'),
  delay_loop: lvsDelayLoop('delayLoop', 'real server delay_loop invalid - ignoring'),
  smtp_alert: bool('smtpAlert'),
  virtualhost: str('virtualhost'),
  ...Object.fromEntries(Object.keys(CHECKERS).map((c) => [c, checker(c)])),
  ...known('snmp_name'),
  ...knownBlocks('BFD_CHECK'),
};

/** `ADDR [PORT]` of real_server / sorry_server; undefined (with keepalived's warning) when keepalived skips the server. */
function hostPort(m: Mapper, n: Node, keyword: string): Raw | undefined {
  const first = m.arg(n, 0, 'an address');
  if (!first) return undefined;
  m.noExtra(n, 2);
  const ep = keepalivedEndpoint(m, first, n.args[1], keyword);
  if (!ep.ok) return (skippedServer(m, first, keyword, ep.why), undefined);
  return ep.port === undefined ? { address: ep.address } : { address: ep.address, port: ep.port };
}

/** lbalgo_handler: keepalived 2.2.7's scheduler names (case-sensitive); another word is ignored and the default wlc stays. */
const LVS_SCHEDULER = keepalivedWord(
  'lbAlgo',
  ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'sh', 'mh', 'dh', 'fo', 'ovf', 'lblcr', 'sed', 'nq', 'twos'],
  { keeps: 'the default wlc' },
  "Invalid lvs_scheduler '%s' - ignoring",
);

export const VIRTUAL_SERVER: Table = {
  delay_loop: lvsDelayLoop('delayLoop', 'virtual server delay loop invalid - ignoring'),
  lb_algo: LVS_SCHEDULER,
  lvs_sched: LVS_SCHEDULER,
  lb_kind: lvsMethod('lbKind', 'the default NAT', 'virtual'),
  lvs_method: lvsMethod('lbKind', 'the default NAT', 'virtual'),
  persistence_timeout: {
    // Alone, keepalived's pto_handler sets IPVS's default of 360 s.
    apply: (m, n, t) => {
      if (n.args.length === 0) return m.set(t, 'persistenceTimeout', 360, n.keyword, 'persistence_timeout');
      lvsUnsigned('persistenceTimeout', 1, LVS_LIMITS.LVS_MAX_TIMEOUT, 'persistence_timeout invalid', true).apply!(m, n, t);
    },
  },
  persistence_granularity: str('persistenceGranularity'),
  persistence_engine: str('persistenceEngine'),
  protocol: keepalivedWord(
    'protocol',
    ['TCP', 'UDP', 'SCTP'],
    { sets: 'UDP', because: 'keepalived is left with no protocol and defaults to UDP' },
    'Unknown protocol %s - ignoring',
    true,
  ),
  ip_family: word('ipFamily', ['inet', 'inet6']),
  ha_suspend: flag('haSuspend'),
  virtualhost: str('virtualhost'),
  alpha: flag('alpha'),
  omega: flag('omega'),
  quorum: lvsQuorum('quorum'),
  hysteresis: lvsUnsigned('hysteresis', 0, LVS_LIMITS.UINT_MAX, 'Hysteresis must be in [0, 4294967295] - ignoring'),
  quorum_up: script('quorumUp', undefined, true),
  quorum_down: script('quorumDown', undefined, true),
  sorry_server: {
    apply: (m, n, t) => {
      const s = hostPort(m, n, 'sorry_server');
      if (s) m.set(t, 'sorryServer', s, n.args[0]!, 'sorry_server');
    },
  },
  sorry_server_inhibit: bool('sorryServerInhibit'),
  retry: lvsUnsigned('retry', 1, LVS_LIMITS.UINT32_MAX, 'retry value invalid', true),
  delay_before_retry: lvsTimer('delayBeforeRetry', 'virtual server delay before retry invalid - ignoring'),
  warmup: lvsTimer('warmup', 'virtual server warmup invalid - ignoring'),
  connect_timeout: lvsConnectTimeout('connectTimeout', 'virtual server connect_timeout invalid - ignoring'),
  inhibit_on_failure: bool('inhibitOnFailure'),
  smtp_alert: bool('smtpAlert'),
  real_server: {
    block: 'block',
    apply: (m, n, t) => {
      const list = (t.realServers ??= []) as Raw[];
      const rs = hostPort(m, n, 'real_server');
      if (!rs) return;
      m.self(rs, n.args[0]!, 'real_server');
      m.walk(n.block!, REAL_SERVER, rs, 'real_server');
      list.push(rs);
    },
  },
  ...known('hashed', 'ops', 'flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback', 'snmp_name', 'weight', 'sorry_server_lvs_method'),
};

/** `ADDR[-LAST] [PORT]` or `fwmark N` lines of a virtual_server_group. */
export function vsgEntry(m: Mapper, e: Node): Raw | undefined {
  if (e.keyword.text === 'fwmark') {
    const v = m.int(m.arg(e, 0, 'a mark'), 'fwmark');
    m.noExtra(e, 1);
    if (v === undefined) return undefined;
    const out: Raw = { kind: 'fwmark', fwmark: v };
    m.self(out, e.keyword, 'virtual_server_group');
    return out;
  }
  const text = e.keyword.text;
  const dash = text.lastIndexOf('-');
  const addrText = dash > 0 ? text.slice(0, dash) : text;
  const fam = ipFamily(addrText);
  if (fam === undefined) {
    m.sink.error(e.keyword, `invalid virtual_server_group entry '${text}' (expected ADDRESS[-LAST] PORT or fwmark N)`, { text });
    return undefined;
  }
  const out: Raw = { kind: 'address', address: addrText };
  m.self(out, e.keyword, 'virtual_server_group');
  if (dash > 0) {
    const last = text.slice(dash + 1);
    const v = fam === 4 ? (/^\d+$/.test(last) ? Number(last) : NaN) : /^[0-9a-fA-F]{1,4}$/.test(last) ? parseInt(last, 16) : NaN;
    if (Number.isNaN(v)) m.sink.error(e.keyword, `invalid range end '${last}' in '${text}'`, { text });
    else m.set(out, 'rangeEnd', v, e.keyword, 'virtual_server_group');
  }
  if (e.args[0]) {
    const port = m.int(e.args[0], 'virtual_server_group');
    if (port !== undefined) m.set(out, 'port', port, e.args[0], 'virtual_server_group');
  }
  m.noExtra(e, 1);
  return out;
}

/** keepalived's SSL block (check_parser.c ssl_handler): SSL_GET's client certificate. */
export const SSL_BLOCK: Table = {
  password: str('password'),
  ca: str('ca'),
  certificate: str('certificate'),
  key: str('key'),
};

// ---- top level --------------------------------------------------------------

/** Top-level sections; the model under construction is the target. */
export const ROOT: Table = {
  global_defs: {
    block: 'block',
    apply: (m, n, t) => {
      const g = (t.global ??= {}) as Raw;
      m.noExtra(n, 0);
      m.walk(n.block!, GLOBAL_DEFS, g, 'global_defs');
    },
  },
  vrrp_instance: named('vrrpInstances', VRRP_INSTANCE, 'vrrp_instance', undefined, true),
  vrrp_sync_group: named('vrrpSyncGroups', VRRP_SYNC_GROUP, 'vrrp_sync_group', syncGroupLegacyMember, true),
  vrrp_script: named('vrrpScripts', VRRP_SCRIPT, 'vrrp_script'),
  track_file: named('trackFiles', TRACK_FILE, 'track_file'),
  vrrp_track_file: named('trackFiles', TRACK_FILE, 'vrrp_track_file'),
  vrrp_track_process: named('trackProcesses', VRRP_TRACK_PROCESS, 'vrrp_track_process'),
  static_ipaddress: addressList('staticIpaddress'),
  static_routes: verbatimLines('staticRoutes'),
  static_rules: verbatimLines('staticRules'),
  virtual_server_group: {
    block: 'values',
    apply: (m, n, t) => {
      const list = (t.virtualServerGroups ??= []) as Raw[];
      const nameTok = m.arg(n, 0, 'a group name');
      if (!nameTok) return;
      m.noExtra(n, 1);
      const entries: Raw[] = [];
      for (const e of m.values(n)) {
        const entry = vsgEntry(m, e);
        if (entry) entries.push(entry);
      }
      const group: Raw = { name: nameTok.text, entries };
      m.self(group, nameTok, 'virtual_server_group');
      list.push(group);
    },
  },
  virtual_server: {
    block: 'block',
    apply: (m, n, t) => {
      const list = (t.virtualServers ??= []) as Raw[];
      const first = m.arg(n, 0, 'an address and port, fwmark N or group NAME');
      if (!first) return;
      let target: Raw | undefined;
      if (first.text === 'fwmark' || first.text === 'group') {
        const v = m.arg(n, 1, first.text === 'fwmark' ? 'a mark' : 'a group name');
        if (v) {
          if (first.text === 'group') target = { kind: 'group', group: v.text };
          else {
            const mark = keepalivedFwmark(m, v);
            if (mark === undefined) return;
            target = { kind: 'fwmark', fwmark: mark };
          }
        }
        m.noExtra(n, 2);
      } else {
        m.noExtra(n, 2);
        const ep = keepalivedEndpoint(m, first, n.args[1], 'virtual_server');
        if (!ep.ok) return skippedServer(m, first, 'virtual_server', ep.why);
        target = { kind: 'address', address: ep.address };
        if (ep.port !== undefined) target.port = ep.port;
      }
      if (!target) return;
      const vs: Raw = { target };
      m.self(vs, first, 'virtual_server');
      m.at(vs, 'target', target.kind === 'address' ? first : n.args[1]!, 'virtual_server');
      m.walk(n.block!, VIRTUAL_SERVER, vs, 'virtual_server');
      list.push(vs);
    },
  },
  SSL: {
    block: 'block',
    apply: (m, n, t) => {
      const ssl = (t.ssl ??= {}) as Raw;
      m.noExtra(n, 0);
      m.walk(n.block!, SSL_BLOCK, ssl, 'SSL');
    },
  },
  ...knownBlocks('track_group', 'garp_group', 'linkbeat_interfaces', 'interface_up_down_delays', 'bfd_instance'),
  ...known('net_namespace', 'net_namespace_ipvs', 'namespace_with_ipsets', 'use_pid_dir', 'instance', 'child_wait_time', 'linkbeat_use_polling'),
};

/**
 * A named top-level block appended to a model list (`vrrp_instance NAME { ... }`).
 * `nameOnly`: keepalived skips a vrrp_instance or vrrp_sync_group whose header
 * has more than one word after the keyword ("must have a name",
 * vrrp_parser.c), block and all; vipflow skips it too, with a warning.
 */
function named(listKey: string, table: Table, keyword: string, fallback?: Fallback<Raw>, nameOnly = false): Spec {
  return {
    block: 'block',
    apply: (m, n, t) => {
      const list = (t[listKey] ??= []) as Raw[];
      const nameTok = m.arg(n, 0, 'a name');
      if (!nameTok) return;
      const extra = n.args[1];
      if (nameOnly && extra) {
        m.sink.warning(
          extra,
          `'${extra.text}' after ${keyword} ${nameTok.text}: keepalived skips the whole ${keyword} when its name is followed by another word ("must have a name"); skipped here too`,
          { text: extra.text },
        );
        return;
      }
      m.noExtra(n, 1);
      // vrrp_parser.c: a second vrrp_instance / vrrp_sync_group of the same name is skipped, block and all.
      if (nameOnly && list.some((o) => o.name === nameTok.text)) {
        const says = keyword === 'vrrp_instance' ? 'vrrp instance' : 'vrrp sync group';
        m.sink.warning(nameTok, `${keyword} '${nameTok.text}' is already defined; this one is skipped, as keepalived does ("${says} already defined")`, {
          text: nameTok.text,
        });
        return;
      }
      const obj: Raw = { name: nameTok.text };
      m.self(obj, nameTok, keyword);
      m.at(obj, 'name', nameTok, keyword);
      m.walk(n.block!, table, obj, `${keyword} ${nameTok.text}`, fallback);
      list.push(obj);
    },
  };
}

/** Which sections accept each keyword: for "belongs in ..." hints on a keyword used in the wrong block. */
export const KEYWORD_HOMES: ReadonlyMap<string, readonly string[]> = (() => {
  const sections: [string, Table][] = [
    ['the top level', ROOT],
    ['global_defs', GLOBAL_DEFS],
    ['vrrp_instance', VRRP_INSTANCE],
    ['authentication', AUTHENTICATION],
    ['auth_hmac', AUTH_HMAC],
    ['vrrp_sync_group', VRRP_SYNC_GROUP],
    ['vrrp_script', VRRP_SCRIPT],
    ['track_file', TRACK_FILE],
    ['vrrp_track_process', VRRP_TRACK_PROCESS],
    ['virtual_server', VIRTUAL_SERVER],
    ['real_server', REAL_SERVER],
    ['url', HTTP_URL],
    ['SSL', SSL_BLOCK],
    ...Object.entries(CHECKERS),
  ];
  const homes = new Map<string, string[]>();
  for (const [section, table] of sections) {
    for (const kw of Object.keys(table)) {
      const list = homes.get(kw) ?? [];
      if (!list.includes(section)) list.push(section);
      homes.set(kw, list);
    }
  }
  return homes;
})();
