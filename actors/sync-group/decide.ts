/**
 * keepalived's sync-group rules (vrrp_sync.c, and the calls to it in the
 * VRRP scheduler and tracker) as a pure function: from a group's view of its
 * members and one report from a member, the orders to send to members and
 * the group's new state. No clock, no I/O; {@link SyncGroup} drives it.
 *
 * The rules:
 * - A member goes to Fault → every other member goes to Fault (a Master with
 *   priority 0 first). The group stays in Fault until no member is faulty
 *   any more; then every member goes to Backup together.
 * - A member leaves Master for Backup (it heard a better Master) → the other
 *   Masters go to Backup, without priority 0.
 * - A Backup whose timer expires only becomes Master when every other member
 *   also wants to (its own timer expired too, or it is Master already), or
 *   when the group is Master; otherwise it waits a new Master_Down_Interval.
 *   Once one member is Master, the others are made Master at once.
 */
import type { TransitionReason, VrrpEvent, VrrpStateName } from '../vrrp/types.js';

/** A group's state, in the member states' words (keepalived: INIT/BACKUP/MASTER/FAULT/STOP). */
export type GroupState = VrrpStateName;

export interface MemberView {
  name: string;
  state: VrrpStateName;
  /** Its own weight-0 tracked objects are down (keepalived's num_script_if_fault > 0). */
  faulty: boolean;
  /** A Backup whose timer expired while the group held it (keepalived's wantstate MASTER). */
  wantsMaster: boolean;
}

export interface GroupView {
  name: string;
  state: GroupState;
  members: readonly MemberView[];
}

/** What a member reports; the driver builds these from the member's emitted commands. */
export type MemberReport =
  | { type: 'transition'; member: string; from: VrrpStateName; to: VrrpStateName; reason: TransitionReason }
  | { type: 'want-master'; member: string; want: boolean }
  | { type: 'health'; member: string; faulty: boolean };

export type SyncOrder = Extract<VrrpEvent, { type: 'START' | 'SYNC_MASTER' | 'SYNC_BACKUP' | 'SYNC_FAULT' }>;

export interface Order {
  member: string;
  event: SyncOrder;
}

/** The group changed state: `by` is the member whose report caused it. */
export interface GroupMove {
  from: GroupState;
  to: GroupState;
  by: string;
  reason: string;
}

export interface Decision {
  group: GroupView;
  orders: Order[];
  move: GroupMove | null;
}

/** A new group (before its members start): keepalived's initial group state is Backup. */
export function newGroup(name: string, members: readonly { name: string; faulty: boolean }[]): GroupView {
  return { name, state: 'initialize', members: members.map((m) => ({ name: m.name, state: 'initialize', faulty: m.faulty, wantsMaster: false })) };
}

/**
 * Starting members still in Initialize. With a faulty member the whole group
 * starts in Fault (the faulty members by their own START, the others by
 * SYNC_FAULT); otherwise every member starts normally and the group is Backup.
 * A group already running orders a late member (a restart) into its state:
 * Fault, or a normal start that will ask to become Master.
 */
export function startMembers(group: GroupView, by = group.name): Decision {
  const starting = group.members.filter((m) => m.state === 'initialize');
  const anyFaulty = group.members.some((m) => m.faulty && m.state !== 'stopped');
  const orders: Order[] = starting.map((m) => ({ member: m.name, event: anyFaulty && !m.faulty ? { type: 'SYNC_FAULT' } : { type: 'START' } }));
  // The member that held the group in Fault (absent, or restarted) is back healthy: the group comes out.
  if (group.state === 'fault' && !anyFaulty && starting.length > 0) {
    for (const m of group.members) if (m.state === 'fault') orders.push({ member: m.name, event: { type: 'SYNC_BACKUP', reason: 'sync-group' } });
    return { group: { ...group, state: 'backup' }, orders, move: { from: 'fault', to: 'backup', by, reason: 'fault-cleared' } };
  }
  if (group.state !== 'initialize' && !(anyFaulty && group.state !== 'fault')) return { group, orders, move: null };
  // A faulty late member puts the running members in Fault too.
  if (anyFaulty)
    for (const m of group.members) if (m.state === 'master' || m.state === 'backup') orders.push({ member: m.name, event: { type: 'SYNC_FAULT' } });
  const to: GroupState = anyFaulty ? 'fault' : 'backup';
  return { group: { ...group, state: to }, orders, move: { from: group.state, to, by, reason: anyFaulty ? 'startup-fault' : 'startup' } };
}

