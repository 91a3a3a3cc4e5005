/**
 * Drives one sync group: listens to its members' actors, feeds their
 * reports to {@link decide} and sends the resulting orders back.
 *
 * Orders are sent synchronously, so a member's move and its group's
 * reaction happen at the same clock instant (the group adds no delay, as in
 * keepalived where the sync handlers run inside the same scheduler step).
 * Reports that arrive while orders are being sent (a member reacting to an
 * order) are queued and handled in arrival order, never re-entrantly.
 */
import type { Logger } from '../../core/logger.js';
import type { VrrpActor } from '../vrrp/instance.js';
import { absentMember, decide, newGroup, removeMember, startMembers, type Decision, type GroupState, type GroupView, type MemberReport } from './decide.js';

export interface GroupTransition {
  group: string;
  from: GroupState;
  to: GroupState;
  /** The member whose move caused this one (the group's name at start and stop). */
  by: string;
  reason: string;
  members: string[];
  /** Reading of the clock given to the group (the members' clock). */
  at: number;
}

export interface SyncGroupOptions {
  /** Clock reading for the `at` of group transitions. */
  now: () => number;
  logger?: Logger;
}

type Unsubscribe = () => void;

export class SyncGroup {
  private view: GroupView;
  private readonly actors = new Map<string, { actor: VrrpActor; unsubscribe: Unsubscribe }>();
  private readonly queue: (() => Decision)[] = [];
  private draining = false;
  private readonly listeners: ((t: GroupTransition) => void)[] = [];
  private readonly log: Logger | undefined;

  constructor(
    readonly name: string,
    private readonly options: SyncGroupOptions,
  ) {
    this.view = newGroup(name, []);
    this.log = options.logger?.child({ syncGroup: name });
  }

  get state(): GroupState {
    return this.view.state;
  }

  /** Member names and states as the group sees them. */
  members(): GroupView['members'] {
    return this.view.members;
  }

  onTransition(listener: (t: GroupTransition) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Adds a member whose actor is started but has not been sent START. Before
   * {@link start} it waits; after it (a member restarted by a reload) it is
   * started at once, into Fault if the group is in Fault.
   * Replaces an earlier actor of the same name.
   */
  attach(name: string, actor: VrrpActor): void {
    this.detachActor(name);
    const subs = [
      actor.on('transition', (e) => this.report({ type: 'transition', member: name, from: e.from, to: e.to, reason: e.reason })),
      actor.on('sync-want-master', (e) => this.report({ type: 'want-master', member: name, want: e.want })),
      actor.on('sync-health', (e) => this.report({ type: 'health', member: name, faulty: e.faulty })),
    ];
    this.actors.set(name, { actor, unsubscribe: () => subs.forEach((s) => s.unsubscribe()) });
    const faulty = actor.getSnapshot().context.faultCount > 0;
    const member = { name, state: 'initialize' as const, faulty, wantsMaster: false };
    this.view = { ...this.view, members: [...this.view.members.filter((m) => m.name !== name), member] };
    if (this.view.state !== 'initialize' && this.view.state !== 'stopped') this.enqueue(() => startMembers(this.view, name));
  }

  /** Starts every attached member (keepalived's vrrp_init_state for a group). */
  start(): void {
    this.enqueue(() => startMembers(this.view));
  }

  /** dynamic_interfaces: the member waits for its interface with no instance; it holds the group in Fault (decide.ts absentMember). */
  holdAbsent(name: string): void {
    this.detachActor(name);
    this.enqueue(() => absentMember(this.view, name));
  }

  /** A member's instance is gone (removed by a reload). */
  detach(name: string): void {
    this.detachActor(name);
    this.enqueue(() => removeMember(this.view, name));
  }

  /** The daemon stops: the group reports STOP (keepalived's notify_shutdown). Members are stopped by their owners. */
  stop(): void {
    for (const name of [...this.actors.keys()]) this.detachActor(name);
    if (this.view.state === 'stopped') return;
    const from = this.view.state;
    this.view = { ...this.view, state: 'stopped' };
    this.announce({ from, to: 'stopped', by: this.name, reason: 'shutdown' });
  }

  private detachActor(name: string): void {
    const entry = this.actors.get(name);
    if (!entry) return;
    entry.unsubscribe();
    this.actors.delete(name);
  }

  private report(r: MemberReport): void {
    this.enqueue(() => decide(this.view, r));
  }

  private enqueue(step: () => Decision): void {
    this.queue.push(step);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        const d = next();
        this.view = d.group;
        if (d.move) this.announce(d.move);
        for (const o of d.orders) this.actors.get(o.member)?.actor.send(o.event);
      }
    } finally {
      this.draining = false;
    }
  }

  private announce(move: { from: GroupState; to: GroupState; by: string; reason: string }): void {
    const t: GroupTransition = { group: this.name, ...move, members: this.view.members.map((m) => m.name), at: this.options.now() };
    this.log?.info({ from: t.from, to: t.to, by: t.by, reason: t.reason }, `sync group ${t.from} -> ${t.to}`);
    for (const l of this.listeners) {
      try {
        l(t);
      } catch (err) {
        this.log?.error({ err }, 'sync group listener failed');
      }
    }
  }
}
