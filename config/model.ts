/**
 * The validated configuration model: the one shape every vipflow feature
 * reads. A keepalived.conf is mapped onto it (config/keepalived/), a typed
 * vipflow.config.ts produces its input directly (config/define.ts).
 *
 * Field names are keepalived's keywords in camelCase, so a reader of the
 * keepalived.conf(5) man page finds them. Defaults are keepalived's documented
 * defaults. Timers are in seconds (fractions allowed where keepalived allows them).
 *
 * Objects are strict: an unknown key in a typed config is an error, not silently dropped.
 */
import { z } from 'zod';
import { ipFamily } from './net.js';
import { isLoopbackHost, parseListenAddress } from './http-listen.js';

const ip = z.string().refine((s) => ipFamily(s) !== undefined, { message: 'not a valid IPv4 or IPv6 address' });
const ipv4 = z.string().refine((s) => ipFamily(s) === 4, { message: 'not a valid IPv4 address' });
const ipv6 = z.string().refine((s) => ipFamily(s) === 6, { message: 'not a valid IPv6 address' });
const name = z.string().min(1);
const seconds = z.number().finite().nonnegative();
const port = z.number().int().min(0).max(65535);
const u32 = z.number().int().min(0).max(0xffffffff);

/** A program keepalived runs (notify hooks, track scripts, MISC_CHECK): the command line and who runs it. */
export const ScriptSchema = z.strictObject({
  command: z.string().min(1),
  user: z.string().min(1).optional(),
  group: z.string().min(1).optional(),
});

/** One entry of virtual_ipaddress / virtual_ipaddress_excluded / static_ipaddress. */
export const VirtualAddressSchema = z.strictObject({
  address: ip,
  prefix: z.number().int().min(0).max(128).optional(),
  broadcast: z.string().optional(),
  dev: name.optional(),
  label: z.string().optional(),
  scope: z.enum(['site', 'link', 'host', 'nowhere', 'global']).optional(),
  noPrefixRoute: z.boolean().optional(),
});

/** track_interface / track_script / track_file / track_process entries inside an instance or sync group. */
export const TrackRefSchema = z.strictObject({
  name,
  /** undefined: the tracked object's own weight (scripts, files, processes) or "fault when down" (interfaces) */
  weight: z.number().int().min(-254).max(254).optional(),
  reverse: z.boolean().default(false),
});

export const UnicastPeerSchema = z.strictObject({
  address: ip,
  minTtl: z.number().int().min(0).max(255).optional(),
  maxTtl: z.number().int().min(0).max(255).optional(),
});

export const AuthenticationSchema = z.strictObject({
  type: z.enum(['PASS', 'AH']),
  /** keepalived uses at most 8 characters (RFC 3768 authentication data) */
  password: z.string().min(1).max(8),
});

/**
 * keepalived 2.4's `auth_hmac` (HMAC-SHA256 trailer on every advert). A key is
 * `hex:<bytes>`, plain text, or `file:<path>` (read when the config loads, and
 * again on reload); 32 to 64 bytes once decoded. Checks in config/auth-hmac.ts.
 */
export const AuthHmacSchema = z.strictObject({
  keys: z
    .array(
      z.strictObject({
        id: z.number().int().min(1).max(255),
        key: z.string(),
        /** the file a `file:` key was read from (the loader sets it; `vipflow convert` writes `file:` back, not the secret) */
        file: z.string().optional(),
      }),
    )
    .default([]),
  /** undefined is an error in vipflow: keepalived would run unauthenticated */
  activeKey: z.number().int().min(1).max(255).optional(),
  antiReplay: z.enum(['time', 'monotonic']).default('time'),
  /** seconds, time mode only; undefined: max(3 x advert_int, 5), at most 300 */
  timeWindow: z.number().int().min(1).max(300).optional(),
  /** receive-only verifies but does not sign; permissive signs and accepts unsigned adverts; enforce requires a valid trailer */
  mode: z.enum(['enforce', 'permissive', 'receive-only']).default('enforce'),
});

export const NotifySchema = z.strictObject({
  master: ScriptSchema.optional(),
  backup: ScriptSchema.optional(),
  fault: ScriptSchema.optional(),
  stop: ScriptSchema.optional(),
  deleted: ScriptSchema.optional(),
  /** the generic `notify` script, called with type, name, state and priority */
  any: ScriptSchema.optional(),
  masterRxLowerPri: ScriptSchema.optional(),
});

