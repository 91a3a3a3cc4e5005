/** A transition record as an instance runner hands it to the daemon's event side. */
import type { TransitionRecord } from '../../actors/vrrp/types.js';

export const transitionRecord = (over: Partial<TransitionRecord> = {}): TransitionRecord => ({
  instance: 'VI_1',
  vrid: 9,
  family: 'ipv4',
  interface: 'eth0',
  from: 'backup',
  to: 'master',
  reason: 'master-down-timer',
  effectivePriority: 100,
  basePriority: 100,
  masterSeen: '198.18.0.1',
  advertIntervalCs: 10,
  at: 0,
  ...over,
});