/**
 * dynamic_interfaces: a member whose interface does not exist has no instance
 * running; keepalived counts it as a faulty member in FAULT, so the whole
 * group is held in FAULT until the interface appears and the member starts.
 */
export function absentMember(group: GroupView, member: string): Decision {
  const members = [...group.members.filter((m) => m.name !== member), { name: member, state: 'fault' as const, faulty: true, wantsMaster: false }];
  const next = { ...group, members };
  if (group.state === 'initialize' || group.state === 'stopped' || group.state === 'fault') return { group: next, orders: [], move: null };
  const orders: Order[] = members.filter((m) => m.state === 'master' || m.state === 'backup').map((m) => ({ member: m.name, event: { type: 'SYNC_FAULT' } }));
  return { group: { ...next, state: 'fault' }, orders, move: { from: group.state, to: 'fault', by: member, reason: 'member-absent' } };
}

/** Applies one member report. Unknown members are ignored (no orders). */
export function decide(group: GroupView, report: MemberReport): Decision {
  const me = group.members.find((m) => m.name === report.member);
  if (!me) return { group, orders: [], move: null };
  const members = group.members.map((m) => ({ ...m }));
  const self = members.find((m) => m.name === report.member)!;
  const others = members.filter((m) => m !== self);
  const orders: Order[] = [];
  let state = group.state;
  let move: GroupMove | null = null;
  const moveTo = (to: GroupState, reason: string) => {
    if (state === to) return;
    move = { from: group.state, to, by: self.name, reason };
    state = to;
  };
  const toFault = (reason: string) => {
    if (state === 'fault') return;
    for (const o of others) if (o.state === 'master' || o.state === 'backup') orders.push({ member: o.name, event: { type: 'SYNC_FAULT' } });
    moveTo('fault', reason);
  };

  switch (report.type) {
    case 'health':
      self.faulty = report.faulty;
      if (report.faulty) toFault('member-fault');
      else if (state === 'fault' && !members.some((m) => m.faulty)) {
        for (const m of members)
          if (m.state === 'fault') orders.push({ member: m.name, event: { type: 'SYNC_BACKUP', reason: m === self ? 'fault-cleared' : 'sync-group' } });
        moveTo('backup', 'fault-cleared');
      }
      break;
    case 'want-master':
      self.wantsMaster = report.want && self.state === 'backup';
      if (self.wantsMaster && (state === 'master' || others.every((o) => o.wantsMaster || o.state === 'master' || o.state === 'stopped')))
        orders.push({ member: self.name, event: { type: 'SYNC_MASTER' } });
      break;
    case 'transition':
      self.state = report.to;
      if (report.to !== 'backup') self.wantsMaster = false;
      if (report.reason === 'sync-group') break; // our own order, echoed
      if (report.to === 'fault') {
        self.faulty = true;
        toFault(report.reason);
      } else if (report.to === 'master' && state !== 'master') {
        for (const o of others) if (o.state === 'backup') orders.push({ member: o.name, event: { type: 'SYNC_MASTER' } });
        moveTo('master', report.reason);
      } else if (report.from === 'master' && report.to === 'backup' && state !== 'backup') {
        for (const o of others) if (o.state === 'master' || (o.state === 'fault' && !o.faulty)) orders.push({ member: o.name, event: { type: 'SYNC_BACKUP' } });
        moveTo('backup', report.reason);
      }
      break;
  }
  return { group: { ...group, state, members }, orders, move };
}

/**
 * A member leaves the group (its instance was removed or stopped for good).
 * If it was the last faulty member of a group in Fault, the rest come back.
 */
export function removeMember(group: GroupView, member: string): Decision {
  if (!group.members.some((m) => m.name === member)) return { group, orders: [], move: null };
  const rest = group.members.filter((m) => m.name !== member);
  const next = { ...group, members: rest };
  if (group.state !== 'fault' || rest.some((m) => m.faulty) || rest.length === 0) return { group: next, orders: [], move: null };
  const orders: Order[] = rest.filter((m) => m.state === 'fault').map((m) => ({ member: m.name, event: { type: 'SYNC_BACKUP' } }));
  return { group: { ...next, state: 'backup' }, orders, move: { from: 'fault', to: 'backup', by: member, reason: 'member-removed' } };
}
