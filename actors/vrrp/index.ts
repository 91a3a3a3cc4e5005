export {
  vrrpMachine,
  plainAdvertSteps,
  sendHotAdvertsTo,
  adverTimerOutsideStep,
  acceptedMasterDownIntervalMs,
  MASTER_DOWN_TIMER_ID,
  type VrrpMachine,
} from './machine.js';
export { createVrrpInstance, startVrrpInstance, systemClock, type VrrpActor, type VrrpClock, type VrrpInstanceOptions } from './instance.js';
export {
  compareAddresses,
  effectivePriorityOf,
  formatAddress,
  initialMasterHintMs,
  masterDownIntervalMs,
  skewTimeMs,
  PRIORITY_OWNER,
  PRIORITY_STOP,
} from './timing.js';
export { validateInput } from './context.js';
export type { ReusableTimer } from './timer-slots.js';
export type * from './types.js';