export const VrrpInstanceSchema = z.strictObject({
  name,
  /** undefined: MASTER when priority is 255, else BACKUP (keepalived derives each from the other) */
  state: z.enum(['MASTER', 'BACKUP']).optional(),
  interface: name.optional(),
  virtualRouterId: z.number().int().min(1).max(255),
  /** undefined: 255 (address owner) when state is MASTER, else 100 */
  priority: z.number().int().min(1).max(255).optional(),
  /** seconds; the version-specific range is checked in config/check.ts */
  advertInt: z.number().finite().positive().max(255).default(1),
  /** undefined: global vrrpVersion (IPv6 instances always run version 3) */
  version: z.union([z.literal(2), z.literal(3)]).optional(),
  preempt: z.boolean().default(true),
  preemptDelay: seconds.max(1000).default(0),
  /** undefined: accept unless vrrp_strict (keepalived's default) */
  accept: z.boolean().optional(),
  authentication: AuthenticationSchema.optional(),
  authHmac: AuthHmacSchema.optional(),
  virtualIpaddress: z.array(VirtualAddressSchema).default([]),
  virtualIpaddressExcluded: z.array(VirtualAddressSchema).default([]),
  noVirtualIpaddress: z.boolean().default(false),
  mcastSrcIp: ip.optional(),
  mcastDstIp: ip.optional(),
  unicastSrcIp: ip.optional(),
  unicastPeers: z.array(UnicastPeerSchema).default([]),
  unicastTtl: z.number().int().min(0).max(255).optional(),
  unicastFaultNoPeer: z.boolean().default(false),
  checkUnicastSrc: z.boolean().default(false),
  trackInterfaces: z.array(TrackRefSchema).default([]),
  trackScripts: z.array(TrackRefSchema).default([]),
  trackFiles: z.array(TrackRefSchema).default([]),
  trackProcesses: z.array(TrackRefSchema).default([]),
  dontTrackPrimary: z.boolean().default(false),
  trackSrcIp: z.boolean().default(false),
  notify: NotifySchema.prefault({}),
  notifyPriorityChanges: z.boolean().optional(),
  smtpAlert: z.boolean().optional(),
  /** undefined: the global vrrp_garp_* value */
  garpMasterDelay: seconds.optional(),
  garpMasterRepeat: z.number().int().min(1).optional(),
  garpMasterRefresh: seconds.optional(),
  garpMasterRefreshRepeat: z.number().int().min(1).optional(),
  garpLowerPrioDelay: seconds.optional(),
  garpLowerPrioRepeat: z.number().int().min(0).optional(),
  /**
   * handover_drain (vipflow): seconds a Master that hands over keeps accepting
   * the connections it served (forwarded by the new Master), without answering
   * ARP / ND for its VIPs. 0 or absent: the VIPs go 20 ms after the new Master is heard.
   */
  handoverDrain: seconds.max(60).optional(),
  /** use_vmac: present (possibly empty) when a macvlan is wanted */
  useVmac: z.strictObject({ name: name.optional(), mac: z.string().optional() }).optional(),
  vmacXmitBase: z.boolean().default(false),
  v3ChecksumAsV2: z.boolean().optional(),
  lowerPrioNoAdvert: z.boolean().optional(),
  higherPrioSendAdvert: z.boolean().optional(),
  skipCheckAdvAddr: z.boolean().optional(),
  strictMode: z.boolean().optional(),
  promoteSecondaries: z.boolean().default(false),
  downTimerAdverts: z.number().int().min(1).max(100).default(3),
  /** lines of `virtual_routes` / `virtual_rules`, kept verbatim (vipflow does not manage routes yet) */
  virtualRoutes: z.array(z.string()).default([]),
  virtualRules: z.array(z.string()).default([]),
  /** undefined: from the first VIP (else unicast addresses), IPv4 when there are none */
  family: z.union([z.literal(4), z.literal(6)]).optional(),
  /**
   * Settings keepalived overrides at startup (strict mode rules, version
   * clashes), recorded when the model applies the same override so a config
   * check can say so. Filled by the schema; a typed config leaves it out.
   */
  corrections: z.array(z.strictObject({ field: z.string(), message: z.string() })).default([]),
});

export const SyncGroupSchema = z.strictObject({
  name,
  group: z.array(name).default([]),
  trackInterfaces: z.array(TrackRefSchema).default([]),
  trackScripts: z.array(TrackRefSchema).default([]),
  trackFiles: z.array(TrackRefSchema).default([]),
  trackProcesses: z.array(TrackRefSchema).default([]),
  notify: NotifySchema.prefault({}),
  smtpAlert: z.boolean().optional(),
  globalTracking: z.boolean().default(false),
  syncGroupTrackingWeight: z.boolean().default(false),
  notifyPriorityChanges: z.boolean().optional(),
});

export const VrrpScriptSchema = z.strictObject({
  name,
  script: ScriptSchema,
  interval: seconds.positive().default(1),
  timeout: seconds.positive().optional(),
  weight: z.number().int().min(-253).max(253).default(0),
  /** `weight N reverse` */
  reverse: z.boolean().default(false),
  rise: z.number().int().min(1).default(1),
  fall: z.number().int().min(1).default(1),
  initFail: z.boolean().default(false),
});

