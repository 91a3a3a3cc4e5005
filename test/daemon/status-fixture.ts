/** A daemon status document with every part filled in, for the metrics tests and the scrape bench. */
import { emptyDropCounters } from '../../actors/vrrp/receive.js';
import type { DaemonStatus } from '../../daemon/daemon.js';

type Instance = DaemonStatus['instances'][number];

export const instance = (over: Partial<Instance> = {}): Instance => ({
  name: 'VI_1',
  vrid: 51,
  family: 4,
  version: 2,
  interface: 'eth0',
  mode: 'multicast',
  source: '198.18.0.1',
  state: 'master',
  basePriority: 150,
  effectivePriority: 140,
  advertIntervalCs: 100,
  masterAdvertIntervalCs: 100,
  lastMaster: '198.18.0.1',
  lastMasterPriority: 140,
  masterDownInMs: null,
  peerChecksumVariant: null,
  counters: {
    advertsSent: 11,
    advertsReceived: 12,
    advertsDiscarded: 0,
    priorityZeroSent: 13,
    priorityZeroReceived: 14,
    lowerPriorityDiscarded: 0,
    intervalMismatches: 15,
    transitions: 3,
    becameMaster: 2,
    releasedMaster: 1,
    sendErrors: 4,
  },
  drops: { ...emptyDropCounters(), malformed: 21, 'bad-ttl': 22, 'address-list-mismatch': 23, 'auth-mismatch': 24 },
  announcements: { framesSent: 5, sendErrors: 0, sinceMaster: 5 },
  vips: ['198.18.0.100/24 dev eth0', '198.18.1.7/32 dev eth1'],
  authHmac: null,
  ...over,
});

export const status = (over: Partial<DaemonStatus> = {}): DaemonStatus => ({
  pid: 1,
  configPath: '/etc/keepalived/keepalived.conf',
  startedAt: new Date(0).toISOString(),
  uptimeMs: 5000,
  instances: [instance(), instance({ name: 'VI_6', vrid: 52, family: 6, state: 'backup', interface: 'eth2', vips: [] })],
  groups: [],
  wire: { sockets: 2, received: 100, malformed: 3, unknownVrid: 4 },
  eventLoop: { delayP50Ms: 1, delayP99Ms: 20, delayMaxMs: 30, lateTimers: 6, worstLateMs: 12.5 },
  recentTransitions: [],
  reloads: { ok: 2, refused: 1 },
  events: {
    bus: 'nats',
    cluster: 'c',
    node: 'n',
    published: 40,
    delivered: 0,
    outbox: { inMemory: 3, spilled: 2, delivered: 35, corrupt: 1, failures: 7 },
    splitBrain: { policy: 'page', fenced: [], detected: 1 },
    recent: [],
  },
  notify: { pending: 0, fifos: [] },
  trackScripts: [
    { name: 'chk_up', health: 'up', checks: 10, failures: 1, timeouts: 1, skipped: 0, lastExit: 0 },
    { name: 'chk_down', health: 'down', checks: 3, failures: 3, timeouts: 0, skipped: 0, lastExit: 1 },
    { name: 'chk_new', health: 'unknown', checks: 0, failures: 0, timeouts: 0, skipped: 0, lastExit: null },
  ],
  trackFiles: [],
  trackProcesses: [],
  checks: {
    virtualServers: [
      {
        id: '198.18.0.100:80/tcp',
        quorumUp: true,
        liveWeight: 1,
        sorryActive: false,
        suspended: false,
        realServers: [
          {
            id: '198.18.2.10:8080',
            alive: true,
            weight: 3,
            checkers: [{ id: 'TCP_CHECK:8080', type: 'TCP_CHECK', state: 'up', probes: 9, lastFailure: undefined }],
          },
        ],
      },
    ],
    issues: [],
  },
  lb: {
    backend: 'ipvs',
    services: 1,
    destinations: 1,
    applies: { ok: 3, failed: 1 },
    last: { ok: true, time: new Date(0).toISOString(), ms: 8, added: 1, removed: 0, changed: 0 },
    refused: [],
    table: [],
    counters: [
      {
        id: '198.18.0.100:80/tcp',
        packets: 70,
        bytes: 7000,
        connections: 7,
        destinations: [{ address: '198.18.2.10', port: 8080, packets: 60, bytes: 6000, connections: 6 }],
      },
    ],
  },
  notActedOn: [],
  ...over,
});