export const TrackFileSchema = z.strictObject({
  name,
  file: z.string().min(1),
  weight: z.number().int().min(-254).max(254).default(1),
  reverse: z.boolean().default(false),
  /** init_file [VALUE] [overwrite] */
  initFile: z.strictObject({ value: z.number().int().default(0), overwrite: z.boolean().default(false) }).optional(),
});

export const TrackProcessSchema = z.strictObject({
  name,
  process: z.string().min(1),
  /** process arguments, when the match includes them (param_match) */
  parameters: z.array(z.string()).default([]),
  /** unset: exact when parameters are given, else the name alone (keepalived's default) */
  paramMatch: z.enum(['exact', 'partial', 'initial']).optional(),
  weight: z.number().int().min(-254).max(254).default(0),
  reverse: z.boolean().default(false),
  quorum: z.number().int().min(1).default(1),
  /** 0 (with quorum unset): up only while no such process runs */
  quorumMax: z.number().int().min(0).optional(),
  delay: seconds.optional(),
  terminateDelay: seconds.optional(),
  forkDelay: seconds.optional(),
  fullCommand: z.boolean().default(false),
});

/** Connection options shared by every checker and by SMTP_CHECK hosts. */
const connectionShape = {
  connectIp: ip.optional(),
  connectPort: port.optional(),
  bindto: ip.optional(),
  bindPort: port.optional(),
  bindIf: name.optional(),
  fwmark: u32.optional(),
  connectTimeout: seconds.optional(),
};

const checkerCommonShape = {
  ...connectionShape,
  retry: z.number().int().min(0).optional(),
  delayBeforeRetry: seconds.optional(),
  warmup: seconds.optional(),
  delayLoop: seconds.optional(),
  alpha: z.boolean().optional(),
  logAllFailures: z.boolean().optional(),
};

export const HttpUrlSchema = z.strictObject({
  path: z.string().min(1),
  digest: z
    .string()
    .regex(/^[0-9a-fA-F]{32}$/, 'digest must be 32 hexadecimal digits (MD5)')
    .optional(),
  /** single codes or ranges, e.g. ["200-299", "503"] */
  statusCode: z.array(z.string().regex(/^\d{3}(-\d{3})?$/, 'status_code must be NNN or NNN-NNN')).optional(),
  virtualhost: z.string().optional(),
  regex: z.string().optional(),
  regexNoMatch: z.boolean().optional(),
});

const httpShape = {
  ...checkerCommonShape,
  urls: z.array(HttpUrlSchema).default([]),
  virtualhost: z.string().optional(),
  httpProtocol: z.enum(['1.0', '1.1', '1.0C', '1.0c']).optional(),
  enableSni: z.boolean().optional(),
  sniName: z.string().optional(),
  tlsCompliant: z.boolean().optional(),
  fastRecovery: z.boolean().optional(),
};

export { DNS_CHECK_TYPES } from './dns-check-types.js';

export const CheckerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('TCP_CHECK'), ...checkerCommonShape }),
  z.strictObject({ type: z.literal('PING_CHECK'), ...checkerCommonShape }),
  z.strictObject({ type: z.literal('HTTP_GET'), ...httpShape }),
  z.strictObject({ type: z.literal('SSL_GET'), ...httpShape }),
  z.strictObject({
    type: z.literal('MISC_CHECK'),
    ...checkerCommonShape,
    miscPath: ScriptSchema,
    miscTimeout: seconds.optional(),
    miscDynamic: z.boolean().default(false),
  }),
  z.strictObject({
    type: z.literal('SMTP_CHECK'),
    ...checkerCommonShape,
    heloName: z.string().optional(),
    hosts: z.array(z.strictObject(connectionShape)).default([]),
  }),
  z.strictObject({
    type: z.literal('DNS_CHECK'),
    ...checkerCommonShape,
    queryType: z.string().optional(),
    name: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('UDP_CHECK'),
    ...checkerCommonShape,
    payload: z.string().optional(),
    requireReply: z.union([z.boolean(), z.string()]).optional(),
    minReplyLength: z.number().int().min(0).optional(),
    maxReplyLength: z.number().int().min(0).optional(),
  }),
  z.strictObject({
    type: z.literal('FILE_CHECK'),
    ...checkerCommonShape,
    trackFile: name,
    /** keepalived allows ±IPVS_WEIGHT_LIMIT here (a weight offset), not the VRRP ±254 */
    weight: z.number().int().min(-2147483647).max(2147483647).optional(),
    reverse: z.boolean().default(false),
  }),
]);

export const RealServerSchema = z.strictObject({
  address: ip,
  port: port.optional(),
  weight: z.number().int().min(0).max(2147483647).default(1),
  lvsMethod: z.enum(['NAT', 'DR', 'TUN']).optional(),
  inhibitOnFailure: z.boolean().default(false),
  notifyUp: ScriptSchema.optional(),
  notifyDown: ScriptSchema.optional(),
  uthreshold: z.number().int().min(0).optional(),
  lthreshold: z.number().int().min(0).optional(),
  alpha: z.boolean().optional(),
  retry: z.number().int().min(0).optional(),
  delayBeforeRetry: seconds.optional(),
  warmup: seconds.optional(),
  connectTimeout: seconds.optional(),
  delayLoop: seconds.optional(),
  smtpAlert: z.boolean().optional(),
  virtualhost: z.string().optional(),
  checkers: z.array(CheckerSchema).default([]),
});

export const VirtualServerTargetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('address'), address: ip, port: port.optional() }),
  z.strictObject({ kind: z.literal('fwmark'), fwmark: u32 }),
  z.strictObject({ kind: z.literal('group'), group: name }),
]);

export const VirtualServerSchema = z.strictObject({
  target: VirtualServerTargetSchema,
  delayLoop: seconds.positive().default(60),
  lbAlgo: z.string().min(1).default('wlc'),
  lbKind: z.enum(['NAT', 'DR', 'TUN']).default('NAT'),
  persistenceTimeout: z.number().int().min(1).optional(),
  persistenceGranularity: z.string().optional(),
  persistenceEngine: z.string().optional(),
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'),
  ipFamily: z.enum(['inet', 'inet6']).optional(),
  haSuspend: z.boolean().default(false),
  virtualhost: z.string().optional(),
  alpha: z.boolean().default(false),
  omega: z.boolean().default(false),
  quorum: z.number().int().min(1).default(1),
  hysteresis: z.number().int().min(0).default(0),
  quorumUp: ScriptSchema.optional(),
  quorumDown: ScriptSchema.optional(),
  sorryServer: z.strictObject({ address: ip, port: port.optional() }).optional(),
  sorryServerInhibit: z.boolean().default(false),
  retry: z.number().int().min(0).optional(),
  delayBeforeRetry: seconds.optional(),
  warmup: seconds.optional(),
  connectTimeout: seconds.optional(),
  inhibitOnFailure: z.boolean().default(false),
  smtpAlert: z.boolean().optional(),
  realServers: z.array(RealServerSchema).default([]),
});

export const VirtualServerGroupEntrySchema = z.discriminatedUnion('kind', [
  /** ADDR[-LAST] [PORT]: for a range, LAST replaces the address's last byte (v4) or group (v6) */
  z.strictObject({ kind: z.literal('address'), address: ip, rangeEnd: z.number().int().min(0).max(0xffff).optional(), port: port.optional() }),
  z.strictObject({ kind: z.literal('fwmark'), fwmark: u32 }),
]);

export const VirtualServerGroupSchema = z.strictObject({
  name,
  entries: z.array(VirtualServerGroupEntrySchema).default([]),
});

export const GlobalSchema = z.strictObject({
  routerId: z.string().min(1).optional(),
  vrrpVersion: z.union([z.literal(2), z.literal(3)]).default(2),
  scriptUser: z.strictObject({ user: name, group: name.optional() }).optional(),
  enableScriptSecurity: z.boolean().default(false),
  notificationEmail: z.array(z.string().min(1)).default([]),
  notificationEmailFrom: z.string().optional(),
  smtpServer: z.strictObject({ host: z.string().min(1), port: port.optional() }).optional(),
  smtpHeloName: z.string().optional(),
  smtpConnectTimeout: seconds.optional(),
  smtpAlert: z.boolean().optional(),
  defaultInterface: name.optional(),
  vrrpMcastGroup4: ipv4.default('224.0.0.18'),
  vrrpMcastGroup6: ipv6.default('ff02::12'),
  vrrpGarpMasterDelay: seconds.default(5),
  vrrpGarpMasterRepeat: z.number().int().min(1).default(5),
  vrrpGarpMasterRefresh: seconds.default(0),
  vrrpGarpMasterRefreshRepeat: z.number().int().min(1).default(1),
  vrrpGarpLowerPrioDelay: seconds.optional(),
  vrrpGarpLowerPrioRepeat: z.number().int().min(0).optional(),
  vrrpGarpInterval: seconds.default(0),
  vrrpGnaInterval: seconds.default(0),
  vrrpMinGarp: z.boolean().default(false),
  vrrpLowerPrioNoAdvert: z.boolean().default(false),
  vrrpHigherPrioSendAdvert: z.boolean().default(false),
  vrrpCheckUnicastSrc: z.boolean().default(false),
  vrrpSkipCheckAdvAddr: z.boolean().default(false),
  vrrpStrict: z.boolean().default(false),
  v3ChecksumAsV2: z.boolean().default(false),
  notifyFifo: ScriptSchema.optional(),
  notifyFifoScript: ScriptSchema.optional(),
  vrrpNotifyFifo: ScriptSchema.optional(),
  vrrpNotifyFifoScript: ScriptSchema.optional(),
  vrrpNotifyPriorityChanges: z.boolean().default(false),
  dynamicInterfaces: z.boolean().default(false),
  /** SCHED_RR priority (1-99) of the daemon's main thread, which runs every VRRP instance; unset: normal scheduling */
  vrrpRtPriority: z.number().int().min(1).max(99).optional(),
  /** with vrrpRtPriority: CPU µs at real-time priority between blocking calls before the kernel's SIGXCPU (a logged warning); default 10000 */
  vrrpRlimitRttime: z.number().int().min(2).optional(),
  /**
   * vrrp_cpu_slice (vipflow): the fair-scheduling time slice (µs) the main
   * thread asks for at normal priority, so a due advert preempts a busy
   * process (Linux 6.12+); 0: the kernel's default; unset: 100
   */
  vrrpCpuSlice: z.union([z.literal(0), z.number().int().min(100).max(100_000)]).optional(),
});

/** vipflow's own settings: the event bus and the workflows hung off transitions. */
export const NatsSchema = z.strictObject({
  url: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).default('nats://127.0.0.1:4222'),
  /**
   * Copies of the cluster's event stream and state bucket on a JetStream cluster (3 on a three-server
   * cluster: one server can be lost with nothing lost). The stream and bucket names follow the cluster
   * (VIPFLOW_<cluster>, vipflow-state-<cluster>) so that workers, `vipflow events` and the fleet view find them.
   */
  replicas: z.number().int().min(1).max(5).default(1),
  /** seconds events are kept in the stream (default 7 days); 0 keeps them until the stream's 1 GiB bound */
  maxAge: seconds.optional(),
  /**
   * How vipflow authenticates to NATS (one of credentialsFile, nkeySeedFile, user,
   * tokenFile; README "Securing the event path"). Secrets live in files (not readable
   * by every user) or in $VIPFLOW_NATS_PASSWORD / $VIPFLOW_NATS_TOKEN, never here.
   * Paths are relative to the config file. credentialsFile: a creds file (user JWT +
   * nkey seed), as `nsc` writes it.
   */
  credentialsFile: z.string().min(1).optional(),
  /** a file holding one nkey seed (SU...); the server lists its public key */
  nkeySeedFile: z.string().min(1).optional(),
  /** user name; the password comes from passwordFile or $VIPFLOW_NATS_PASSWORD */
  user: z.string().min(1).optional(),
  passwordFile: z.string().min(1).optional(),
  /** a file holding the token (or $VIPFLOW_NATS_TOKEN) */
  tokenFile: z.string().min(1).optional(),
  tls: z
    .strictObject({
      caFile: z.string().min(1).optional(),
      certFile: z.string().min(1).optional(),
      keyFile: z.string().min(1).optional(),
      /** the name the server's certificate carries, when the URL names an address */
      serverName: z.string().min(1).optional(),
    })
    .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), { message: 'certFile and keyFile go together', path: ['keyFile'] })
    .optional(),
  /** daemon: an nkey seed file; every event this node publishes is signed with it */
  signingKeyFile: z.string().min(1).optional(),
  /**
   * workers: node id -> the public nkey (U...) its daemon signs with. When set, a
   * worker refuses (never runs workflows for) any trigger not signed by its node's key.
   */
  trustedNodes: z.record(z.string().min(1), z.string().regex(/^U[A-Z2-7]{55}$/, 'a public user nkey: U and 55 base32 characters')).optional(),
  /**
   * JetStream domain of the server the daemon's stream and state bucket live on: at a
   * site, its leaf node's domain (the site's name, which a fleet hub shows). Optional:
   * a leaf node with a domain answers JetStream requests itself; set it when the URL
   * list may reach a server of another domain (e.g. a hub as fallback).
   */
  domain: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
});

const WorkflowTrigger = z.enum([
  'MASTER',
  'BACKUP',
  'FAULT',
  'STOP',
  'split_brain',
  'realserver_up',
  'realserver_down',
  'realserver_weight',
  'quorum_up',
  'quorum_down',
]);

/**
 * One step of a workflow declared in config: a built-in notifier (`uses`, e.g.
 * "nginx.reload") and its options (`with`). The options are checked against the
 * notifier's own schema when the workflows are built (workflows/from-config.ts), so
 * the config model stays free of notifier code.
 */
export const WorkflowStepConfigSchema = z.strictObject({
  uses: z.string().min(1),
  /** default: the `uses` name; must be unique within the workflow */
  name: name.optional(),
  with: z.record(z.string(), z.unknown()).default({}),
  timeoutMs: z.number().int().positive().optional(),
  retry: z
    .strictObject({
      attempts: z.number().int().min(1),
      backoffMs: z.number().int().min(0),
      factor: z.number().min(1).optional(),
    })
    .optional(),
});

/** A workflow of built-in notifiers, declared in config: no code needed. */
export const WorkflowSchema = z.strictObject({
  name,
  on: z.strictObject({
    instance: z.union([name, z.array(name).min(1)]).optional(),
    group: name.optional(),
    /** checker triggers: virtual servers by the id `vipflow status` shows */
    virtualServer: z.union([name, z.array(name).min(1)]).optional(),
    /** checker triggers: real servers as `address:port` or `vs/address:port` */
    realServer: z.union([name, z.array(name).min(1)]).optional(),
    to: z.union([WorkflowTrigger, z.array(WorkflowTrigger).min(1)]),
  }),
  steps: z.array(WorkflowStepConfigSchema).min(1),
});

/** The read-only HTTP endpoint (metrics, status, health); off unless listen is set. */
export const HttpSchema = z
  .strictObject({
    /** ADDR:PORT, e.g. 127.0.0.1:9650 or [::1]:9650; `vipflow run --http` replaces it */
    listen: z.string().refine((s) => typeof parseListenAddress(s) !== 'string', { message: 'not ADDR:PORT with an IP address (IPv6 in brackets)' }),
    /** a file holding a bearer token or user:password (basic auth); required off loopback */
    authFile: z.string().min(1).optional(),
  })
  .refine(
    (h) => {
      const a = parseListenAddress(h.listen);
      return typeof a === 'string' || isLoopbackHost(a.host) || h.authFile !== undefined;
    },
    { message: 'an HTTP endpoint off loopback needs authFile (a bearer token or user:password)', path: ['authFile'] },
  );

export const VipflowSettingsSchema = z.strictObject({
  nats: NatsSchema.optional(),
  http: HttpSchema.optional(),
  /** workflows declared in config, built from the built-in notifiers */
  workflows: z.array(WorkflowSchema).default([]),
  /**
   * a workflows module (TypeScript or JavaScript, `export default [defineWorkflow(...)]`),
   * relative to the config file; `vipflow run --workflows FILE` replaces it
   */
  workflowsFile: z.string().min(1).optional(),
  /**
   * where the config's workflows run: in each daemon (default), or only on
   * `vipflow worker --config` processes, so that they never run twice
   */
  workflowRunner: z.enum(['daemon', 'workers']).optional(),
});

const ConfigObjectSchema = z.strictObject({
  global: GlobalSchema.prefault({}),
  vrrpScripts: z.array(VrrpScriptSchema).default([]),
  trackFiles: z.array(TrackFileSchema).default([]),
  trackProcesses: z.array(TrackProcessSchema).default([]),
  vrrpSyncGroups: z.array(SyncGroupSchema).default([]),
  vrrpInstances: z.array(VrrpInstanceSchema).default([]),
  staticIpaddress: z.array(VirtualAddressSchema).default([]),
  /** static_routes / static_rules lines, verbatim (not managed by vipflow yet) */
  staticRoutes: z.array(z.string()).default([]),
  staticRules: z.array(z.string()).default([]),
  virtualServerGroups: z.array(VirtualServerGroupSchema).default([]),
  virtualServers: z.array(VirtualServerSchema).default([]),
  /** keepalived's SSL block: the client certificate SSL_GET presents (keepalived verifies no server certificate) */
  ssl: z
    .strictObject({
      password: z.string().optional(),
      ca: z.string().min(1).optional(),
      certificate: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
    })
    .optional(),
  vipflow: VipflowSettingsSchema.prefault({}),
});

type ParsedConfig = z.output<typeof ConfigObjectSchema>;
type ParsedInstance = ParsedConfig['vrrpInstances'][number];

/** The address family of an instance: its first VIP's, else its unicast source's, else IPv4. */
function instanceFamily(i: ParsedInstance): 4 | 6 {
  const first = i.virtualIpaddress[0]?.address ?? i.unicastSrcIp ?? i.unicastPeers[0]?.address;
  return first !== undefined && ipFamily(first) === 6 ? 6 : 4;
}

/** Instance settings that are concrete after inheritance from global_defs. */
type InheritedKeys =
  | 'state'
  | 'priority'
  | 'family'
  | 'version'
  | 'accept'
  | 'garpMasterDelay'
  | 'garpMasterRepeat'
  | 'garpMasterRefresh'
  | 'garpMasterRefreshRepeat'
  | 'garpLowerPrioDelay'
  | 'garpLowerPrioRepeat'
  | 'v3ChecksumAsV2'
  | 'lowerPrioNoAdvert'
  | 'higherPrioSendAdvert'
  | 'skipCheckAdvAddr'
  | 'strictMode'
  | 'smtpAlert'
  | 'notifyPriorityChanges';
type ResolvedInstance = Omit<ParsedInstance, InheritedKeys> & Required<Pick<ParsedInstance, InheritedKeys>>;

/**
 * keepalived's advert_int corrections (vrrp.c vrrp_complete_instance): VRRPv2
 * caps at 255 s and rounds to whole seconds, VRRPv3 caps at 40.95 s and
 * rounds to hundredths (half up, never to 0), each with a message, and runs.
 */
function correctAdvertInt(i: ParsedInstance, note: (field: string, message: string) => void): void {
  const v = i.advertInt;
  if (typeof v !== 'number' || !(v > 0)) return;
  const [max, step, unit] = i.version === 2 ? [255, 1, 'whole seconds'] : [40.95, 0.01, 'hundredths of a second'];
  let to = v;
  if (v >= max + step) to = max;
  else {
    const steps = Math.floor(v / step + 0.5 + 1e-9);
    if (Math.abs(steps * step - v) > 1e-9) to = Math.max(1, steps) * step;
  }
  to = Math.round(to * 100) / 100;
  if (to === v) return;
  note('advertInt', `advert_int ${v} is not in ${unit} up to ${max} s for VRRPv${i.version}: keepalived uses ${to}`);
  i.advertInt = to;
}

/**
 * Applies keepalived's startup corrections (vrrp.c, vrrp_complete_instance):
 * AH authentication is dropped on IPv6 and forbids starting as MASTER unless
 * address owner; in strict mode the initial state must match being the address owner,
 * authentication, preempt_delay, a non-default down_timer_adverts, lower
 * priority GARP repeats and a fixed VMAC address are dropped; version 3
 * ignores authentication. vipflow must behave as keepalived does on the wire,
 * so the model carries the corrected values and notes each correction.
 */
function applyCorrections(i: ParsedInstance, strict: boolean): void {
  const note = (field: string, message: string): void => {
    if (!i.corrections.some((c) => c.field === field)) i.corrections.push({ field, message });
  };
  if (i.family === 6 && i.version === 2 && strict) {
    note('version', 'strict mode cannot run IPv6 with VRRP version 2: keepalived uses version 3');
    i.version = 3;
  }
  correctAdvertInt(i, note);
  if (i.authentication && i.version === 3) {
    note('authentication', 'VRRP version 3 has no authentication (RFC 5798): keepalived ignores it');
    delete i.authentication;
  }
  if (i.authentication?.type === 'AH' && i.family === 6) {
    note('authentication', 'AH authentication cannot be used with IPv6: keepalived ignores it');
    delete i.authentication;
  }
  if (i.authentication?.type === 'AH' && i.state === 'MASTER' && i.priority !== 255) {
    // An AH master needs a received advert's sequence number before taking over.
    note('state', 'initial state MASTER is incompatible with AH authentication unless address owner: keepalived starts as BACKUP');
    i.state = 'BACKUP';
  }
  if (i.promoteSecondaries && i.useVmac) {
    note('promoteSecondaries', 'promote_secondaries is set automatically on a VMAC: keepalived ignores it');
    i.promoteSecondaries = false;
  }
  if (i.vmacXmitBase && !i.useVmac) {
    note('vmacXmitBase', 'vmac_xmit_base is only valid with use_vmac: keepalived ignores it');
    i.vmacXmitBase = false;
  }
  if (!strict) return;
  const owner = i.priority === 255;
  if ((i.state === 'MASTER') !== owner) {
    note(
      'state',
      owner
        ? 'strict mode: an address owner (priority 255) starts as MASTER: keepalived overrides state BACKUP'
        : 'strict mode: only an address owner (priority 255) may start as MASTER: keepalived starts it as BACKUP',
    );
    i.state = owner ? 'MASTER' : 'BACKUP';
  }
  if (i.authentication) {
    note('authentication', 'strict mode does not support authentication: keepalived ignores it');
    delete i.authentication;
  }
  if (i.preemptDelay !== 0) {
    note('preemptDelay', 'preempt_delay is incompatible with strict mode: keepalived resets it to 0');
    i.preemptDelay = 0;
  }
  if (i.downTimerAdverts !== 3) {
    note('downTimerAdverts', 'down_timer_adverts is incompatible with strict mode: keepalived resets it to 3');
    i.downTimerAdverts = 3;
  }
  if (i.garpLowerPrioRepeat !== undefined && i.garpLowerPrioRepeat !== 0) {
    note('garpLowerPrioRepeat', 'strict mode requires no repeated GARPs: keepalived resets garp_lower_prio_repeat to 0');
  }
  if (i.garpLowerPrioDelay !== undefined && i.garpLowerPrioDelay !== 0) {
    note('garpLowerPrioDelay', 'strict mode requires no repeated GARP delay: keepalived resets garp_lower_prio_delay to 0');
  }
  i.garpLowerPrioRepeat = 0;
  i.garpLowerPrioDelay = 0;
  if (i.lowerPrioNoAdvert === false) note('lowerPrioNoAdvert', 'strict mode requires lower_prio_no_advert: keepalived sets it');
  i.lowerPrioNoAdvert = true;
  if (i.accept === true && !owner && i.version === 2) {
    note('accept', 'accept mode with VRRP version 2 does not comply with RFC 3768: strict mode turns it off');
    i.accept = false;
  }
  if (i.useVmac?.mac !== undefined) {
    note('useVmac', 'a VMAC address cannot be given in strict mode: keepalived derives it from the VRID');
    delete i.useVmac.mac;
  }
  if (i.vmacXmitBase) {
    note('vmacXmitBase', 'vmac_xmit_base is incompatible with strict mode: keepalived sends adverts from the VMAC');
    i.vmacXmitBase = false;
  }
}

/**
 * Fills instance settings that keepalived derives or inherits from
 * global_defs, so consumers read one concrete value. Idempotent: resolving a
 * resolved model changes nothing (a converted config loads back to the same
 * model). Mutates the schema's fresh output in place: spreading 9000 wide
 * objects into new ones measured 40 us each.
 */
function resolveInheritance(c: ParsedConfig): Omit<ParsedConfig, 'vrrpInstances'> & { vrrpInstances: ResolvedInstance[] } {
  const g = c.global;
  for (const i of c.vrrpInstances) {
    const family = i.family ?? instanceFamily(i);
    i.family = family;
    i.version ??= family === 6 ? 3 : g.vrrpVersion;
    i.priority ??= i.state === 'MASTER' ? 255 : 100;
    i.state ??= i.priority === 255 ? 'MASTER' : 'BACKUP';
    i.strictMode ??= g.vrrpStrict;
    applyCorrections(i, i.strictMode);
    i.accept ??= i.priority === 255 ? true : !i.strictMode;
    i.garpMasterDelay ??= g.vrrpGarpMasterDelay;
    i.garpMasterRepeat ??= g.vrrpGarpMasterRepeat;
    i.garpLowerPrioDelay ??= g.vrrpGarpLowerPrioDelay ?? g.vrrpGarpMasterDelay;
    i.garpLowerPrioRepeat ??= g.vrrpGarpLowerPrioRepeat ?? g.vrrpGarpMasterRepeat;
    i.garpMasterRefresh ??= g.vrrpGarpMasterRefresh;
    i.garpMasterRefreshRepeat ??= g.vrrpGarpMasterRefreshRepeat;
    i.v3ChecksumAsV2 ??= g.v3ChecksumAsV2;
    i.lowerPrioNoAdvert ??= g.vrrpLowerPrioNoAdvert;
    i.higherPrioSendAdvert ??= g.vrrpHigherPrioSendAdvert;
    i.skipCheckAdvAddr ??= g.vrrpSkipCheckAdvAddr;
    i.smtpAlert ??= g.smtpAlert ?? false;
    i.notifyPriorityChanges ??= g.vrrpNotifyPriorityChanges;
  }
  return c as Omit<ParsedConfig, 'vrrpInstances'> & { vrrpInstances: ResolvedInstance[] };
}

/** The whole configuration. Parse input with `ConfigSchema.safeParse`. */
export const ConfigSchema = ConfigObjectSchema.transform(resolveInheritance);

/** What a typed config (defineConfig) may contain: defaults optional. */
export type VipflowConfigInput = z.input<typeof ConfigSchema>;
/** The validated model with every default and inherited value filled in. */
export type VipflowConfig = z.output<typeof ConfigSchema>;
export type GlobalSettings = VipflowConfig['global'];
export type VrrpInstance = VipflowConfig['vrrpInstances'][number];
export type SyncGroup = z.output<typeof SyncGroupSchema>;
export type VrrpScript = z.output<typeof VrrpScriptSchema>;
export type TrackFile = z.output<typeof TrackFileSchema>;
export type TrackProcess = z.output<typeof TrackProcessSchema>;
export type TrackRef = z.output<typeof TrackRefSchema>;
export type VirtualAddress = z.output<typeof VirtualAddressSchema>;
export type UnicastPeer = z.output<typeof UnicastPeerSchema>;
export type Script = z.output<typeof ScriptSchema>;
export type VirtualServer = z.output<typeof VirtualServerSchema>;
export type VirtualServerGroup = z.output<typeof VirtualServerGroupSchema>;
export type RealServer = z.output<typeof RealServerSchema>;
export type Checker = z.output<typeof CheckerSchema>;
export type VipflowSettings = z.output<typeof VipflowSettingsSchema>;
export type AuthHmac = z.output<typeof AuthHmacSchema>;
export type HttpSettings = z.output<typeof HttpSchema>;
